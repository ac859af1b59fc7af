import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import nas
from nas.cli.retrain import main

ROOT = Path(__file__).resolve().parents[3]
RECIPE = ROOT / "recipes" / "retrain" / "cpu_small.yaml"
# The smallest st_topo member (identity wherever allowed, expansion 3, no branches): seconds per epoch on CPU.
TINY = str(nas.get_space("st_topo").cheapest())
TORCH_THREADS = 1


# Subprocesses on one thread too (see tests/conftest.py).
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _run(args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nas.cli.retrain", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=ENV)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main([TINY, "--recipe", str(RECIPE), "--epochs", "1", "--out", str(out), "optim.lr=0.05",
                 "schedule.warmup_epochs=0.5"]) == 0
    return out


def test_train_writes_run_folder(run_dir, capsys):
    rows = json.loads((run_dir / "metrics.json").read_text())["epochs"]
    assert len(rows) == 1 and {"train_loss", "val_loss", "top1", "top5", "lr", "seconds"} <= set(rows[0])
    assert "lr: 0.05" in (run_dir / "config.yaml").read_text()
    assert "epochs: 1" in (run_dir / "config.yaml").read_text()


def test_eval_prints_top1_top5(run_dir, capsys):
    assert main(["--eval", str(run_dir / "best.pt")]) == 0
    out = capsys.readouterr().out
    assert "top1" in out and "top5" in out and "EMA" in out


def test_init_and_task_are_recorded(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    meta = json.loads((run_dir / "meta.json").read_text())
    assert metrics["task"] == "classification" and metrics["init"].startswith("from scratch")
    assert meta["kind"] == "retrain" and meta["init"] == "scratch" and meta["task"] == "classification"


def test_init_backbone_starts_from_a_checkpoint(run_dir, tmp_path, capsys):
    out = tmp_path / "ft"
    assert main([TINY, "--recipe", str(RECIPE), "--epochs", "1", "schedule.warmup_epochs=0", "--out", str(out),
                 "--init", f"backbone:{run_dir / 'last.pt'}"]) == 0
    assert "init: backbone EMA weights of" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["init"].startswith("backbone EMA weights of")


def test_resume_allows_execution_options_and_keeps_meta(run_dir, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(run_dir, run)
    before = json.loads((run / "meta.json").read_text())
    assert main(["--resume", str(run), "--device", "cpu"]) == 0
    after = json.loads((run / "meta.json").read_text())
    assert {k: after[k] for k in before} == before and len(after["resumes"]) == 1


def test_existing_run_is_not_overwritten(run_dir):
    res = _run([TINY, "--out", run_dir])
    assert res.returncode == 2 and "--resume" in res.stderr


def _png_folder(root: Path, empty_class: bool = False) -> Path:
    for c in ("a", "b"):
        d = root / "train" / c
        d.mkdir(parents=True)
        if not (empty_class and c == "b"):
            Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(d / "0.png")
    return root


def _bad_cases(run_dir: Path, tmp: Path):
    recipe = tmp / "bad.yaml"
    recipe.write_text("epochs: [3\nbatch_size: 4\n")
    other = tmp / "other"
    other.mkdir()
    shutil.copy(run_dir / "genotype.yaml", other / "genotype.yaml")
    (other / "genotype.yaml").write_text("genotype: st_topo:mobilenetv2\n")
    shutil.copy(run_dir / "last.pt", other / "last.pt")
    return {
        "missing genotype": ([tmp / "no_such_run"], "not a genotype, file or run folder"),
        "missing run folder": (["--resume", tmp / "no_such_run"], "run folder not found"),
        "missing data folder": ([TINY, "--data", tmp / "no_data"], "data folder not found"),
        "empty class folder": ([TINY, "--data", _png_folder(tmp / "d", True), "--out", tmp / "o"],
                               "has no readable image"),
        "eval other arch": (["st_topo:mobilenetv2", "--eval", run_dir / "last.pt"], "another architecture"),
        "resume other arch": (["st_topo:mobilenetv2", "--resume", run_dir], "another architecture"),
        "resume foreign last.pt": (["--resume", other], "another architecture"),
        "resume a folder that is no run": (["--resume", tmp], "not a retrain run folder"),
        "malformed recipe": ([TINY, "--recipe", recipe], "malformed recipe"),
        "unknown recipe key": ([TINY, "optim.nme=sgd"], "unknown config key"),
        "bad optimizer": ([TINY, "optim.name=rmsprop"], "optim.name must be one of"),
        "data with a video genotype": (["pv_st:tsn", "--data", _png_folder(tmp / "v")],
                                       "a --data folder is for image genotypes"),
        "frames with an image genotype": ([TINY, "--frames", "4"], "data.frames is for video genotypes"),
        "task of another modality": ([TINY, "--task", "video_classification"], "is for video genotypes"),
        "unknown task": ([TINY, "--task", "nope"], "unknown task 'nope'"),
        "init supernet without a run": ([TINY, "--init", "supernet"], "--init supernet takes the supernet"),
        "bad init": ([TINY, "--init", "imagenet"],
                     "init must be scratch, supernet:RUN, backbone:FILE or pretrained:FILE"),
        "init backbone of another arch": (["st_topo:mobilenetv2", "--recipe", RECIPE, "--out", tmp / "o2",
                                           "--init", f"backbone:{run_dir / 'last.pt'}"], "another architecture"),
        "resume with a flag": (["--resume", run_dir, "--epochs", "5"], "drop --epochs"),
        "resume with a recipe": (["--resume", run_dir, "--recipe", RECIPE], "drop --recipe"),
        "resume with an override": (["--resume", run_dir, "optim.lr=0.1"], "drop key=value overrides"),
        "out at a search run": ([TINY, "--out", _search_folder(tmp / "s")], "it holds a search run"),
        "out is a file": ([TINY, "--out", _file(tmp / "f")], "is a file, not a folder"),
        "out at a foreign folder": ([TINY, "--out", _foreign(tmp / "x")], "files that are not a run (notes.txt)"),
        "device with workers": ([TINY, "--workers", "2", "--device", "cpu"], "--device does not apply with --workers"),
        "address without workers": ([TINY, "--recipe", RECIPE, "--out", tmp / "a", "--address", "127.0.0.1:1"],
                                    "--address applies only with --workers"),
        "address that answers nothing": ([TINY, "--recipe", RECIPE, "--out", tmp / "b", "--workers", "2",
                                          "--address", "127.0.0.1:1"], "no Ray cluster answers there"),
    }


CASES = ["missing genotype", "missing run folder", "missing data folder", "empty class folder", "eval other arch",
         "resume other arch", "resume foreign last.pt", "resume a folder that is no run", "malformed recipe",
         "unknown recipe key", "bad optimizer",
         "data with a video genotype", "frames with an image genotype", "task of another modality", "unknown task",
         "init supernet without a run", "bad init", "init backbone of another arch", "resume with a flag",
         "resume with a recipe", "resume with an override", "out at a search run", "out is a file",
         "out at a foreign folder", "device with workers", "address without workers", "address that answers nothing"]


def _search_folder(path: Path) -> Path:
    path.mkdir()
    (path / "meta.json").write_text(json.dumps({"kind": "search", "seed": 0}))
    return path


def _file(path: Path) -> Path:
    path.write_text("x")
    return path


def _foreign(path: Path) -> Path:
    path.mkdir()
    (path / "notes.txt").write_text("mine")
    return path


@pytest.fixture(scope="module")
def bad_results(run_dir, tmp_path_factory):
    """Run every bad-input case through ``nas-retrain``'s entry point in this process (the console script is
    ``sys.exit(main())``), from a scratch working directory, capturing what it writes to stderr."""
    import contextlib
    import io

    tmp = tmp_path_factory.mktemp("bad")
    cases = _bad_cases(run_dir, tmp)
    results, here = {}, os.getcwd()
    os.chdir(tmp)  # a case that fell through to the default run folder would write here, not into the repo
    try:
        for name, (args, fragment) in cases.items():
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main([str(a) for a in args])
            results[name] = (code, err.getvalue(), fragment)
    finally:
        os.chdir(here)
    assert not (tmp / "runs").exists(), "a bad-input case wrote a run folder"
    return results


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line(case, bad_results):
    code, stderr, fragment = bad_results[case]
    assert code == 2, stderr
    assert fragment in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("nas-retrain: error:")

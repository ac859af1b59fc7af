import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

import nas

TINY = str(Path(__file__).resolve().parents[3] / "recipes" / "search" / "st_topo_tiny.yaml")


def _search(*args, wait=True):
    cmd = [sys.executable, "-m", "nas.cli.search", *args]
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("search") / "run"
    res = _search("--space", "st_topo", "--recipe", TINY, "--out", str(out), "--seed", "3")
    assert res.returncode == 0, res.stderr[-2000:]
    return out, res


def test_run_folder_contents(tiny_run):
    out, res = tiny_run
    for name in ("genotype.yaml", "config.yaml", "supernet.pt", "search.jsonl", "summary.json", "meta.json"):
        assert (out / name).is_file(), name
    g = nas.load_genotype(out)
    data = yaml.safe_load((out / "genotype.yaml").read_text())
    assert data["madds"] == nas.cost(g).madds <= 330_000_000
    assert data["madds"] >= 0.85 * 330_000_000
    assert data["seed"] == 3 and "score" in data
    lines = [json.loads(x) for x in (out / "search.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and {"round", "genotype", "score", "madds", "params", "mean_score", "evaluated",
                                "snapshot_spread", "generation"} <= set(lines[0])
    assert all(r["madds"] <= 330_000_000 and 0 <= r["score"] <= 1 for r in lines)
    state = torch.load(out / "supernet.pt", weights_only=True)
    assert any(k.startswith("edges.") for k in state)
    assert "best genotype" in res.stdout and "%" in res.stderr  # progress bar on stderr


def test_tensorboard_events_read_back(tiny_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _ = tiny_run
    acc = EventAccumulator(str(out / "tb"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"supernet/loss", "supernet/acc", "search/best_score", "search/best_madds",
            "search/snapshot_spread"} <= tags
    assert len(acc.Scalars("search/best_score")) == 3


def test_confidence_report_of_a_real_run(tiny_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, res = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    c = summary["confidence"]
    assert c["level"] == 0.95 and len(c["top"]) == 3 and isinstance(c["separable"], bool)
    first = c["top"][0]
    assert first["genotype"] == summary["genotype"] and first["separable"] is None
    assert first["score"] == pytest.approx(summary["score"])  # the hit tables reproduce the search's scores
    assert [t["score"] for t in c["top"]] == pytest.approx([t["score"] for t in summary["top5"][:3]])
    assert all(0 < t["scoring_se"] < 0.2 and 0.85 * 330e6 <= t["madds"] <= 330e6 and t["params"] > 0 for t in c["top"])
    assert c["chain_tau"]["n"] == 4 and c["chain_tau"]["ci"][0] <= c["chain_tau"]["tau"] <= c["chain_tau"]["ci"][1]
    assert c["separated_on"] == "scoring" and "at 95% on the scoring images: scores" in c["verdict"]  # none held out
    assert "supernet-seed variance not measured (confidence.supernets=1)" in c["verdict"]
    assert c["supernets"]["measured"] is False and c["supernets"]["tau"] == [] and c["block"] == 2
    assert f"confidence: {c['verdict']}" in res.stdout and "no validation images beyond" in res.stderr
    acc = EventAccumulator(str(out / "tb"))
    acc.Reload()
    assert len(acc.Scalars("confidence/scoring_se")) == 3 and len(acc.Scalars("confidence/chain_tau")) == 1
    assert "confidence/verdict/text_summary" in acc.Tags()["tensors"]


def test_confidence_across_supernet_seeds_on_held_out_images(tmp_path):
    """confidence.supernets=2 trains a second supernet with another seed and ranks the population under both;
    separability is tested on the validation images after the scoring set."""
    out = tmp_path / "run"
    res = _search("--space", "st_topo", "--recipe", TINY, "--out", str(out), "confidence.supernets=2",
                  "data.val_size=128", "evolution.generations=1", "confidence.second_chain=false")
    assert res.returncode == 0, res.stderr[-2000:]
    c = json.loads((out / "summary.json").read_text())["confidence"]
    assert c["separated_on"] == "held_out" and "on held-out images" in c["verdict"]
    assert c["supernets"]["measured"] and len(c["supernets"]["tau"]) == 1 and c["supernets"]["tau"][0]["n"] == 4
    assert all(len(t["supernet_ranks"]) == 2 and 1 <= min(t["supernet_ranks"]) for t in c["top"])
    assert all(t["supernet_scores"][0] == pytest.approx(t["score"]) and 0 <= t["held_out"] <= 1 for t in c["top"])
    assert "across 2 supernet seeds tau" in c["verdict"] and c["seconds"] > 0
    assert (out / "confidence" / "supernet1" / "snapshots" / "1.pt").is_file()
    assert "confidence supernet 2: supernet epoch 1/1" in res.stderr  # its progress, as lines on stderr


def test_derive_accepts_run_folder(tiny_run, capsys):
    from nas.cli.derive import main

    out, _ = tiny_run
    assert main([str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["genotype"] == str(nas.load_genotype(out))


def _wait_for(path: Path, proc, timeout=300):
    t0 = time.time()
    while not path.exists():
        assert proc.poll() is None, "search ended before the kill point"
        assert time.time() - t0 < timeout
        time.sleep(0.05)


def _kill_in_every_phase_and_resume(args, out: Path, ref: Path) -> None:
    """Start ``nas-search *args --out out``; SIGKILL it at the first checkpoint (end of supernet training),
    during SGLD (after the first snapshot) and during evolution (after the first round's row), resuming after
    each; check the finished run against the uninterrupted ``ref``."""
    for i, marker in enumerate((out / "checkpoint.pt", out / "snapshots" / "1.pt", out / "search.jsonl")):
        proc = _search(*args, "--out", str(out), wait=False) if i == 0 else _search("--resume", str(out), wait=False)
        _wait_for(marker, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    res = _search("--resume", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    assert nas.load_genotype(out) == nas.load_genotype(ref)
    assert (out / "search.jsonl").read_text() == (ref / "search.jsonl").read_text()


def test_sigkill_in_every_phase_then_resume_matches(tiny_run, tmp_path):
    ref, _ = tiny_run
    out = tmp_path / "killed"
    _kill_in_every_phase_and_resume(["--space", "st_topo", "--recipe", TINY, "--seed", "3"], out, ref)
    confidence = [json.loads((d / "summary.json").read_text())["confidence"] for d in (out, ref)]
    for c in confidence:
        c.pop("seconds"), c["supernets"].pop("seconds")  # wall times
    assert confidence[0] == confidence[1]  # the second SGLD chain and the bootstrap are seeded too
    # TensorBoard holds each step once, with the uninterrupted run's values, on every step counter
    from nas.utils.tb_events import read_scalars

    def by_step(folder):
        return {tag: sorted(rows) for tag, rows in read_scalars(folder / "tb").items() if tag != "confidence/seconds"}

    assert by_step(out) == by_step(ref)


@pytest.mark.parametrize("args, fragment", [
    (["--space", "nope"], "unknown space 'nope'"),
    (["--madds", "330X"], "bad budget '330X'"),
    (["--madds", "10M"], "infeasible budget"),
    (["--data", "/nonexistent/folder"], "data folder not found"),
    (["--recipe", "/nonexistent.yaml"], "recipe not found"),
    (["--resume", "/tmp"], "not a search run folder"),
    (["supernet.epochs=oops"], "supernet.epochs"),
    (["--flops", "3G"], "--flops does not apply to image space 'st_topo'"),
    (["--frames", "4"], "--frames does not apply to image space 'st_topo'"),
    (["--space", "pv_st", "--madds", "330M"], "--madds does not apply to video space 'pv_st'"),
    (["--space", "pv_st", "--data", "/tmp"], "--data does not apply to video space 'pv_st'"),
    (["--space", "pv_st", "--population", "4"], "--population does not apply to video space 'pv_st'"),
    (["--strategy", "differentiable"], "strategy 'differentiable' needs a supernet with architecture parameters"),
    (["--space", "pv_st", "--strategy", "evolution"], "strategy 'evolution' scores candidates with the image"),
    (["--strategy", "nope"], "unknown strategy 'nope'"),
    (["--cpus-per-trial", "2"], "--cpus-per-trial applies to trials only"),
    (["supernet.paths=0"], "supernet.paths must be at least 1"),
    (["supernet.distill=1.5"], "supernet.distill must be in [0, 1]"),
    (["supernet.distill=much"], "supernet.distill"),
    (["supernet.sandwich=maybe"], "supernet.sandwich"),
])
def test_bad_input_one_line(args, fragment, tmp_path, capsys):
    # In-process (the CLI's own main), so a stray exception fails the test instead of printing a traceback;
    # the subprocess path of the same wrapper is covered by test_malformed_recipe_and_empty_data.
    from nas.cli.search import main

    rc = main([*args, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert fragment in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_malformed_recipe_and_empty_data(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("supernet: {epochs: [1,\n")
    res = _search("--recipe", str(bad), "--out", str(tmp_path / "r"))
    assert res.returncode == 2 and "malformed recipe" in res.stderr
    empty = tmp_path / "empty"
    (empty / "train" / "cat").mkdir(parents=True)
    res = _search("--data", str(empty), "--out", str(tmp_path / "r2"), "--recipe", TINY)
    assert res.returncode == 2 and "no readable image" in res.stderr, res.stderr
    (empty / "train" / "cat" / "x.png").write_bytes(b"not a png")
    res = _search("--data", str(empty), "--out", str(tmp_path / "r3"), "--recipe", TINY)
    assert res.returncode == 2 and "no readable image" in res.stderr


def _image_folder(root: Path) -> Path:
    """Write a two-class ImageNet-style folder of random 20x20 PNGs and one corrupt file; return it."""
    from PIL import Image
    import numpy as np

    rng = np.random.default_rng(0)
    for split, n in (("train", 24), ("val", 6)):
        for c in ("a", "b"):
            d = root / "data" / split / c
            d.mkdir(parents=True)
            for i in range(n):
                arr = (rng.random((20, 20, 3)) * 255).astype("uint8")
                Image.fromarray(arr).save(d / f"{i}.png")
    (root / "data" / "train" / "a" / "bad.png").write_bytes(b"\x89PNG broken")
    return root / "data"


FOLDER_ARGS = ["--recipe", TINY, "data.batch_size=8", "score.bn_batch_size=8"]


def test_image_folder_search_skips_corrupt(tmp_path):
    res = _search("--data", str(_image_folder(tmp_path)), "--out", str(tmp_path / "run"), *FOLDER_ARGS)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "skipped 1 unreadable images" in res.stderr
    assert nas.load_genotype(tmp_path / "run").space == "st_topo"


@pytest.mark.slow
def test_image_folder_search_resumes_after_sigkill_in_every_phase(tmp_path):
    """On real image files (augmentation keyed by epoch), kills in each phase resume to the same run."""
    data = _image_folder(tmp_path)
    ref, out = tmp_path / "ref", tmp_path / "killed"
    args = ["--data", str(data), *FOLDER_ARGS, "supernet.epochs=2"]
    assert _search(*args, "--out", str(ref)).returncode == 0
    _kill_in_every_phase_and_resume(args, out, ref)


def test_resume_refuses_config_changes_in_one_line(tiny_run):
    out, _ = tiny_run
    for extra, name in ((["--epochs", "3"], "--epochs"), (["supernet.epochs=2"], "key=value"),
                        (["--strategy", "random"], "--strategy"), (["--recipe", TINY], "--recipe")):
        res = _search("--resume", str(out), *extra)
        assert res.returncode == 2 and name in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_budget_is_parsed_once_and_stored_as_an_integer(tiny_run):
    out, _ = tiny_run
    assert yaml.safe_load((out / "config.yaml").read_text())["madds"] == 330_000_000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["budget"] == 330_000_000 and summary["strategy"] == "evolution"
    assert {"genotype", "score", "madds", "params", "top5", "seed", "space"} <= set(summary)
    assert all("spread" in t for t in summary["top5"])


@pytest.mark.slow  # a whole tiny search; random search is also run end to end by test_run.py and the docs' toy space
def test_random_strategy_runs_on_st_topo(tmp_path):
    out = tmp_path / "random"
    res = _search("--space", "st_topo", "--strategy", "random", "--recipe", TINY, "--out", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "random" and summary["evaluated"] == 4 * (2 + 1)
    assert 0.85 * 330e6 <= summary["madds"] <= 330e6 and 0 <= summary["score"] <= 1
    rows = [json.loads(x) for x in (out / "search.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and rows[-1]["genotype"] == summary["genotype"]


def test_new_run_refuses_a_foreign_or_finished_folder(tiny_run, tmp_path):
    out, _ = tiny_run
    res = _search("--recipe", TINY, "--out", str(out))
    assert res.returncode == 2 and f"--resume {out}" in res.stderr
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    res = _search("--recipe", TINY, "--out", str(tmp_path / "mine"))
    assert res.returncode == 2 and "refusing to write into" in res.stderr and "notes.txt" in res.stderr


def test_distilled_several_path_search_is_seeded_and_logs_the_teacher(tmp_path, capsys):
    """supernet.paths, supernet.distill and supernet.sandwich run end to end: two runs with one seed agree bit
    for bit, the teacher's loss reaches TensorBoard, and the trained weights differ from plain SPOS's."""
    from nas.cli.search import main
    from nas.utils.tb_events import read_scalars

    # Without SGLD the one snapshot is the trained weights; 64 images are 2 steps of each rule.
    args = ["--recipe", TINY, "--seed", "1", "confidence.enabled=false", "evolution.generations=0",
            "sgld.enabled=false", "data.train_size=64", "score.val_images=32"]
    for name in ("a", "b"):
        assert main([*args, "supernet.paths=2", "supernet.distill=0.5", "supernet.sandwich=true",
                     "--out", str(tmp_path / name)]) == 0
    assert main([*args, "--out", str(tmp_path / "spos")]) == 0
    capsys.readouterr()
    a, b, spos = (torch.load(tmp_path / n / "snapshots" / "0.pt", weights_only=True) for n in ("a", "b", "spos"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], spos[k]) for k in a)
    assert (tmp_path / "a" / "search.jsonl").read_text() == (tmp_path / "b" / "search.jsonl").read_text()
    scalars = read_scalars(tmp_path / "a" / "tb")
    assert len(scalars["supernet/teacher_loss"]) == 1
    assert "supernet/teacher_loss" not in read_scalars(tmp_path / "spos" / "tb")
    config = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert config["supernet"]["paths"] == 2 and config["supernet"]["distill"] == 0.5 and config["supernet"]["sandwich"]

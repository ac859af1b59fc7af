"""docs/adding_a_task.md's package, taken from the page itself, found without pip and run by nas-retrain."""
import json
from pathlib import Path

import pytest
import yaml

import nas

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "adding_a_task.md"
RECIPE = ROOT / "recipes" / "retrain" / "cpu_small.yaml"
TINY = str(nas.get_space("st_topo").cheapest())  # seconds per epoch on CPU


@pytest.fixture
def env(install_doc):
    """Return an environment in which the page's package is installed-looking."""
    files, environ = install_doc(DOC)
    assert files == ["my_nas_task/shape.py", "my_nas_task/shape.yaml", "setup.cfg"]
    return environ


def test_nas_retrain_trains_and_evaluates_with_the_task(env, tmp_path, run_python):
    out = tmp_path / "run"
    res = run_python(env, "-m", "nas.cli.retrain", TINY, "--task", "shape", "--recipe", RECIPE, "--epochs", "1",
               "schedule.warmup_epochs=0", "--out", out)
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    row = metrics["epochs"][0]
    assert metrics["task"] == "shape" and json.loads((out / "meta.json").read_text())["task"] == "shape"
    assert {"val_loss", "shape_acc", "ema_shape_acc"} <= set(row) and "top1" not in row  # only this task's metrics
    assert 0.0 <= row["shape_acc"] <= 100.0
    ev = run_python(env, "-m", "nas.cli.retrain", "--eval", out / "best.pt")
    assert ev.returncode == 0 and "shape_acc" in ev.stdout, ev.stderr[-2000:]
    bad = run_python(env, "-m", "nas.cli.retrain", "pv_st:tsn", "--task", "shape", "--out", tmp_path / "bad")
    assert bad.returncode == 2 and "task 'shape' is for image genotypes" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_the_task_s_own_recipe_is_where_nas_retrain_starts(env, tmp_path, run_python):
    out = tmp_path / "run"
    res = run_python(env, "-m", "nas.cli.retrain", TINY, "--task", "shape", "--epochs", "1", "--out", out)
    assert res.returncode == 0, res.stderr[-2000:]
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["resolution"] == 16 and cfg["data"]["train_size"] == 64 and cfg["epochs"] == 1  # recipe, then flag

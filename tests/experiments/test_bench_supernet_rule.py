"""experiments/bench_supernet_rule.py: the report on hand-made jobs, and a tiny real run with its cache and refusals."""
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

import nas
from nas.errors import NasError

from experiments import bench_supernet_rule as bench

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "recipes" / "search" / "st_topo_tiny.yaml"


def test_report_on_hand_made_jobs():
    truth = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}
    jobs = {"x/0": {"scores": {"a": 1, "b": 2, "c": 3, "d": 4}, "train_seconds": 10.0},
            "x/1": {"scores": {"a": 4, "b": 3, "c": 2, "d": 1}, "train_seconds": 14.0},
            "y/0": {"scores": {"a": 1, "b": 2, "c": 4, "d": 3}, "train_seconds": 36.0}}
    rep = bench.report([("x", []), ("y", ["supernet.paths=3"])], [0, 1], jobs, truth)
    x, y = rep["arms"]["x"], rep["arms"]["y"]
    assert x["tau_vs_truth"]["0"]["tau"] == 1.0 and x["tau_vs_truth"]["1"]["tau"] == -1.0
    assert x["mean_tau_vs_truth"] == 0.0 and x["tau_between_seeds"] == -1.0 and x["time_ratio"] == 1.0
    assert y["seeds"] == [0] and y["tau_between_seeds"] is None and y["time_ratio"] == pytest.approx(3.0)
    assert y["tau_vs_truth"]["0"]["tau"] == pytest.approx(2 / 3)


def test_bad_input_is_one_line(tmp_path):
    bad = _tool(tmp_path / "w", "--truth", tmp_path / "missing.json")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --truth") and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    arm = _tool(tmp_path / "w", "--arm", "not a name=x=1")
    assert arm.returncode == 2 and "--arm" in arm.stderr and len(arm.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w").exists()


def _truth(path: Path) -> list:
    space = nas.get_space("st_topo")
    gs = [str(space.sample(random.Random(i))) for i in range(5)]
    path.write_text(json.dumps({"standalone": {g: {"0": 0.5 + i / 20, "1": 0.5 + i / 21, "2": 0.5}
                                               for i, g in enumerate(gs)}}))
    return gs


def _tool(*args):
    return subprocess.run([sys.executable, "-m", "experiments.bench_supernet_rule", *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.mark.slow  # about 25 s on 2 cores; run with -m slow
def test_tiny_run_caches_each_job_and_refuses_what_it_must(tmp_path, capsys):
    truth = tmp_path / "truth.json"
    gs = _truth(truth)
    work = tmp_path / "work"
    args = [work, "--truth", truth, "--recipe", TINY, "--seeds", "0", "--arm", "base=", "--arm",
            "two=supernet.paths=2,supernet.distill=0.5"]
    res = _tool(*args)
    assert res.returncode == 0, res.stderr[-2000:]
    rep = json.loads((work / "report.json").read_text())
    assert rep["n"] == 5 and set(rep["arms"]) == {"base", "two"}
    assert rep["arms"]["base"]["time_ratio"] == 1.0 and rep["arms"]["two"]["time_ratio"] > 1
    jobs = json.loads((work / "cache-0.json").read_text())["jobs"]
    assert set(jobs["two/0"]["scores"]) == set(gs) and jobs["two/0"]["config"]["supernet"]["paths"] == 2
    assert jobs["base/0"]["scores"] != jobs["two/0"]["scores"]
    # In process from here (no interpreter start-up per call): everything cached is reused, not trained again.
    assert bench.main(list(map(str, args))) == 0
    assert "training" not in capsys.readouterr().out
    assert json.loads((work / "report.json").read_text()) == rep
    with pytest.raises(NasError, match="trained with another config"):
        bench.main([*map(str, args), "supernet.epochs=2"])
    assert bench.main([str(work), "--recipe", str(TINY), "--step-cost", "1", "--arm", "base=", "--arm",
                       "two=supernet.paths=2"]) == 0
    cost = json.loads((work / "step_cost.json").read_text())
    assert cost["base"]["ratio"] == 1.0 and len(cost["base"]["reference_runs"]) == 2 and cost["two"]["ratio"] > 0
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(NasError, match="holds no bench_supernet_rule cache"):
        bench.main([str(foreign), "--truth", str(truth), "--recipe", str(TINY)])
    assert [p.name for p in foreign.iterdir()] == ["keep.txt"]
    bad = _tool(work, "--truth", tmp_path / "missing.json")  # the command line: one line, exit 2
    assert bad.returncode == 2 and bad.stderr.startswith("error: --truth") and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1

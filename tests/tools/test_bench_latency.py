"""tools/bench_latency.py: a tiny run reports its figures, and a second run resumes from what the first wrote."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bench_latency.py"


def _run(out):
    args = [sys.executable, str(TOOL), "--space", "pv_st_tiny", "--resolution", "16", "--frames", "2",
            "--threads", "1", "--genotypes", "4", "--reps", "2", "--warmup", "1", "--clock", "cpu", "--passes", "2", "--out", str(out)]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # two subprocesses that import torch and time 40 modules: ~10 s of CPU
def test_report_and_resume(tmp_path):
    first = _run(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    (r,) = report["results"]
    assert r["n"] >= 4 and set(r["named"]) >= {"tsm", "tsn"}
    for key in ("table_build_s", "overhead_ms"):
        assert isinstance(r[key], float)
    modes = ("additive", "affine", "stages")
    assert set(r["predictors"]) == set(modes) | {f"{m}, learned" for m in modes}  # each fitted, and after learning
    for row in r["predictors"].values():
        assert row["mape_pct"] >= 0 and -1 <= row["spearman"] <= 1 and -1 <= row["kendall"] <= 1
    assert all("best_of_passes" in r["predictors"][m] for m in modes) and -1 <= r["madds"]["kendall"] <= 1
    assert r["affine_scale"] > 0 and r["calibration_models"] >= 3 and r["stage_scales"]
    goals = r["goals"]  # the goals as tests, each with its interval, p and n
    assert {"mape_at_most_10pct", "spearman_at_least_0.9", "spearman_above_madds"} <= set(goals)
    assert all(g["ci"][0] <= g["ci"][1] and 0 <= g["p"] <= 1 and g["verdict"] in ("met", "not shown")
               for g in goals.values())
    assert -1 <= r["ceiling"]["spearman"] <= 1 and r["ceiling"]["mape_pct"] >= 0
    raw = [json.loads(line) for line in (tmp_path / "raw_t1.jsonl").read_text().splitlines()]
    assert all(len(row["reps_ms"]) == 2 for row in raw)  # every repetition is kept
    # the figures leave the calibration models out
    assert len(raw) - r["calibration_models"] <= r["n"] < len(raw)
    assert len((tmp_path / "raw_t1_pass2.jsonl").read_text().splitlines()) == len(raw)
    with (tmp_path / "raw_t1.jsonl").open("a") as f:
        f.write('{"genotype": "torn')  # a line cut by a kill mid-write: that member is timed again
    second = _run(tmp_path)
    assert second.returncode == 0 and " measured " not in second.stdout, second.stderr[-2000:]  # nothing re-measured
    assert json.loads((tmp_path / "report.json").read_text())["results"][0] == r  # recomputed from the raw files
    assert all(json.loads(line) for line in (tmp_path / "raw_t1.jsonl").read_text().splitlines()[:-1])

"""experiments/compare_latency_search.py: a tiny comparison reports both searches, and a rerun reuses what it finished."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # five tiny searches, a common supernet and two standalone trainings in subprocesses
def test_tiny_comparison_reports_both_and_resumes(tmp_path):
    from nas.cli.profile import main as profile

    lut = tmp_path / "lut.json"
    assert profile(["--space", "st_topo", "--resolution", "32", "--out", str(lut), "--reps", "3", "--warmup", "1",
                    "--clock", "cpu"]) == 0
    out = tmp_path / "cmp"
    args = [sys.executable, "-m", "experiments.compare_latency_search", "--lut", str(lut), "--latency", "1000ms",
            "--resolution", "32",
            "--madds-factors", "0.9,1.1", "--rounds", "1", "--standalone-epochs", "1", "--standalone-seeds", "1",
            "--out", str(out)]
    first = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert first.returncode == 0, first.stderr[-2000:]
    rep = json.loads((out / "report.json").read_text())
    lat, mad = rep["latency_search"], rep["madds_search"]
    assert lat["measured_latency_ms"] > 0 and lat["predicted_latency_ms"] <= 1000
    assert 0 <= lat["common_score"] <= 1 and 0 <= mad["common_score"] <= 1 and lat["common_score_spread"] >= 0
    assert len(lat["standalone"]) == 1 and 0 <= mad["standalone"][0] <= 1
    assert sorted(rep["all_madds_runs"]) == sorted(str(int(lat["madds"] * f)) for f in (0.9, 1.1))
    assert str(mad["budget"]) in rep["all_madds_runs"]
    trained = json.loads((out / "standalone.json").read_text())
    timed = json.loads((out / "measured.json").read_text())
    second = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "standalone " not in second.stdout and json.loads((out / "standalone.json").read_text()) == trained
    assert json.loads((out / "measured.json").read_text()) == timed  # timings read back, not taken again
    again = json.loads((out / "report.json").read_text())
    assert again["latency_search"]["genotype"] == lat["genotype"] and again["madds_search"] == mad

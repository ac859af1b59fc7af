"""tools/bench_video_io.py: the report is recomputed from the raw records alone (no timing is asserted)."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bench_video_io.py"


def _tool():
    spec = importlib.util.spec_from_file_location("bench_video_io", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(method, workers, clips, seconds, times, peak_mb, worker_mb=0):
    return {"set": "720p_30s", "method": method, "workers": workers, "clips": clips, "seconds": seconds,
            "times": times, "baseline_kb": 200 * 1024, "peak_kb": peak_mb * 1024, "worker_peak_kb": worker_mb * 1024}


def test_report_recomputes_from_raw_lines_and_a_torn_line_is_dropped(tmp_path):
    rows = [_row("seek", 0, 4, 2.0, [0.5, 0.4, 0.6, 0.5], 300), _row("decode_all", 0, 2, 20.0, [10.0, 10.0], 3000),
            _row("seek", 2, 4, 1.0, [0.3, 0.5, 0.8, 1.0], 250, 320), _row("decode_all", 2, 2, 12.0, [6, 12], 250, 3200)]
    (tmp_path / "raw.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"set": "720p')
    mod = _tool()
    rep = mod.report(mod.read_raw(tmp_path / "raw.jsonl"))
    single, workers = sorted(rep["rows"], key=lambda r: r["workers"])
    assert single["speedup"] == 20.0 and single["memory_ratio"] == 0.1 and single["goal_tenth_memory"] == "met"
    assert single["speedup_ci95"][0] > 5 and single["goal_5x_speed"] == "met"
    assert workers["speedup"] == (4 / 1.0) / (2 / 12.0) and workers["memory_ratio"] == 320 / 3200
    assert "speedup_ci95" not in workers
    out = subprocess.run([sys.executable, str(TOOL), "--out", str(tmp_path), "--report-only"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((tmp_path / "report.json").read_text()) == json.loads(json.dumps(rep))

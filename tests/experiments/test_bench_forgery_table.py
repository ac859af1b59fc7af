"""experiments/bench_forgery.py --table: a video bench's JSON prints as a video table, not a KeyError."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_video_runs_print_as_a_video_table(tmp_path):
    runs = [{"run": "tsm_r50-like", "task": "forgery_video", "seed": s, "auc": a, "acc": 0.6} for s, a in
            ((0, 0.6), (1, 0.7))]
    runs.append({"run": "temporal head", "task": "forgery_temporal", "seed": 0, "mAP": 0.25, "ap_0.5": 0.4,
                 "video_auc": 0.7})
    path = tmp_path / "video.json"
    path.write_text(json.dumps({"runs": runs}))
    done = subprocess.run([sys.executable, "-m", "experiments.bench_forgery", "--table", str(path)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("| run | task | seeds | auc |") and len(lines) == 4
    assert "| tsm_r50-like | forgery_video | 2 | 0.650 ± 0.071 |" in lines[2]
    assert "| temporal head | forgery_temporal | 1 | - | - | 0.700 | 0.400 |" in lines[3]

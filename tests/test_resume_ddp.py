"""A DDP retrain on Ray Train killed with SIGKILL after its first checkpoint resumes to the uninterrupted DDP run."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nas

ROOT = Path(__file__).resolve().parents[1]
RECIPE = str(ROOT / "recipes" / "retrain" / "cpu_small.yaml")
TINY = str(nas.get_space("st_topo").cheapest())
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def _rows(run: Path):
    return [{k: v for k, v in row.items() if k != "seconds"}
            for row in json.loads((run / "metrics.json").read_text())["epochs"]]


@pytest.mark.slow
def test_ddp_retrain_resumes_after_sigkill_to_the_uninterrupted_run(tmp_path):
    cmd = [sys.executable, "-m", "nas.cli.retrain"]
    args = [TINY, "--recipe", RECIPE, "--workers", "2", "model.dropout=0.0", "optim.lr=0.01"]
    ref, out = tmp_path / "ref", tmp_path / "killed"
    res = subprocess.run([*cmd, *args, "--out", str(ref)], capture_output=True, text=True, env=ENV, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    proc = subprocess.Popen([*cmd, *args, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=ENV, start_new_session=True)
    deadline = time.time() + 600
    while not (out / "last.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray cluster it started, as a crash would
    proc.wait()
    rows = json.loads((out / "metrics.json").read_text())["epochs"] if (out / "metrics.json").exists() else []
    assert len(rows) < len(_rows(ref)), "the run finished before it could be killed"
    # no --workers: the run continues on the 2 workers it started with
    res = subprocess.run([*cmd, "--resume", str(out)], capture_output=True, text=True, env=ENV, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "resuming on 2 DDP workers" in res.stdout
    assert _rows(out) == _rows(ref)

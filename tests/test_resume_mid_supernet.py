"""A kill in the middle of supernet training (optimizer, LR schedule and data order restored) resumes exactly."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nas

TINY = str(Path(__file__).resolve().parents[1] / "recipes" / "search" / "st_topo_tiny.yaml")
ARGS = ["--space", "st_topo", "--recipe", TINY, "--seed", "5", "supernet.epochs=2", "evolution.generations=1",
        "data.train_size=128"]


def _search(*args, wait=True):
    cmd = [sys.executable, "-m", "nas.cli.search", *args]
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow  # three tiny searches with two supernet epochs each; the default suite kills after epoch 1 of 1
def test_sigkill_between_supernet_epochs_resumes_to_the_same_run(tmp_path):
    ref, out = tmp_path / "ref", tmp_path / "killed"
    res = _search(*ARGS, "--out", str(ref))
    assert res.returncode == 0, res.stderr[-2000:]
    proc = _search(*ARGS, "--out", str(out), wait=False)
    t0 = time.time()
    while not (out / "checkpoint.pt").exists():  # written at the end of supernet epoch 1 of 2
        assert proc.poll() is None and time.time() - t0 < 300, "search ended before the kill point"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = __import__("torch").load(out / "checkpoint.pt", weights_only=True)
    assert state["phase"] == "supernet" and state["position"] == 1, (state["phase"], state["position"])
    res = _search("--resume", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    assert nas.load_genotype(out) == nas.load_genotype(ref)
    assert (out / "search.jsonl").read_text() == (ref / "search.jsonl").read_text()
    resumes = __import__("json").loads((out / "meta.json").read_text())["resumes"]
    assert len(resumes) == 1

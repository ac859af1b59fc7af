"""tools/gpu_bench.py: the plan, rows written as they finish with raw timings that recompute every figure, a failed
bench recorded without losing earlier rows, and (slow) the whole --tiny run on the CPU."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "gpu_bench.py"
sys.path.insert(0, str(TOOL.parent))
import gpu_bench  # noqa: E402

ROWS = ["st_train_steps_fp32", "st_train_steps_amp", "st_amp_speedup", "st_sgld", "st_scoring", "pv_bilevel_fp32",
        "pv_bilevel_amp", "mem_peak", "mem_ckpt_peak", "retrain_local", "retrain_ddp", "ddp_vs_local", "two_trials"]


def test_plan_exits_zero_and_names_the_product_paths():
    # Without CUDA the plain command prints the plan; with CUDA, --plan does (the full run is for the GPU machine).
    args = ["--plan"] if torch.cuda.is_available() else []
    res = subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    for fragment in ("train_steps", "SGLD", "K = 3 snapshots", "BilevelTrainer.train_epoch", "Trainer.fit",
                     "retrain_distributed", "nas-search --trials 2", "one after the other", "8x224^2", "JSONL"):
        assert fragment in res.stdout, fragment


def _step_row(name, seconds, items=4, **extra):
    return {"row": name, "raw": {"seconds": seconds, "warmup": 1, "items": items, "unit": "step", **extra}}


def test_figures_recompute_from_the_raw_timings():
    rows = {"a": _step_row("a", [9.0, 2.0, 4.0, 3.0]), "b": _step_row("b", [1.0, 1.5, 1.5])}
    rows["r"] = {"row": "r", "raw": {"ratio_of": ["a", "b"]}}
    assert gpu_bench.figures(rows["a"], rows) == {"sec": 3.0, "rate": 4 / 3.0}  # median after the warm-up step
    assert gpu_bench.figures(rows["r"], rows) == {"ratio": 2.0}
    call = {"row": "c", "raw": {"seconds": [30.0], "items": 5, "per_minute": True, "peak_gib": 1.5}}
    assert gpu_bench.figures(call, rows) == {"sec": 30.0, "rate": 10.0, "peak_gib": 1.5}


def test_each_row_is_written_when_done_and_a_failed_bench_keeps_the_rest(tmp_path, monkeypatch, capsys):
    written = []

    def first(s, device, amp, tmp):
        yield _step_row("a", [1.0, 2.0])
        written.append((tmp_path / "rows.jsonl").read_text())  # the row is on disk before the next one starts
        yield _step_row("b", [1.0, 1.0])
        raise RuntimeError("out of memory in the third row")

    def second(s, device, amp, tmp):
        yield _step_row("c", [2.0, 2.0])

    monkeypatch.setattr(gpu_bench, "BENCHES", [first, second])
    out = tmp_path / "rows.jsonl"
    assert gpu_bench.run_all(gpu_bench.TINY, torch.device("cpu"), "bf16", out) == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row"] for r in rows] == ["_run", "a", "b", "first", "c"]
    assert '"row": "a"' in written[0] and '"row": "b"' not in written[0]
    assert rows[3]["error"] == "RuntimeError: out of memory in the third row"
    assert rows[1]["figures"] == {"sec": 2.0, "rate": 2.0} and rows[0]["sizes"]["st_batch"] == gpu_bench.TINY.st_batch
    printed = capsys.readouterr().out
    assert "first" in printed and "failed: RuntimeError" in printed and printed.index("\na ") < printed.index("\nc ")


def test_cpu_without_tiny_is_refused():
    assert gpu_bench.main(["--device", "cpu"]) == 2


@pytest.mark.slow  # about 2 minutes on 2 cores: every bench at toy sizes, two Ray clusters (DDP, trials)
def test_tiny_cpu_run_writes_every_row(tmp_path):
    out = tmp_path / "bench.jsonl"
    res = subprocess.run([sys.executable, str(TOOL), "--device", "cpu", "--tiny", "--out", str(out)],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    rows = {r["row"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(ROWS) <= set(rows), sorted(rows)
    for name in ROWS:
        assert name in res.stdout
        assert gpu_bench.figures(rows[name], rows) == rows[name]["figures"]

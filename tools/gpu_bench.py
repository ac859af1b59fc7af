"""One-shot GPU benchmark: supernet steps FP32 vs AMP, scoring, supernet/extracted ratio, retraining, trials, memory.

    python tools/gpu_bench.py              # on a CUDA machine: runs everything (< 8 min on one GPU) and prints a table
    python tools/gpu_bench.py --plan       # anywhere: prints what it would run and exits 0 (also the default without CUDA)
    python tools/gpu_bench.py --device cpu --tiny   # the same code paths at toy sizes on the CPU (a smoke run)

Every figure is a ratio or a rate measured in this process (steps timed after warm-up, synchronised);
peak memory is ``torch.cuda.max_memory_allocated`` per row (on the CPU it is not measured and shows ``-``).
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F

import nas
from nas.train.amp import autocast, grad_scaler, to_channels_last

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"one_path_vs_extracted": 1.15, "amp_speedup": 1.5, "mobilenetv2_vs_plain": 1.05, "two_trials": 0.6}


@dataclass(frozen=True)
class Sizes:
    """Batch and image sizes of the benchmark (the issue's, or toy ones for a CPU smoke run)."""

    st_batch: int = 256
    st_res: int = 128
    pv_batch: int = 16
    pv_frames: int = 8
    pv_res: int = 112
    mem_res: int = 224  # pv_st memory rows: the real clip size 8 x 224^2
    mem_batch: int = 8
    retrain_batch: int = 128
    retrain_res: int = 224
    steps: int = 20  # timed steps per row (after 5 warm-up steps)
    score_candidates: int = 8
    trials: bool = True


TINY = Sizes(st_batch=4, st_res=16, pv_batch=2, pv_frames=2, pv_res=16, mem_res=16, mem_batch=2, retrain_batch=4,
             retrain_res=32, steps=2, score_candidates=2, trials=False)


def plan(sizes: Sizes) -> List[str]:
    """Return the rows the benchmark measures, in order."""
    s = sizes
    rows = [f"st_topo supernet train step, batch {s.st_batch} at {s.st_res}px: FP32 vs AMP (bf16), images/s",
            f"pv_st supernet train step, batch {s.pv_batch} at {s.pv_frames}x{s.pv_res}^2: FP32 vs AMP, clips/s",
            "st_topo scoring throughput with K = 3 snapshots (BN recalibration + 400 val images): candidates/min",
            "st_topo supernet step with one active path / its extracted model's step (target <= 1.15)",
            f"retrain st_topo:mobilenetv2 at {s.retrain_res}px, batch {s.retrain_batch}, AMP + channels_last, vs a "
            "hand-written MobileNetV2 (target within 5%)",
            f"pv_st and pv_st_m supernets at {s.pv_frames}x{s.mem_res}^2, batch {s.mem_batch}: peak memory plain / "
            "activation checkpointing (target: fits 24 GB)"]
    if s.trials:
        rows.append("2 Ray Tune trials (--gpus-per-trial 1, or 0.5 on one GPU) vs the same 2 run one after the other "
                    "(target < 0.6x)")
    return rows + ["peak GPU memory of every row"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(step: Callable[[], None], device: torch.device, steps: int, warmup: int = 5) -> float:
    """Return seconds per step of ``step`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return (time.perf_counter() - t0) / steps


@contextlib.contextmanager
def peak(device: torch.device, out: Dict[str, float]):
    """Record the block's peak allocated GPU memory (GiB) in ``out['peak_gib']``."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    yield
    out["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")


def train_step(model, x, y, device, amp, sample: Optional[Callable[[], None]] = None) -> Callable[[], None]:
    """Return one forward/backward/SGD step on a fixed batch under ``amp`` (a dtype or None)."""
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    scaler = grad_scaler(device, amp)

    def step() -> None:
        if sample is not None:
            sample()
        with autocast(device, amp):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    return step


def _batch(shape, classes, device, channels_last=False):
    x = torch.randn(*shape, device=device)
    return to_channels_last(x, channels_last), torch.randint(0, classes, (shape[0],), device=device)


def bench_st_supernet(s: Sizes, device, amp) -> Dict[str, Dict[str, float]]:
    """Supernet steps FP32 vs AMP (random single path per step), and one fixed path vs its extracted model."""
    torch.manual_seed(0)
    sn = to_channels_last(nas.create_supernet("st_topo", num_classes=1000, width=1.0, stem_stride=2).to(device))
    x, y = _batch((s.st_batch, 3, s.st_res, s.st_res), 1000, device, True)
    rng = random.Random(0)
    out: Dict[str, Dict[str, float]] = {}
    for name, dtype in (("fp32", None), ("amp", amp)):
        row: Dict[str, float] = {}
        with peak(device, row):
            row["sec"] = timed(train_step(sn, x, y, device, dtype, lambda: sn.sample_active(rng)), device, s.steps)
        row["rate"] = s.st_batch / row["sec"]
        out[f"st_supernet_{name}"] = row
    g = nas.get_space("st_topo").default()
    sn.set_active(g)
    one, ext = {}, {}
    with peak(device, one):
        one["sec"] = timed(train_step(sn, x, y, device, amp), device, s.steps)
    model = to_channels_last(sn.extract(g).to(device))
    with peak(device, ext):
        ext["sec"] = timed(train_step(model, x, y, device, amp), device, s.steps)
    out["one_path_vs_extracted"] = {"ratio": one["sec"] / ext["sec"], "peak_gib": one["peak_gib"]}
    return out


def bench_pv_supernet(s: Sizes, device, amp) -> Dict[str, Dict[str, float]]:
    """pv_st supernet steps (single sampled path) FP32 vs AMP at the issue's clip size."""
    torch.manual_seed(0)
    sn = nas.create_supernet("pv_st", num_classes=400).to(device)
    x, y = _batch((s.pv_batch, 3, s.pv_frames, s.pv_res, s.pv_res), 400, device)
    rng = random.Random(0)
    out = {}
    for name, dtype in (("fp32", None), ("amp", amp)):
        row: Dict[str, float] = {}
        with peak(device, row):
            row["sec"] = timed(train_step(sn, x, y, device, dtype, lambda: sn.sample_active(rng)), device, s.steps)
        row["rate"] = s.pv_batch / row["sec"]
        out[f"pv_supernet_{name}"] = row
    return out


def bench_scoring(s: Sizes, device, amp) -> Dict[str, Dict[str, float]]:
    """Candidates per minute scored under K = 3 snapshots (BN recalibrated per candidate and snapshot)."""
    from nas.search.one_shot import score_genotypes

    torch.manual_seed(0)
    sn = to_channels_last(nas.create_supernet("st_topo", num_classes=1000, width=1.0, stem_stride=2).to(device))
    snaps = [{k: v.clone() for k, v in sn.state_dict().items()} for _ in range(3)]
    bn = [_batch((64, 3, s.st_res, s.st_res), 1000, device, True)[0] for _ in range(2)]
    val = [_batch((200, 3, s.st_res, s.st_res), 1000, device, True) for _ in range(2)]
    if s is TINY:
        bn, val = [b[:4] for b in bn], [(x[:4], y[:4]) for x, y in val]
    rng = random.Random(1)
    gs = [sn.space.sample(rng) for _ in range(s.score_candidates)]
    row: Dict[str, float] = {}
    with peak(device, row), autocast(device, amp):
        score_genotypes(sn, gs[:1], snaps[:1], bn, val)  # warm-up
        _sync(device)
        t0 = time.perf_counter()
        score_genotypes(sn, gs, snaps, bn, val)
        _sync(device)
        row["rate"] = len(gs) / (time.perf_counter() - t0) * 60
    return {"scoring_k3": row}


def bench_retrain(s: Sizes, device, amp) -> Dict[str, Dict[str, float]]:
    """Retraining step of st_topo:mobilenetv2 against a hand-written MobileNetV2 (AMP, channels_last)."""
    from bench_retrain import plain_mobilenetv2  # a sibling tool: Python puts a script's own folder on the path

    from search_spaces.st_topo.model import build_model

    torch.manual_seed(0)
    x, y = _batch((s.retrain_batch, 3, s.retrain_res, s.retrain_res), 1000, device, True)
    ours = to_channels_last(build_model(nas.load_genotype("st_topo:mobilenetv2"), num_classes=1000).to(device))
    plain = to_channels_last(plain_mobilenetv2(1000).to(device))
    rows = {}
    for name, model in (("retrain_mobilenetv2", ours), ("retrain_plain", plain)):
        row: Dict[str, float] = {}
        with peak(device, row):
            row["sec"] = timed(train_step(model, x, y, device, amp), device, s.steps)
        row["rate"] = s.retrain_batch / row["sec"]
        rows[name] = row
    rows["mobilenetv2_vs_plain"] = {"ratio": rows["retrain_mobilenetv2"]["sec"] / rows["retrain_plain"]["sec"]}
    return rows


def bench_memory(s: Sizes, device, amp) -> Dict[str, Dict[str, float]]:
    """Peak memory of pv_st / pv_st_m supernet steps at the real clip size, plain and checkpointed."""
    from nas.nn.checkpointing import checkpoint_blocks

    rows = {}
    for space in ("pv_st", "pv_st_m"):
        for ckpt in (False, True):
            torch.manual_seed(0)
            sn = nas.create_supernet(space, num_classes=400).to(device)
            if ckpt:
                checkpoint_blocks(sn)
            x, y = _batch((s.mem_batch, 3, s.pv_frames, s.mem_res, s.mem_res), 400, device)
            rng = random.Random(0)
            row: Dict[str, float] = {}
            with peak(device, row):
                row["sec"] = timed(train_step(sn, x, y, device, amp, lambda: sn.sample_active(rng)), device,
                                   max(1, s.steps // 4), warmup=1)
            rows[f"mem_{space}{'_ckpt' if ckpt else ''}"] = row
            del sn
    return rows


def bench_trials(s: Sizes, device) -> Dict[str, Dict[str, float]]:
    """Wall time of 2 Ray Tune trials at once against the same 2 trials run one after the other."""
    gpus = torch.cuda.device_count()
    share = "1" if gpus >= 2 else "0.5"
    recipe = ROOT / "recipes" / "search" / "st_topo_tiny.yaml"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}

    def run(args: List[str]) -> float:
        with tempfile.TemporaryDirectory(prefix="gpu-bench-") as d:
            cmd = [sys.executable, "-m", "nas.cli.search", "--recipe", str(recipe), "--device", "cuda",
                   "--gpus-per-trial", share, "--out", str(Path(d) / "t"), *args]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t0

    both = run(["--trials", "2"])
    one_by_one = run(["--trials", "1", "--seed", "0"]) + run(["--trials", "1", "--seed", "1"])
    return {"two_trials": {"ratio": both / one_by_one, "sec": both, "gpus_per_trial": float(share)}}


def print_table(rows: Dict[str, Dict[str, float]], device: torch.device) -> None:
    """Print one table: rate, seconds per step, ratio (with its target) and peak memory per row."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"gpu_bench on {name}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")
    print(f"{'row':<28} {'rate':>12} {'s/step':>9} {'ratio':>7} {'target':>7} {'peak GiB':>9}")
    for key, r in rows.items():
        rate = f"{r['rate']:.1f}" if "rate" in r else "-"
        sec = f"{r['sec']:.4f}" if "sec" in r else "-"
        ratio = f"{r['ratio']:.3f}" if "ratio" in r else "-"
        target = f"{TARGETS[key]:g}" if key in TARGETS else "-"
        mem = f"{r['peak_gib']:.2f}" if not math.isnan(r.get("peak_gib", float("nan"))) else "-"
        print(f"{key:<28} {rate:>12} {sec:>9} {ratio:>7} {target:>7} {mem:>9}")
    fp32, amp = rows.get("st_supernet_fp32"), rows.get("st_supernet_amp")
    if fp32 and amp:
        print(f"AMP speed-up of the st_topo supernet step: {fp32['sec'] / amp['sec']:.2f}x "
              f"(target >= {TARGETS['amp_speedup']})")


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark (or print its plan); return the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--plan", action="store_true", help="print what would run and exit")
    p.add_argument("--device", default="cuda", help="cuda (default) or cuda:N; cpu only with --tiny")
    p.add_argument("--tiny", action="store_true", help="toy sizes: a smoke run of the same code paths")
    p.add_argument("--amp", default="bf16", choices=("bf16", "fp16"), help="the AMP dtype compared with FP32")
    args = p.parse_args(argv)
    sizes = TINY if args.tiny else Sizes()
    no_gpu = not torch.cuda.is_available() and args.device != "cpu"
    if args.plan or no_gpu:
        print("no CUDA device: this is the plan; on a GPU machine it runs and prints one table." if no_gpu else
              "plan:")
        for i, row in enumerate(plan(sizes), 1):
            print(f"  {i}. {row}")
        return 0
    if args.device == "cpu" and not args.tiny:
        print("gpu_bench: --device cpu runs only with --tiny (the full sizes take hours on a CPU)", file=sys.stderr)
        return 2
    from nas.utils.device import resolve_device

    device = resolve_device(args.device)
    amp = torch.bfloat16 if args.amp == "bf16" else torch.float16
    torch.backends.cudnn.benchmark = True
    rows: Dict[str, Dict[str, float]] = {}
    for bench in (bench_st_supernet, bench_pv_supernet, bench_scoring, bench_retrain, bench_memory):
        rows.update(bench(sizes, device, amp))
    if sizes.trials and device.type == "cuda":
        rows.update(bench_trials(sizes, device))
    print_table(rows, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())

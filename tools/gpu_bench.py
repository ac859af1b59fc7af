"""GPU benchmark of the product's own paths: supernet steps, SGLD and scoring, bilevel steps, Trainer epochs, trials.

    python tools/gpu_bench.py              # on a CUDA machine: every row at the planned sizes
    python tools/gpu_bench.py --plan       # anywhere: the rows it would run (also the default without CUDA)
    python tools/gpu_bench.py --device cpu --tiny   # the same code at toy sizes on the CPU (under 3 minutes)

Every row times library code as a run calls it: ``OneShotScorer.train_supernet`` (``train_steps``), its SGLD
phase and candidate scoring, ``BilevelTrainer.train_epoch`` (the bilevel weight and alpha steps), ``Trainer.fit``
locally and through ``retrain_distributed`` (DDP on Ray Train), and ``nas-search --trials`` as a subprocess.
Each row is printed and appended to the JSONL file (``--out``) as soon as it is done, with its raw timings (per
step, per epoch or per call), from which ``figures`` recomputes every number; a crash loses only the rows after it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import torch

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"st_amp_speedup": (">=", 1.5), "ddp_vs_local": ("<=", 1.1), "two_trials_vs_sequential": ("<", 0.6),
           "mem_ckpt_peak": ("<=", 24.0)}
Row = Dict[str, Any]


@dataclass(frozen=True)
class Sizes:
    """The benchmark's sizes: the planned GPU ones, or toy ones for a CPU smoke run (``TINY``)."""

    st_batch: int = 256  # one-shot supernet (st_topo, width 1.0): batch and proxy resolution
    st_res: int = 128
    st_width: float = 1.0
    st_steps: int = 12  # supernet steps timed per precision (the first WARMUP are not counted)
    sgld: List[int] = field(default_factory=lambda: [5, 3, 5])  # burn-in, snapshots K, spacing
    candidates: int = 8  # scored under K snapshots
    val_images: int = 400
    pv_batch: int = 16  # bilevel pv_st search: clips per step, frames, side
    pv_frames: int = 8
    pv_res: int = 112
    pv_width: float = 1.0
    pv_steps: int = 8
    mem_space: str = "pv_st_m"  # bilevel steps at the real clip size, plain and checkpointed: peak memory
    mem_batch: int = 8
    mem_res: int = 224
    retrain_batch: int = 128  # Trainer epochs of st_topo:mobilenetv2
    retrain_res: int = 224
    retrain_steps: int = 10  # steps per epoch
    retrain_epochs: int = 3  # the first is the warm-up
    trials_reference: bool = True  # also run the two trials one after the other (the ratio's reference)
    trials_micro: bool = False  # trials at micro sizes (a few seconds of search each)


TINY = Sizes(st_batch=8, st_res=16, st_width=0.25, st_steps=4, sgld=[1, 2, 1], candidates=2, val_images=16,
             pv_batch=2, pv_frames=2, pv_res=16, pv_width=0.125, pv_steps=3, mem_space="pv_st", mem_batch=2, mem_res=16,
             retrain_batch=8, retrain_res=16, retrain_steps=3, retrain_epochs=2, trials_reference=False,
             trials_micro=True)
WARMUP = 2  # untimed steps at the start of a step row (allocator, cuDNN autotuning)


def plan(s: Sizes, gpus: int = 1) -> List[str]:
    """Return the rows the benchmark runs, in order."""
    workers = 2 if gpus != 1 else 1
    rows = [f"st_train_steps_fp32 / _amp: OneShotScorer.train_supernet (train_steps), st_topo width {s.st_width:g}, "
            f"batch {s.st_batch} at {s.st_res}px; images/s, and the AMP speed-up (target >= 1.5)",
            f"st_sgld: the SGLD phase (burn-in {s.sgld[0]}, K = {s.sgld[1]} snapshots, spacing {s.sgld[2]}); steps/s",
            f"st_scoring: {s.candidates} candidates under K = {s.sgld[1]} snapshots, BN recalibration + "
            f"{s.val_images} images each; candidates/min",
            f"pv_bilevel_fp32 / _amp: BilevelTrainer.train_epoch (weight + alpha step), pv_st, batch {s.pv_batch} at "
            f"{s.pv_frames}x{s.pv_res}^2; clips/s",
            f"mem_peak / mem_ckpt_peak: the same steps on {s.mem_space} at {s.pv_frames}x{s.mem_res}^2, batch "
            f"{s.mem_batch}, plain and with activation checkpointing; peak memory (target: fits 24 GB)",
            f"retrain_local: Trainer.fit of st_topo:mobilenetv2 at {s.retrain_res}px, batch {s.retrain_batch}, "
            f"{s.retrain_epochs} epochs of {s.retrain_steps} steps; s/epoch",
            f"retrain_ddp: the same through retrain_distributed with {workers} worker(s) (nccl on GPUs, gloo on "
            "CPUs); s/epoch and the ratio to the local epoch",
            "trials: nas-search --trials 2 (st_topo tiny recipe) through the CLI"
            + (", against the same two run one after the other (target < 0.6x)" if s.trials_reference else "")]
    return rows + ["every row: raw timings and peak GPU memory in the JSONL file"]


# -- timing ----------------------------------------------------------------------------------------------------
class Clock:
    """Per-unit wall times of a product call, taken from its own progress callback (which syncs: ``loss.item()``)."""

    def __init__(self, device: torch.device):
        self.device, self.marks = device, [time.perf_counter()]

    def tick(self, *_: Any) -> None:
        """Record the end of one unit of work."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.marks.append(time.perf_counter())

    def seconds(self) -> List[float]:
        """Return the duration of each unit."""
        return [b - a for a, b in zip(self.marks, self.marks[1:])]


def _hooks(clock: Clock):
    from nas.search.progress import Hooks

    class ClockHooks(Hooks):
        def advance(self, n: int = 1) -> None:
            clock.tick()

    return ClockHooks()


def _peak_start(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def _peak_gib(device: torch.device) -> Optional[float]:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def figures(row: Row, rows: Dict[str, Row]) -> Dict[str, float]:
    """Recompute a row's figures from its raw timings (and, for a ratio, from the rows it compares)."""
    raw = row["raw"]
    if "ratio_of" in raw:
        a, b = (figures(rows[name], rows)["sec"] for name in raw["ratio_of"])
        return {"ratio": a / b}
    timed = raw["seconds"][raw.get("warmup", 0):] or raw["seconds"]
    sec = statistics.median(timed)
    out = {"sec": sec, "rate": raw["items"] / sec * (60 if raw.get("per_minute") else 1)}
    if raw.get("peak_gib") is not None:
        out["peak_gib"] = raw["peak_gib"]
    return out


# -- the rows --------------------------------------------------------------------------------------------------
def _st_config(s: Sizes, amp: str, device: torch.device):
    from nas.config import build_config
    from nas.config.search import SearchConfig

    b, k, spacing = s.st_batch, s.sgld[1], s.sgld[2]
    opts = [f"data.proxy_resolution={s.st_res}", f"data.batch_size={b}", f"data.train_size={b * s.st_steps}",
            f"data.val_size={max(s.val_images, 64)}", f"supernet.width={s.st_width}", "supernet.epochs=1",
            f"sgld.burn_in={s.sgld[0]}", f"sgld.snapshots={k}", f"sgld.spacing={spacing}",
            f"score.val_images={s.val_images}", f"score.eval_batch_size={min(200, s.val_images)}",
            f"score.bn_batch_size={min(64, b)}", f"execution.amp={amp}", f"execution.device={device}"]
    return build_config(SearchConfig, recipe=str(ROOT / "recipes" / "search" / "st_topo_tiny.yaml"), opts=opts)


def bench_one_shot(s: Sizes, device: torch.device, amp: str, tmp: Path) -> Iterator[Row]:
    """Supernet steps in float32 and under AMP, then the SGLD phase and scoring (AMP) of the same scorer."""
    import random

    from nas.search.scorer import OneShotScorer

    for prec in ("off", amp):
        scorer = OneShotScorer(_st_config(s, prec, device), tmp / f"st-{prec}", device)
        clock = Clock(device)
        _peak_start(device)
        scorer.train_supernet(0, _hooks(clock))
        name = "st_train_steps_fp32" if prec == "off" else "st_train_steps_amp"
        yield {"row": name, "raw": {"seconds": clock.seconds(), "warmup": WARMUP, "items": s.st_batch,
                                    "unit": "step", "peak_gib": _peak_gib(device)}}
    yield {"row": "st_amp_speedup", "raw": {"ratio_of": ["st_train_steps_fp32", "st_train_steps_amp"]}}
    clock = Clock(device)
    _peak_start(device)
    scorer.sgld(0, _hooks(clock))
    yield {"row": "st_sgld", "raw": {"seconds": clock.seconds(), "warmup": 1, "items": 1, "unit": "step",
                                     "peak_gib": _peak_gib(device)}}
    rng = random.Random(1)
    cands = [scorer.supernet.space.sample(rng) for _ in range(s.candidates + 1)]
    scorer(cands[:1])  # warm-up: snapshots and scoring batches move to the device once
    clock = Clock(device)
    _peak_start(device)
    scorer(cands[1:])
    clock.tick()
    yield {"row": "st_scoring", "raw": {"seconds": clock.seconds(), "items": s.candidates, "per_minute": True,
                                        "unit": "call", "peak_gib": _peak_gib(device)}}


def _pv_trainer(s: Sizes, space: str, batch: int, res: int, amp: str, device: torch.device, steps: int,
                checkpointing: bool = False):
    import nas
    from nas.config.search import search_config
    from nas.search.bilevel import BilevelTrainer, build_video_data

    opts = [f"data.frames={s.pv_frames}", f"data.size={res}", f"data.train_size={batch * steps}",
            f"data.alpha_size={batch * steps}", f"data.val_size={batch}", f"search.batch_size={batch}",
            f"supernet.width={s.pv_width}", f"execution.amp={amp}",
            f"execution.activation_checkpointing={str(checkpointing).lower()}"]
    cfg = search_config(space, recipe=str(ROOT / "recipes" / "search" / "pv_st_tiny.yaml"),
                        flags={"space": space, "madds": "1000G"}, opts=opts)
    data = build_video_data(cfg.data, cfg.seed, cfg.search.batch_size)
    return BilevelTrainer(cfg, data, nas.get_space(space), device)


def _bilevel_epoch(trainer, device: torch.device) -> List[float]:
    clock = Clock(device)
    trainer.train_epoch(0, 1.0, True, clock.tick, lambda g: None)
    return clock.seconds()


def bench_bilevel(s: Sizes, device: torch.device, amp: str, tmp: Path) -> Iterator[Row]:
    """Bilevel steps of the video search in float32 and under AMP; peak memory at the real clip size."""
    for prec in ("off", amp):
        t = _pv_trainer(s, "pv_st", s.pv_batch, s.pv_res, prec, device, s.pv_steps)
        _peak_start(device)
        secs = _bilevel_epoch(t, device)
        yield {"row": f"pv_bilevel_{'fp32' if prec == 'off' else 'amp'}",
               "raw": {"seconds": secs, "warmup": 1, "items": s.pv_batch, "unit": "step",
                       "peak_gib": _peak_gib(device)}}
        del t
    for ckpt in (False, True):
        t = _pv_trainer(s, s.mem_space, s.mem_batch, s.mem_res, amp, device, 2, checkpointing=ckpt)
        _peak_start(device)
        secs = _bilevel_epoch(t, device)
        peak = _peak_gib(device)
        yield {"row": f"mem{'_ckpt' if ckpt else ''}_peak", "raw": {"peak_gib": peak, "seconds": secs, "warmup": 1,
                                                                   "items": s.mem_batch, "space": s.mem_space}}
        del t


def _retrain_config(s: Sizes, device: torch.device):
    from nas.config import from_dict, load_recipe, merge
    from nas.config.retrain import RetrainConfig

    b = s.retrain_batch
    over = {"epochs": s.retrain_epochs, "batch_size": b, "eval_batch_size": 2 * b, "resolution": s.retrain_res,
            "data": {"train_size": b * s.retrain_steps, "val_size": 2 * b}, "execution": {"device": str(device)}}
    return from_dict(RetrainConfig, merge(load_recipe(str(ROOT / "recipes" / "retrain" / "cpu_small.yaml")), over))


def _epoch_seconds(out: Path) -> List[float]:
    return [r["seconds"] for r in json.loads((out / "metrics.json").read_text())["epochs"]]


def bench_retrain(s: Sizes, device: torch.device, amp: str, tmp: Path) -> Iterator[Row]:
    """Trainer epochs of st_topo:mobilenetv2 in this process, then through DDP on Ray Train."""
    import nas
    from nas.distributed.train import retrain_distributed
    from nas.train import retrain

    cfg = _retrain_config(s, device)
    g = "st_topo:mobilenetv2"
    _peak_start(device)
    retrain(cfg, g, tmp / "local", log=lambda line: None, device=device)
    items = s.retrain_batch * s.retrain_steps
    yield {"row": "retrain_local", "raw": {"seconds": _epoch_seconds(tmp / "local"), "warmup": 1, "items": items,
                                           "unit": "epoch", "peak_gib": _peak_gib(device)}}
    gpus = torch.cuda.device_count() if device.type == "cuda" else 0
    workers = 1 if gpus == 1 else 2
    retrain_distributed(cfg, nas.load_genotype(g), tmp / "ddp", workers=workers)
    yield {"row": "retrain_ddp", "raw": {"seconds": _epoch_seconds(tmp / "ddp"), "warmup": 1, "items": items,
                                         "unit": "epoch", "workers": workers}}
    yield {"row": "ddp_vs_local", "raw": {"ratio_of": ["retrain_ddp", "retrain_local"]}}


TRIAL_OPTS = ["data.proxy_resolution=8", "data.train_size=64", "data.val_size=32", "data.batch_size=32",
              "sgld.burn_in=1", "sgld.snapshots=2", "sgld.spacing=1", "score.bn_batches=1", "score.bn_batch_size=16",
              "score.val_images=32", "score.eval_batch_size=32", "evolution.population=3",
              "evolution.generations=1", "evolution.parents=1"]


def bench_trials(s: Sizes, device: torch.device, amp: str, tmp: Path) -> Iterator[Row]:
    """Two Ray Tune trials through the CLI (with a GPU share each on CUDA), and optionally the two in turn."""
    gpus = torch.cuda.device_count() if device.type == "cuda" else 0
    share = "0" if not gpus else "1" if gpus >= 2 else "0.5"
    opts = TRIAL_OPTS if s.trials_micro else []
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}

    def run(name: str, *args: str) -> float:
        recipe = ROOT / "recipes" / "search" / "st_topo_tiny.yaml"
        cmd = [sys.executable, "-m", "nas.cli.search", "--recipe", str(recipe),
               "--device", device.type, "--gpus-per-trial", share, "--out", str(tmp / name), *args, *opts]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return time.perf_counter() - t0

    both = run("two", "--trials", "2")
    yield {"row": "two_trials", "raw": {"seconds": [both], "items": 2, "unit": "call", "gpus_per_trial": float(share)}}
    if s.trials_reference:
        one = [run(f"one{i}", "--trials", "1", "--seed", str(i)) for i in range(2)]
        yield {"row": "two_trials_sequential", "raw": {"seconds": [sum(one)], "items": 2, "unit": "call",
                                                       "parts": one}}
        yield {"row": "two_trials_vs_sequential", "raw": {"ratio_of": ["two_trials", "two_trials_sequential"]}}


BENCHES: List[Callable[..., Iterator[Row]]] = [bench_one_shot, bench_bilevel, bench_retrain, bench_trials]


# -- output ----------------------------------------------------------------------------------------------------
def _fmt(value: Optional[float], spec: str) -> str:
    return format("-", spec[:-2].split(".")[0]) if value is None else format(value, spec)


def format_row(row: Row, rows: Dict[str, Row]) -> str:
    """Return one table line: rate, seconds per unit, ratio and its target, peak memory."""
    if "error" in row:
        return f"{row['row']:<26} failed: {row['error']}"
    f = figures(row, rows)
    target = TARGETS.get(row["row"])
    return (f"{row['row']:<26} {_fmt(f.get('rate'), '>12.1f')} {_fmt(f.get('sec'), '>9.4f')} "
            f"{_fmt(f.get('ratio'), '>7.3f')} {(''.join(map(str, target)) if target else '-'):>7} "
            f"{_fmt(f.get('peak_gib'), '>9.2f')}")


HEADER = f"{'row':<26} {'rate':>12} {'s/unit':>9} {'ratio':>7} {'target':>7} {'peak GiB':>9}"


def append_row(path: Path, row: Row) -> None:
    """Append one row to the JSONL file and flush it to disk (a later crash keeps it)."""
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def run_all(sizes: Sizes, device: torch.device, amp: str, out: Path, only: Optional[List[str]] = None) -> int:
    """Run every bench, printing and appending each row when it is done; return the number of failed benches."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    append_row(out, {"row": "_run", "device": name, "torch": torch.__version__, "time": time.strftime("%FT%T"),
                     "sizes": asdict(sizes), "amp": amp, "threads": torch.get_num_threads()})
    print(f"gpu_bench on {name}, torch {torch.__version__}, {time.strftime('%Y-%m-%d %H:%M')}; rows in {out}")
    print(HEADER, flush=True)
    rows: Dict[str, Row] = {}
    failed = 0
    for bench in BENCHES:
        if only and bench.__name__.removeprefix("bench_") not in only:
            continue
        with tempfile.TemporaryDirectory(prefix="gpu-bench-") as tmp:
            try:
                for row in bench(sizes, device, amp, Path(tmp)):
                    rows[row["row"]] = row
                    row["figures"] = figures(row, rows)
                    append_row(out, row)
                    print(format_row(row, rows), flush=True)
            except Exception as exc:  # a failed bench is a row of its own; the next bench still runs
                failed += 1
                err = {"row": bench.__name__, "error": f"{type(exc).__name__}: {str(exc).strip()[-300:]}"}
                append_row(out, err)
                print(format_row(err, rows), flush=True)
    return failed


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark (or print its plan); return the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--plan", action="store_true", help="print what would run and exit")
    p.add_argument("--device", default="cuda", help="cuda (default) or cuda:N; cpu only with --tiny")
    p.add_argument("--tiny", action="store_true", help="toy sizes: a smoke run of the same code paths")
    p.add_argument("--amp", default="bf16", choices=("bf16", "fp16"), help="the AMP dtype compared with float32")
    p.add_argument("--out", default="gpu_bench.jsonl", help="JSONL file the rows are appended to")
    p.add_argument("--only", nargs="*", choices=[b.__name__.removeprefix("bench_") for b in BENCHES],
                   help="run only these benches")
    args = p.parse_args(argv)
    sizes = TINY if args.tiny else Sizes()
    no_gpu = not torch.cuda.is_available() and args.device != "cpu"
    if args.plan or no_gpu:
        print("no CUDA device: this is the plan; on a GPU machine it runs every row." if no_gpu else "plan:")
        for i, row in enumerate(plan(sizes, torch.cuda.device_count()), 1):
            print(f"  {i}. {row}")
        return 0
    if args.device == "cpu" and not args.tiny:
        print("gpu_bench: --device cpu runs only with --tiny (the full sizes take hours on a CPU)", file=sys.stderr)
        return 2
    from nas.utils.device import resolve_device

    if args.device == "cpu":
        torch.set_num_threads(1)  # a smoke run: spinning threads would fight the Ray workers it starts for cores
    return 1 if run_all(sizes, resolve_device(args.device), args.amp, Path(args.out), args.only) else 0


if __name__ == "__main__":
    sys.exit(main())

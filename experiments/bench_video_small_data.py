"""Full width against the small-data recipe on a few hundred embedded clips: accuracy, time, baselines.

A new user with a short clip list who runs ``nas-retrain`` on a searched video genotype trains the full
ResNet-50-width network (about 24M parameters) from scratch. ``recipes/retrain/video_small_data.yaml`` keeps
the genotype at a quarter of the channels with a longer schedule. This script trains both on the same clips of
the embedded video set (``data.train_size`` clips, validation on ``data.val_size`` other clips) for each seed
and writes one JSON line per run, then the table, recomputed from those lines:

    python -m experiments.bench_video_small_data --out experiments/results/video_small_data
    python -m experiments.bench_video_small_data --out experiments/results/video_small_data --report

Each accuracy is printed with its 95% Wilson interval and beside the majority class of the same validation
clips; the difference between the two settings is a two-proportion z-test on the pooled seeds (the clips are
the same for both, so the unpaired test is conservative).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Dict, List

__all__ = ["SETTINGS", "run_one", "report", "main"]

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "retrain" / "video_small_data.yaml"
# name -> (recipe or None for the config defaults, overrides)
SETTINGS = {
    "full width, 10 epochs": (None, ["epochs=10", "batch_size=16", "eval_batch_size=32", "data.frames=8"]),
    "small-data recipe": (RECIPE, []),
}


def run_one(name: str, seed: int, args: argparse.Namespace, out: Path) -> Dict:
    """Train setting ``name`` with ``seed``; return its row (best and last top-1, majority baseline, seconds)."""
    import torch

    from nas.config import build_config
    from nas.config.retrain import RetrainConfig
    from nas.data.video_synthetic import SyntheticMotion
    from nas.train.retrain import retrain

    recipe, opts = SETTINGS[name]
    opts = opts + [f"seed={seed}", f"resolution={args.resolution}", f"data.train_size={args.train}",
                   f"data.val_size={args.val}"]
    cfg = build_config(RetrainConfig, recipe=recipe, opts=opts)
    run = out / f"{name.replace(' ', '_').replace(',', '')}-s{seed}"
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    retrain(cfg, "pv_st:tsm_r50", run, log=lambda *_: None)
    seconds = time.perf_counter() - start
    rows = json.loads((run / "metrics.json").read_text())["epochs"]
    val = SyntheticMotion(cfg.data.val_size, cfg.data.frames, cfg.resolution, cfg.data.seed + 1)
    majority = float(torch.bincount(val.labels).max()) / len(val)
    import nas

    model = nas.create_model("pv_st:tsm_r50", num_classes=len(val.classes), width=cfg.model.width)
    params = sum(p.numel() for p in model.parameters())
    return {"setting": name, "seed": seed, "n_val": len(val), "best_top1": max(r["top1"] for r in rows) / 100,
            "last_top1": rows[-1]["top1"] / 100, "majority": majority, "seconds": seconds, "epochs": len(rows),
            "params": params, "threads": args.threads}


def wilson(p: float, n: int) -> tuple:
    """Return the 95% Wilson interval of a proportion ``p`` over ``n`` trials."""
    from nas.utils.stats import wilson_interval

    return wilson_interval(p * n, n)


def two_proportion_p(p1: float, n1: int, p2: float, n2: int) -> float:
    """Return the two-sided p-value of a two-proportion z-test."""
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = math.sqrt(max(pooled * (1 - pooled) * (1 / n1 + 1 / n2), 1e-12))
    return math.erfc(abs(p1 - p2) / se / math.sqrt(2))


def report(rows: List[Dict]) -> str:
    """Return the markdown table of ``rows`` and the test of the last-epoch difference."""
    lines = ["| setting | seed | params | last top-1 (95% CI) | best top-1 | majority class | seconds |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lo, hi = wilson(r["last_top1"], r["n_val"])
        lines.append(f"| {r['setting']} | {r['seed']} | {r['params'] / 1e6:.2f}M | {r['last_top1']:.3f} "
                     f"({lo:.3f}-{hi:.3f}) | {r['best_top1']:.3f} | {r['majority']:.3f} | {r['seconds']:.0f} |")
    names = list(dict.fromkeys(r["setting"] for r in rows))
    if len(names) == 2:
        pooled = []
        for name in names:
            mine = [r for r in rows if r["setting"] == name]
            n = sum(r["n_val"] for r in mine)
            pooled.append((sum(r["last_top1"] * r["n_val"] for r in mine) / n, n,
                           sum(r["seconds"] for r in mine) / len(mine)))
        (p1, n1, t1), (p2, n2, t2) = pooled
        p = two_proportion_p(p1, n1, p2, n2)
        verdict = "shown" if p < 0.05 else "not shown"
        lines += ["", f"{names[1]} - {names[0]}: last top-1 {p2 - p1:+.3f} over n = {n1} / {n2} validation clips "
                  f"(pooled seeds), two-proportion p = {p:.2g}: difference {verdict}; time ratio {t2 / t1:.2f}."]
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> int:
    """Run the missing (setting, seed) pairs, appending to ``runs.jsonl``, and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for runs.jsonl and the run folders")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--train", type=int, default=256, help="training clips")
    p.add_argument("--val", type=int, default=256, help="validation clips")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--report", action="store_true", help="only print the table from runs.jsonl")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / "runs.jsonl"
    rows = [json.loads(line) for line in raw.read_text().splitlines() if line.strip()] if raw.is_file() else []
    if not args.report:
        done = {(r["setting"], r["seed"]) for r in rows}
        for seed in args.seeds:
            for name in SETTINGS:
                if (name, seed) in done:
                    continue
                row = run_one(name, seed, args, args.out / "runs")
                rows.append(row)
                with raw.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{name} seed {seed}: last top-1 {row['last_top1']:.3f} in {row['seconds']:.0f} s", flush=True)
    print(report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Diversity finalists vs plain cosine on pv_st, at equal total compute, over seeds.

``diversity``: the alpha LR restarts every ``--cycle`` epochs, each cycle's budget-fitted argmax is a
candidate, the distinct ones are trained briefly and the best on held-out clips is the result. ``cosine``:
one cosine decay of the alpha LR, the final argmax is the result, and the search gets the finalists' compute
as extra epochs instead (a finalist step is one single-path forward/backward, a bilevel step two, so
``max * finalist_epochs / 2`` epochs). Each result is then trained from scratch with one fixed protocol and
scored on fresh clips of the embedded set. Prints one row per seed and a mean/std line per schedule.

    python -m experiments.bench_pv_diversity --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

from experiments.common import run_search

__all__ = ["search", "final_accuracy", "main"]

SMALL = ["data.size=24", "data.train_size=192", "data.alpha_size=96", "data.val_size=96",
         "search.batch_size=32", "finalists.batch_size=32"]


def search(schedule: str, seed: int, epochs: int, cycle: float, finalists: int, finalist_epochs: int,
           width: float, out: Path) -> Dict:
    """Run one pv_st search; return its summary."""
    from nas.config.search import search_config

    extra = finalists * finalist_epochs // 2 if schedule == "cosine" else 0
    opts = SMALL + [f"search.scheduler={schedule}", f"search.epochs={epochs + extra}", f"search.cycle_epochs={cycle}",
                    f"finalists.k={finalists if schedule == 'diversity' else 0}",
                    f"finalists.epochs={finalist_epochs}", f"supernet.width={width}"]
    cfg = search_config("pv_st", flags={"seed": seed}, opts=opts)
    return run_search(cfg, out, resume=False)


def final_accuracy(genotype: str, seed: int, width: float, epochs: int) -> float:
    """Train ``genotype`` from scratch at ``width`` on fresh embedded clips; return top-1 on other fresh clips."""
    import torch
    from torch.utils.data import DataLoader

    import nas
    from nas.data.collate import collate_skip
    from nas.data.video_synthetic import CLASS_NAMES, SyntheticMotion
    from nas.search.finalists import evaluate, train_briefly
    from nas.utils.seeds import seeded_init, torch_generator

    train, test = SyntheticMotion(384, 8, 24, seed=1000), SyntheticMotion(384, 8, 24, seed=1001)
    with seeded_init(seed):
        model = nas.create_model(genotype, num_classes=len(CLASS_NAMES), width=width)
    loader = DataLoader(train, batch_size=32, shuffle=True, drop_last=True, generator=torch_generator(seed),
                        collate_fn=collate_skip)
    train_briefly(model, loader, epochs, 0.05, torch.device("cpu"))
    return evaluate(model, DataLoader(test, batch_size=64, collate_fn=collate_skip), torch.device("cpu"))


def main(argv: List[str] | None = None) -> int:
    """Run both schedules for every seed and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=6, help="search epochs of the diversity run")
    p.add_argument("--cycle", type=float, default=1.0, help="diversity cycle length in epochs")
    p.add_argument("--finalists", type=int, default=3)
    p.add_argument("--finalist-epochs", type=int, default=2)
    p.add_argument("--width", type=float, default=0.125)
    p.add_argument("--final-epochs", type=int, default=4, help="from-scratch training of each result")
    a = p.parse_args(argv)
    rows: Dict[str, List[Dict]] = {"diversity": [], "cosine": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in a.seeds:
            for schedule in rows:
                s = search(schedule, seed, a.epochs, a.cycle, a.finalists, a.finalist_epochs, a.width,
                           Path(tmp) / f"{schedule}-{seed}")
                acc = final_accuracy(s["genotype"], seed, a.width, a.final_epochs)
                row = {"seed": seed, "distinct": s["distinct_candidates"], "finalists": len(s["finalists"]),
                       "acc": acc, "seconds": s["seconds"], "genotype": s["genotype"]}
                rows[schedule].append(row)
                print(f"{schedule:9s} seed {seed}: {row['distinct']} distinct candidates, {row['finalists']} "
                      f"finalists, winner top-1 {acc:.3f} ({row['seconds']:.0f} s search) {s['genotype']}",
                      flush=True)
    for schedule, rs in rows.items():
        accs = [r["acc"] for r in rs]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(f"{schedule:9s} mean distinct {statistics.mean(r['distinct'] for r in rs):.1f}, winner top-1 "
              f"{statistics.mean(accs):.3f} +- {sd:.3f} over {len(accs)} seeds, "
              f"search {statistics.mean(r['seconds'] for r in rs):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One-shot and differentiable nb201 searches on the embedded data, each result looked up in the table afterwards.

Each recipe runs as a normal ``SearchRun`` (its own run folder under ``--out``) on the embedded shapes set,
never seeing the table. Afterwards the returned genotype is looked up in the NAS-Bench-201 table: its 200-epoch
CIFAR-10 test accuracy (``c10_test_200ep_analog``) and its rank among the 15,625 cells (1 = best). The search
data is not CIFAR-10, so these are sanity numbers (the searches run and return a member), not a ranking.

Usage: python -m experiments.bench_nb201_embedded [--recipes recipes/search/nb201_one_shot.yaml,...] [--seed 0]
           [--out runs/nb201-embedded] [--threads 1] [--json FILE] [key=value ...]

Trailing ``key=value`` overrides apply to every recipe (e.g. ``search.relaxation=softmax``).

Torch runs on ``--threads`` threads (1 by default): on a shared 2-core machine more threads spin-wait for
cores other processes hold and make each step many times slower.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import nas
from nas.config import build_config
from nas.config.search import SearchConfig
from nas.search.image_bilevel import table_report
from nas.search.run import SearchRun
from nas.search.scorer import TabularScorer

RECIPES = "recipes/search/nb201_one_shot.yaml,recipes/search/nb201_differentiable.yaml"


def run_recipe(recipe: str, seed: int, out: Path, opts=()) -> dict:
    """Run one recipe from scratch in ``out``; return its wall time, result and the table's figures of it."""
    plugin = nas.get_plugin("nb201")
    cfg = build_config(SearchConfig, recipe=recipe, flags={"space": "nb201", "seed": seed},
                       opts=list(opts), base=plugin.search_defaults)
    bench = build_config(SearchConfig, flags={"space": "nb201"}, base=plugin.search_defaults,
                         opts=["benchmark.name=cifar10", "benchmark.report=test_200ep"])
    tabular = TabularScorer.for_config(plugin, bench.benchmark)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    g = SearchRun(cfg, out).run(resume=False)
    seconds = time.perf_counter() - t0
    summary = json.loads((out / "summary.json").read_text())
    return {"recipe": recipe, "opts": list(opts), "strategy": summary["strategy"], "seed": seed,
            "seconds": round(seconds, 1), "genotype": str(g), "arch_str": plugin.space.arch_str(g),
            "score": summary["score"],
            "madds": summary["madds"], "table": table_report(tabular, bench, g)}


def main() -> None:
    """Run the recipes and print one line per search."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipes", default=RECIPES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/nb201-embedded")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--json", help="write the rows here")
    p.add_argument("opts", nargs="*", metavar="key=value", help="config overrides for every recipe")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for recipe in args.recipes.split(","):
        row = run_recipe(recipe, args.seed, Path(args.out) / Path(recipe).stem, args.opts)
        t = row["table"]
        print(f"{row['strategy']:>14}  {row['seconds']:7.1f} s  {row['genotype']}  supernet score {row['score']:.3f}"
              f"  table c10 200ep test {t['test']:.2f}  rank {t['rank']}/{t['cells']}", flush=True)
        rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

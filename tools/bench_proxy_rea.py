"""Proxy-guided regularized evolution on NAS-Bench-201 against plain regularized evolution, from the proxies' raw rows.

Warm start (Abdelfattah et al. 2021, section 5): before the search, a pool of ``--pool`` cells is ranked by a
training-free proxy at no query cost, and the best ``population`` of them are the initial population instead
of random cells; evolution then goes on as plain regularized evolution (P = 20, S = 5, one-edge mutation), scored
by the table's ``c10_valid_12ep`` through the project's ``TabularScorer``, as ``nas-search --benchmark cifar10``
runs it. The pools are drawn from the cells ``tools/bench_proxies.py`` measured (its ``raw.jsonl``): a uniform
random sample of the space, so each seed's pool is a uniform sample too, but pools of different seeds overlap
when that sample is small (said in the report). The plain runs use the same seeds.

Proposal filter (variants ``filter:NAME``): the initial population is random, as in plain evolution, but every
later child is the best by the proxy of ``--filter-k`` proposals, each made as plain evolution makes one (a
tournament of S, a one-edge mutation); only that child is queried. The proxy must be known for every cell a
proposal can reach, so these variants need raw rows for all 15,625 cells (``bench_proxies.py --cells 15625``).
k = 10 is our choice, not fitted.

For each variant and each seed it records the ``c10_test_200ep_analog`` of the cell a run returns after 50, 100
and 200 distinct cells (best by validation among them, ties to the earliest), appended to ``runs.jsonl`` in
``--out``; the report compares each warm start with plain evolution at each count (bootstrap over seeds, one-sided
p; the goal, +0.2 points at 50 cells, "met" only with p < 0.05).

Usage: nice python tools/bench_proxy_rea.py --raw experiments/results/proxies/raw.jsonl --out DIR [--seeds 100]
       [--pool 200] [--variants plain,synflow,naswot,zico,madds,blend,filter:synflow] [--filter-k 10]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

import nas
from nas.config.search import BenchmarkConfig
from nas.errors import NasError
from nas.proxies.blend import BLEND_WEIGHTS, rank_blend
from nas.search.scorer import TabularScorer
from nas.search.strategies.regularized_evolution import RegularizedEvolution
from nas.search.strategies.window import History
from nas.utils.io import atomic_write_json
from nas.utils.stats import Claim, bootstrap_test

COUNTS = (50, 100, 200)  # distinct cells a run has seen when its result is read
POPULATION, SAMPLE_SIZE = 20, 5  # NAS-Bench-201's regularized evolution
GOAL = 0.2  # points of 200-epoch CIFAR-10 accuracy over plain evolution at 50 cells


def warm_start(rows: List[dict], variant: str, pool: int, rng: random.Random) -> List[str]:
    """Return the ``POPULATION`` best cells of a pool of ``pool`` measured cells by ``variant``'s score."""
    chosen = rng.sample(rows, pool)
    if variant == "blend":
        names = sorted(BLEND_WEIGHTS)
        score = rank_blend({n: [r["scores"][n] for r in chosen] for n in names}, BLEND_WEIGHTS)
    else:
        score = np.array([r["scores"][variant] for r in chosen])
    order = np.argsort(-score, kind="stable")
    return [chosen[i]["cell"] for i in order[:POPULATION]]


def filtered(rea: RegularizedEvolution, proxy: Dict[str, float], k: int) -> List:
    """Return the one child to query: the proxy's best of ``k`` proposals, each a tournament and a mutation."""
    proposals = [rea.ask()[0] for _ in range(k)]
    try:
        return [max(proposals, key=lambda g: proxy[str(g)])]  # ties: the first proposed
    except KeyError:
        raise NasError("a filter variant needs the proxy of every cell: measure all 15,625 "
                       "(bench_proxies.py --cells 15625)") from None


def run(rows: List[dict], variant: str, seed: int, pool: int, scorer: TabularScorer, k: int = 10) -> List[str]:
    """Return the cells one run returns after each of ``COUNTS`` distinct cells."""
    space = nas.get_space("nb201")
    proxy = ({str(space.parse(r["cell"])): r["scores"][variant[len("filter:"):]] for r in rows}
             if variant.startswith("filter:") else None)

    def cost_fn(g) -> int:
        return space.cost(g).madds

    rea = RegularizedEvolution(space, cost_fn, lo=0, hi=10**12, population=POPULATION, sample_size=SAMPLE_SIZE,
                               max_queries=10 * max(COUNTS), rng=random.Random(f"{seed}-rea"))
    asked: List[tuple] = []
    seen: set = set()
    while len(seen) < max(COUNTS) and not rea.done:
        batch = rea.ask() if proxy is None or rea.generation == 0 else filtered(rea, proxy, k)
        if rea.generation == 0 and variant != "plain" and proxy is None:
            batch = [space.parse(c) for c in warm_start(rows, variant, pool, random.Random(f"{seed}-pool"))]
        scored = [(g, row[0]) for g, row in zip(batch, scorer(batch))]
        rea.tell(scored)
        asked += scored
        seen.update(str(g) for g, _ in scored)
    picks = []
    for q in COUNTS:
        history, distinct = History(space, cost_fn, 10**12), set()
        for g, score in asked:
            if len(distinct) >= q and str(g) not in distinct:
                break
            distinct.add(str(g))
            history.add(g, score)
        picks.append(str(history.top(1)[0].genotype))
    return picks


def claims(runs: List[dict], variants: Sequence[str]) -> Dict[str, dict]:
    """Return each variant's difference to plain evolution and to MAdds used the same way (warm start or filter)
    at each count, and the goal at 50 cells."""
    by = {v: {r["seed"]: r["test"] for r in runs if r["variant"] == v} for v in variants}
    seeds = sorted(set.intersection(*(set(by[v]) for v in variants)))
    diff = lambda x, y: float(x.mean() - y.mean())  # noqa: E731  (paired: the same seeds, so the same pools)
    out: Dict[str, dict] = {}
    for v in variants:
        for base in ("plain", "filter:madds" if v.startswith("filter:") else "madds"):
            if v in ("plain", base) or base not in by:
                continue
            for i, q in enumerate(COUNTS):
                a, b = [by[v][s][i] for s in seeds], [by[base][s][i] for s in seeds]
                est, lo, hi, p = bootstrap_test(diff, a, b, paired=True)
                out[f"{v} - {base} at {q}"] = {**Claim(est, lo, hi, p, f"{len(seeds)} paired seeds").as_dict(),
                                               "mean": float(np.mean(a)), "base_mean": float(np.mean(b))}
                if q == 50 and base == "plain":
                    est, lo, hi, p = bootstrap_test(lambda x, y: diff(x, y) - GOAL, a, b, paired=True)
                    out[f"{v}: goal +{GOAL} over plain at 50"] = Claim(est + GOAL, lo + GOAL, hi + GOAL, p,
                                                                       f"{len(seeds)} paired seeds").as_dict()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--raw", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--pool", type=int, default=200)
    p.add_argument("--variants", default="plain,synflow,naswot,zico,madds,blend")
    p.add_argument("--filter-k", type=int, default=10, help="proposals per child of a filter:NAME variant")
    args = p.parse_args(argv)
    try:
        rows = [json.loads(x) for x in args.raw.read_text().splitlines() if x.strip()]
        if len(rows) < args.pool:
            raise NasError(f"{len(rows)} measured cells; a pool of {args.pool} needs at least that many")
        variants = args.variants.split(",")
        have = set(rows[0]["scores"]) if rows else set()
        need = lambda v: set(BLEND_WEIGHTS) if v == "blend" else {v.split(":")[-1]}  # noqa: E731
        missing = [v for v in variants if v != "plain" and not need(v) <= have]
        if missing:
            raise NasError(f"--variants {missing[0][:40]!r}: the raw rows hold no such proxy "
                           f"(they hold {', '.join(sorted(have))[:120]})")
        plugin = nas.get_plugin("nb201")
        scorer = TabularScorer.for_config(plugin, BenchmarkConfig(name="cifar10"))
        test = scorer.table.column("c10_test_200ep_analog")
        args.out.mkdir(parents=True, exist_ok=True)
        runs = []
        with (args.out / "runs.jsonl").open("w") as f:
            for v in variants:
                for seed in range(args.seeds):
                    picks = run(rows, v, seed, args.pool, scorer, args.filter_k)
                    runs.append({"variant": v, "seed": seed, "picks": picks, "test": [test[g] for g in picks]})
                    f.write(json.dumps(runs[-1]) + "\n")
        rep = {"seeds": args.seeds, "pool": args.pool, "measured_cells": len(rows), "counts": list(COUNTS),
               "means": {v: [float(np.mean([r["test"][i] for r in runs if r["variant"] == v]))
                             for i in range(len(COUNTS))] for v in variants},
               "claims": claims(runs, variants)}
        atomic_write_json(args.out / "report.json", rep)
        for v, m in rep["means"].items():
            print(f"{v:8s} " + "  ".join(f"@{q}: {x:.2f}" for q, x in zip(COUNTS, m)))
        for name, c in rep["claims"].items():
            print(f"{name}: {c['estimate']:+.3f} [{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}], p = {c['p']:.3g}, "
                  f"n = {c['n']}: {c['verdict']}")
    except NasError as exc:
        print(f"bench_proxy_rea: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

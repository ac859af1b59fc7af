"""The strategy league on NAS-Bench-201: every registered window strategy against the table's ground truth.

Each strategy is built through the registry with the hyperparameters ``nas-search --space nb201`` gives it
(``strategy_kwargs`` over the space's search defaults), seeded as a search run seeds it, and scored by the
same ``TabularScorer``: it sees the 12-epoch CIFAR-10 validation column only. For the genotype it returns we
report the 200-epoch CIFAR-10 test accuracy (``c10_test_200ep_analog``), mean and sample std over the seeds,
and how often it is the table's best cell. A second league runs under a MAdds budget that excludes the
table's best cells. Every strategy is compared at the same number of distinct cells; for regularized
evolution, which asks for seen cells again, the reference's counting (evaluations, repeats included) is reported
beside it (``<q>_queries``). The goals are stated as tests (estimate, interval, p, n).

Usage: python -m experiments.bench_strategies [--seeds 100] [--queries 50,100,200,500]
           [--strategies random,evolution,regularized_evolution,local_search] [--budget 100M] [--workers 2]
           [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from typing import Dict, List, Optional

import nas
from nas.config import build_config
from nas.config.search import SearchConfig
from nas.search.scorer import TabularScorer
from nas.search.strategies import create_strategy, strategy_kwargs
from nas.search.strategies.window import History, cost_window
from nas.utils.seeds import seeded_random

STRATEGIES = "random,evolution,regularized_evolution,local_search"
QUERIES: List[int] = [50, 100, 200, 500]  # league sizes (set from --queries)
REPEATS = 4  # evaluations allowed per distinct cell wanted (regularized evolution asks for seen cells again)


def config(queries: int, budget: Optional[str]) -> SearchConfig:
    """Return the search config of one league entry, as nas-search builds it for nb201."""
    plugin = nas.get_plugin("nb201")
    opts = [f"search.max_queries={queries}", "benchmark.name=cifar10", "benchmark.report=test_200ep"]
    if budget:
        opts.append(f"madds={budget}")
    return build_config(SearchConfig, flags={"space": "nb201"}, opts=opts, base=plugin.search_defaults)


def run_one(name: str, cfg: SearchConfig, scorer: TabularScorer, seed: int) -> Dict[str, List[str]]:
    """Run strategy ``name`` for one seed; return its result at each league size, by both countings.

    ``distinct``: after its first q distinct cells, the count every strategy is compared on. ``queries``: after
    q evaluations, repeats included, as the NAS-Bench-201 reference counts regularized evolution (the others
    never ask for a cell twice, so for them both countings agree). The strategy runs until it has seen
    ``max(QUERIES)`` distinct cells, or ``cfg.search.max_queries`` (set high enough for repeats) evaluations.
    Its result after a prefix is the best of that prefix by its own ranking (``History.top``): exactly what a run
    stopped there returns, because these strategies only look at ``max_queries`` to cut their last batch
    (``tests/nas/search/test_nb201_search.py`` checks it).
    """
    space = nas.get_space("nb201")

    def cost_fn(g) -> int:
        return space.cost(g, cfg.resolution, cfg.num_classes).madds

    lo, hi = cost_window(space, cost_fn, cfg.madds, cfg.evolution.min_budget_fraction)
    strategy = create_strategy(name, space=space, cost_fn=cost_fn, lo=lo, hi=hi, rng=seeded_random(seed, name),
                               **strategy_kwargs(name, cfg))
    asked: List[tuple] = []
    seen: set = set()
    while not strategy.done and (len(seen) < max(QUERIES) or len(asked) < max(QUERIES)):
        batch = strategy.ask()
        scored = [(g, row[0]) for g, row in zip(batch, scorer(batch))]
        strategy.tell(scored)
        asked += scored
        seen.update(str(g) for g, _ in scored)
    ends = {"queries": {q: q for q in QUERIES}, "distinct": {}}
    seen = set()
    for i, (g, _) in enumerate(asked, 1):
        seen.add(str(g))
        if len(seen) in QUERIES and len(seen) not in ends["distinct"]:
            ends["distinct"][len(seen)] = i
    out: Dict[str, List[str]] = {}
    for counting, end in ends.items():
        picks = []
        for q in QUERIES:
            history = History(space, cost_fn, hi)
            for g, score in asked[: end.get(q, len(asked))]:
                history.add(g, score)
            picks.append(str(history.top(1)[0].genotype))
        out[counting] = picks
    return out


def _seed_job(job) -> Dict[str, List[str]]:
    name, seed, budget = job
    cfg = config(REPEATS * max(QUERIES), budget)  # room for regularized evolution's repeats
    return run_one(name, cfg, _scorer(cfg), seed)


_SCORERS: dict = {}


def _scorer(cfg: SearchConfig) -> TabularScorer:
    if "s" not in _SCORERS:
        _SCORERS["s"] = TabularScorer.for_config(nas.get_plugin("nb201"), cfg.benchmark)
    return _SCORERS["s"]


def league(names: List[str], seeds: int, budget: Optional[str], workers: int) -> Dict[str, dict]:
    """Return ``{strategy: {queries: stats}}`` for one league."""
    scorer = _scorer(config(max(QUERIES), budget))
    test = scorer.table.column("c10_test_200ep_analog")
    best = _ceiling(scorer, budget)
    out: Dict[str, dict] = {}
    for name in names:
        t0 = time.time()
        jobs = [(name, seed, budget) for seed in range(seeds)]
        if workers > 1:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                runs = pool.map(_seed_job, jobs)
        else:
            runs = [_seed_job(j) for j in jobs]
        out[name] = {}
        for counting in ("distinct", "queries"):
            for i, q in enumerate(QUERIES):
                picks = [r[counting][i] for r in runs]
                if counting == "queries" and picks == [r["distinct"][i] for r in runs]:
                    continue  # a strategy that never repeats a cell: both countings agree
                accs = [test[g] for g in picks]
                key = q if counting == "distinct" else f"{q}_queries"
                out[name][key] = {"mean": statistics.fmean(accs), "std": statistics.stdev(accs) if seeds > 1 else 0.0,
                                  "found_best": sum(g == best for g in picks) / seeds, "accs": accs}
                r = out[name][key]
                print(f"{'budget ' + budget if budget else 'no budget':>12} {name:>22} @{q:>4} {counting:>8}: "
                      f"{r['mean']:.2f} ± {r['std']:.2f}  best cell {r['found_best']:.2f}", flush=True)
        out[name]["seconds"] = time.time() - t0
        print(f"{'':>12} {name:>22}: {out[name]['seconds']:.1f}s for {seeds} seeds", flush=True)
    return out


def goal_tests(free: Dict[str, dict]) -> Dict[str, dict]:
    """State the league's goals as tests (``nas.utils.stats.Claim``) on the no-budget league's distinct counting:
    a mean of at least 93.95 at 200 cells, and at least +0.4 over random at 100 cells, for each strategy.

    The estimate is the margin over the goal; the interval and the one-sided p come from a bootstrap over the
    seeds (each group resampled on its own); "met" needs p < 0.05."""
    from nas.utils.stats import Claim, bootstrap_test

    out: Dict[str, dict] = {}
    for name, rows in free.items():
        if name == "random" or 200 not in rows or 100 not in rows:
            continue
        est, lo, hi, p = bootstrap_test(lambda a: float(a.mean()) - 93.95, rows[200]["accs"])
        out[f"{name}: mean at 200 cells >= 93.95"] = Claim(est, lo, hi, p, f"{len(rows[200]['accs'])} seeds").as_dict()
        est, lo, hi, p = bootstrap_test(lambda a, b: float(a.mean() - b.mean()) - 0.4, rows[100]["accs"],
                                        free["random"][100]["accs"])
        out[f"{name}: over random at 100 cells >= +0.4"] = Claim(est, lo, hi, p, f"{len(rows[100]['accs'])} seeds "
                                                                 "each").as_dict()
    for claim, t in out.items():
        print(f"{claim}: margin {t['estimate']:+.3f} [{t['ci'][0]:+.3f}, {t['ci'][1]:+.3f}], p = {t['p']:.3g}, "
              f"n = {t['n']}: {t['verdict']}", flush=True)
    return out


def _ceiling(scorer: TabularScorer, budget: Optional[str]) -> str:
    """Return the best cell by validation among those within the budget (the table's best without one)."""
    space = nas.get_space("nb201")
    hi = nas.core.cost.parse_budget(budget) if budget else None
    valid = scorer.table.column(scorer.valid)
    ok = [k for k in valid if hi is None or space.cost(space.parse(k)).madds <= hi]
    return max(ok, key=lambda k: valid[k])


def main() -> None:
    """Run both leagues and print (and optionally save) the table."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--queries", default="50,100,200,500")
    p.add_argument("--strategies", default=STRATEGIES)
    p.add_argument("--budget", default="100M", help="MAdds budget of the constrained league ('' to skip)")
    p.add_argument("--workers", type=int, default=2, help="processes the seeds are spread over")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    names = args.strategies.split(",")
    QUERIES[:] = sorted(int(q) for q in args.queries.split(","))
    t0 = time.time()
    result = {"free": league(names, args.seeds, None, args.workers)}
    if "random" in result["free"]:
        result["goals"] = goal_tests(result["free"])
    if args.budget:
        result["budget"] = league(names, args.seeds, args.budget, args.workers)
    result["seconds"] = time.time() - t0
    print(f"league: {result['seconds']:.0f}s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()

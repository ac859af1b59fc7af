"""The one-shot family's scorers side by side on st_topo: the supernet, the rank blend, training-free proxies.

Issue 35 asks for the default scorer, ``score.scorer=blend`` and a training-free search (``proxy:NAME``) on
``bench_search_vs_random``, against the same randoms and the same truth. This script takes a finished
``bench_search_vs_random`` cache (``--base``: its search config, its randoms with their standalone truth, and
its default-scorer searches) and adds the other arms to it:

1. Arms: one full ``nas-search`` run (``SearchRun``, as the CLI runs it) per arm and seed, the base config with
   only ``score.scorer`` changed, in ``WORK/<arm>/search-<seed>``. ``--arm NAME=SCORER:SEEDS`` names each, e.g.
   ``--arm blend=blend:0,1 --arm synflow=proxy:synflow:0,1,2,3,4``.
2. Truth: every new pick trained standalone with the base recipe (``standalone_accuracy``), as many seeds as the
   base truth has (``--standalone-seeds`` fewer; seed r is the same for every genotype, so the randoms' truth is
   then the mean over the same seeds); what the base cache holds is reused, never retrained. ``--shard K/N``
   trains only the K-th of every N items and stops: N runs side by side, each in its own WORK (a copy of the
   first one's) with ``--truth`` naming the others' caches, then one run without ``--shard`` reports.
3. Rankings of every trained genotype (randoms and every arm's picks) against the truth, as Kendall tau minus
   MAdds tau (``proxy_test``: bootstrap over genotypes and, where there are several, supernets): the supernet
   score under each blend search's supernet (searches of different seeds train different supernets, so these
   are at least two supernet seeds), the blend under each, and each training-free proxy.

Report (``WORK/report.json``, printed): per arm, each pick's standalone accuracy and percentile among the
randoms, and the picks' mean percentile as a test (permutation p over every relabelling; "met" only at
p < 0.05), and the arm's mean standalone accuracy minus the supernet arm's as a test of the same kind; per
ranking, tau against the truth beside MAdds'. Everything finished is kept in ``WORK/cache.json`` after every
item, so the same command continues a killed run; ``--report-only`` trains nothing (it still takes the
``--truth`` caches' accuracies into its own).

Usage: OMP_NUM_THREADS=1 python -m experiments.bench_st_topo_arms WORK
           --base experiments/results/search_quality/trust_embedded_4seed_cache.json
           --arm synflow=proxy:synflow:0,1,2,3,4 --arm blend=blend:0,1 [--proxies synflow,naswot,zico]
           [--standalone-seeds N] [--shard K/N --truth OTHER/cache.json ...] [--report-only]
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

import nas
from nas.cli.common import cli_main
from nas.config import build_config, to_dict
from nas.config.search import SearchConfig, parse_scorer
from nas.errors import NasError
from nas.search.strategies.window import cost_window
from nas.utils.io import atomic_write_json
from nas.utils.stats import Claim, bootstrap_test, permutation_p

from experiments.bench_search_vs_random import (Cache, current_config, draw, percentile, picks_test, proxy_test,
                                                take_truth, train_truth)
from experiments.common import read_json, run_search, tau_entry

def parse_arm(text: str) -> Tuple[str, str, List[int]]:
    """Return ``(name, scorer, seeds)`` of ``NAME=SCORER:SEEDS`` (seeds comma separated)."""
    name, _, rest = text.partition("=")
    scorer, _, seeds = rest.rpartition(":")
    if not (name.isidentifier() and scorer and seeds and all(s.isdigit() for s in seeds.split(","))):
        raise NasError(f"--arm takes NAME=SCORER:SEEDS, e.g. blend=blend:0,1; got {text[:60]!r}")
    parse_scorer(scorer)
    return name, scorer, [int(s) for s in seeds.split(",")]


def arm_config(base: SearchConfig, scorer: str, seed: int) -> SearchConfig:
    """Return the base search config with only ``score.scorer`` (and the seed) changed."""
    cfg = build_config(SearchConfig, base=to_dict(base), opts=[f"score.scorer={scorer}"])
    # proxy and blend searches make no confidence report (the one-shot family gives it to the supernet only)
    extra = {"confidence": replace(cfg.confidence, enabled=False)} if scorer != "supernet" else {}
    return replace(cfg, seed=seed, **extra)


class Arms(Cache):
    """The finished work: each arm's picks, the standalone truth, and every ranking's scores; saved per item."""

    SECTIONS = ("searches", "standalone", "scores")
    REFUSAL = "was written for another base or other arms; use a new WORK"


def run_arms(base: SearchConfig, arms: List[Tuple[str, str, List[int]]], work: Path, cache: Arms) -> None:
    """Run (or resume) every arm's searches, recording each pick."""
    for name, scorer, seeds in arms:
        for seed in seeds:
            done = cache["searches"].setdefault(name, {})
            if str(seed) in done:
                continue
            t0 = time.time()
            s = run_search(arm_config(base, scorer, seed), work / name / f"search-{seed}")
            done[str(seed)] = {"genotype": s["genotype"], "score": s["score"], "madds": s["madds"],
                               "seconds": round(time.time() - t0)}
            cache.save()
            print(f"{name} seed {seed}: {s['madds'] / 1e6:.1f}M ({time.time() - t0:.0f}s)", flush=True)


def blend_scorers(base: SearchConfig, work: Path, blend_arm: Tuple[str, str, List[int]]) -> Dict[str, tuple]:
    """Return, per seed of the blend arm, its search's supernet scorer and blend scorer (snapshots read from disk)."""
    from nas.search.proxy_scorer import BlendScorer
    from nas.search.scorer import OneShotScorer, window_sampler

    name, scorer, seeds = blend_arm
    space = nas.get_space(base.space)
    cost_fn = lambda g: space.cost(g, base.resolution, base.num_classes).madds  # noqa: E731
    lo, hi = cost_window(space, cost_fn, base.madds, base.evolution.min_budget_fraction)
    out = {}
    for seed in seeds:
        cfg = arm_config(base, scorer, seed)
        inner = OneShotScorer(cfg, work / name / f"search-{seed}")
        sample = window_sampler(space, cost_fn, lo, hi, cfg.evolution.max_tries)
        out[str(seed)] = (inner, BlendScorer.for_config(cfg, inner, sample))  # the reference the search ranked against
    return out


def score_rankings(base: SearchConfig, work: Path, arms, names: List[str], trained: List[str],
                   cache: Arms) -> None:
    """Score every trained genotype by each ranking not yet cached: supernet and blend under each blend search's
    supernet, and each training-free proxy (on the base run's proxy batch, as ``proxy:NAME`` searches see it)."""
    from nas.search.proxy_scorer import ProxyScorer

    store = cache["scores"]
    jobs: Dict[str, object] = {}
    free = ProxyScorer.for_config(base, names)
    for n in names:
        jobs[n] = lambda todo, n=n: free.values(todo)[n]
    for arm in arms:
        if parse_scorer(arm[1])[0] == "blend":
            for seed, (inner, blend) in blend_scorers(base, work, arm).items():
                jobs[f"supernet_{seed}"] = lambda todo, s=inner: [sum(r) / len(r) for r in s(todo)]
                jobs[f"blend_{seed}"] = lambda todo, s=blend: [sum(r) / len(r) for r in s(todo)]
    for key, fn in jobs.items():
        todo = [g for g in trained if g not in store.get(key, {})]
        if todo:
            t0 = time.time()
            values = fn([nas.load_genotype(g) for g in todo])
            store.setdefault(key, {}).update(dict(zip(todo, (float(v) for v in values))))
            cache.save()
            print(f"scored {len(todo)} genotypes by {key} ({time.time() - t0:.0f}s)", flush=True)


def report(cache: Arms, base_searches: dict, randoms: List[str], trained: List[str], seeds: int, cost) -> dict:
    """Return per arm the picks against the randoms, and per ranking tau against the truth beside MAdds'."""
    truth = {g: sum(v[str(r)] for r in range(seeds)) / seeds for g, v in cache["standalone"].items()
             if all(str(r) in v for r in range(seeds))}
    rand = [truth[g] for g in randoms]
    arms = {"supernet (base)": base_searches, **cache["searches"]}
    out: dict = {"standalone_seeds": seeds, "randoms": len(randoms), "random_median": sorted(rand)[len(rand) // 2],
                 "arms": {}}
    for name, searches in arms.items():
        picks = [{"seed": int(s), "genotype": v["genotype"], "madds": v["madds"], "standalone": truth[v["genotype"]],
                  "percentile": percentile(truth[v["genotype"]], rand), **({"seconds": v["seconds"]}
                                                                          if "seconds" in v else {})}
                 for s, v in sorted(searches.items(), key=lambda kv: int(kv[0]))]
        accs = [p["standalone"] for p in picks]
        out["arms"][name] = {"picks": picks, "mean_standalone": sum(accs) / len(accs),
                             "mean_percentile": sum(p["percentile"] for p in picks) / len(picks),
                             "distinct_picks": len({p["genotype"] for p in picks}),
                             "test_picks_vs_randoms": picks_test(accs, rand).as_dict()}
    base_accs = [p["standalone"] for p in out["arms"]["supernet (base)"]["picks"]]
    for name, a in out["arms"].items():
        if name != "supernet (base)":
            a["test_vs_supernet_arm"] = arm_test([p["standalone"] for p in a["picks"]], base_accs).as_dict()
    ts = [truth[g] for g in trained]
    madds = [cost(g) for g in trained]
    out["trained"] = len(trained)
    out["tau_madds"] = tau_entry(madds, ts)
    scores = cache["scores"]
    groups: Dict[str, List[str]] = {}
    for key in scores:
        groups.setdefault(key.rsplit("_", 1)[0] if key.startswith(("supernet_", "blend_")) else key, []).append(key)
    out["rankings"] = {}
    for group, keys in sorted(groups.items()):
        rows = [[scores[k][g] for g in trained] for k in sorted(keys)]
        test = proxy_test(rows, madds, ts).as_dict()
        if group not in ("supernet", "blend"):
            test["n"] = f"{len(trained)} genotypes (training-free: no supernet)"
        out["rankings"][group] = {"tau": {k: tau_entry(r, ts) for k, r in zip(sorted(keys), rows)},
                                  "minus_madds": test}
    return out


def arm_test(accs: List[float], base: List[float]) -> Claim:
    """State "this arm's picks train better than the supernet arm's" as a test: the difference of mean standalone
    accuracy, a bootstrap interval (each arm resampled apart) and the permutation p over every relabelling."""
    diff = lambda a, b: float(np.mean(a) - np.mean(b))  # noqa: E731
    estimate, low, high, _ = bootstrap_test(diff, accs, base)
    return Claim(estimate, low, high, permutation_p(accs, base, diff), f"{len(accs)} vs {len(base)} picks")


def print_report(rep: dict) -> None:
    """Print the figures as a few readable lines."""
    print(f"{rep['randoms']} randoms (median standalone {rep['random_median']:.4f}); truth over "
          f"{rep['standalone_seeds']} standalone seeds; {rep['trained']} trained genotypes")
    for name, a in rep["arms"].items():
        t = a["test_picks_vs_randoms"]
        print(f"{name}: picks " + ", ".join(f"{p['standalone']:.4f} ({p['percentile']:.0f})" for p in a["picks"])
              + f"; mean percentile {t['estimate']:.1f} [{t['ci'][0]:.1f}, {t['ci'][1]:.1f}], p = {t['p']:.3g}, "
              f"n = {t['n']}: {t['verdict']}")
        if "test_vs_supernet_arm" in a:
            t = a["test_vs_supernet_arm"]
            print(f"  minus the supernet arm: {t['estimate']:+.4f} [{t['ci'][0]:+.4f}, {t['ci'][1]:+.4f}], "
                  f"p = {t['p']:.3g}, n = {t['n']}: {t['verdict']}")
    m = rep["tau_madds"]
    print(f"MAdds tau {m['tau']:.3f} [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}] over {m['n']}")
    for group, r in rep["rankings"].items():
        taus = ", ".join(f"{k} {v['tau']:.3f}" for k, v in r["tau"].items())
        t = r["minus_madds"]
        print(f"{group}: tau {taus}; minus MAdds {t['estimate']:+.3f} [{t['ci'][0]:+.3f}, {t['ci'][1]:+.3f}], "
              f"p = {t['p']:.3g}, n = {t['n']}: {t['verdict']}")


def parse(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("work", help="folder for the arms' searches, cache.json and report.json (reuse it to continue)")
    p.add_argument("--base", required=True, help="a finished bench_search_vs_random cache.json (the supernet arm)")
    p.add_argument("--arm", action="append", default=[], metavar="NAME=SCORER:SEEDS", help="an arm to add")
    p.add_argument("--proxies", default="synflow,naswot,zico", help="training-free rankings to measure")
    p.add_argument("--standalone-seeds", type=int, help="standalone seeds of the truth (default: the base's)")
    p.add_argument("--truth", action="append", default=[], help="another shard's cache.json to take truth from")
    p.add_argument("--shard", default="0/1", metavar="K/N", help="train only the K-th of every N items, then stop")
    p.add_argument("--report-only", action="store_true", help="search and train nothing; report from the cache")
    args = p.parse_args(argv)
    k, _, n = args.shard.partition("/")
    if not (k.isdigit() and n.isdigit() and len(args.shard) <= 9 and int(k) < int(n)):
        raise NasError(f"--shard takes K/N with 0 <= K < N, e.g. 1/2; got {args.shard[:20]!r}")
    args.shard = (int(k), int(n))
    args.arm = [parse_arm(a) for a in args.arm]
    if not args.arm:
        raise NasError("give at least one --arm NAME=SCORER:SEEDS")
    return args


@cli_main("bench_st_topo_arms")
def main(argv: List[str]) -> int:
    args = parse(argv)
    base_path = Path(args.base)
    base_cache = read_json(base_path, "--base")
    bkey = base_cache.get("key", {})
    if "config" not in bkey or not base_cache.get("searches"):
        raise NasError(f"--base {str(base_path)[:120]}: not a finished bench_search_vs_random cache")
    base = build_config(SearchConfig, base=current_config(bkey["config"]))
    space = nas.get_space(base.space)
    cost_g = lambda g: space.cost(g, base.resolution, base.num_classes).madds  # noqa: E731
    cost = lambda s: cost_g(nas.load_genotype(s))  # noqa: E731
    lo, hi = cost_window(space, cost_g, base.madds, base.evolution.min_budget_fraction)
    randoms = draw(space, cost_g, lo, hi, bkey["randoms"], "window")
    epochs = bkey["standalone_epochs"]
    seeds = min(sum(1 for r in range(99) if str(r) in base_cache["standalone"].get(g, {})) for g in randoms)
    if seeds == 0:
        raise NasError(f"--base {str(base_path)[:120]}: its randoms have no standalone truth")
    if args.standalone_seeds is not None:
        if not 1 <= args.standalone_seeds <= seeds:
            raise NasError(f"--standalone-seeds must be in 1..{seeds} (the base's truth has {seeds})")
        seeds = args.standalone_seeds
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cache = Arms(work, {"base": base_path.name, "config": to_dict(base), "arms": [list(a[:2]) for a in args.arm],
                        "standalone_epochs": epochs})
    for g, accs in base_cache["standalone"].items():  # the base truth, never retrained
        mine = cache["standalone"].setdefault(g, {})
        mine.update({r: a for r, a in accs.items() if r not in mine})
    if not args.report_only:
        run_arms(base, args.arm, work, cache)
    picks = [v["genotype"] for v in base_cache["searches"].values()]
    picks += [v["genotype"] for arm in cache["searches"].values() for v in arm.values()]
    trained = list(dict.fromkeys([*randoms, *picks]))
    reuse = lambda: [take_truth(cache, Path(t), epochs, {}) for t in args.truth]  # noqa: E731
    if args.report_only:
        reuse()  # a report may count truth that other runs trained since; kept, so the cache alone recomputes it
        cache.save()
    else:
        from nas.search.scorer import OneShotScorer

        data_source = OneShotScorer(base, work / "truth")  # the base run's data and width, for the standalone runs
        train_truth(data_source, trained, epochs, seeds, cache, cost, reuse, shard=args.shard)
        if args.shard[1] > 1:
            print(f"shard {args.shard[0]}/{args.shard[1]} trained; rerun without --shard to report", flush=True)
            return 0
        score_rankings(base, work, args.arm, args.proxies.split(","), trained, cache)
    rep = {"base": base_path.name, "window": [lo, hi], **report(cache, base_cache["searches"], randoms, trained,
                                                                seeds, cost)}
    atomic_write_json(work / "report.json", rep)
    print_report(rep)
    return 0


if __name__ == "__main__":
    sys.exit(main())

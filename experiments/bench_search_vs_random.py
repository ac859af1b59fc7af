"""Measure whether a search beats random sampling in its own cost window, trained alike.

Protocol (the numbers in ``docs/trust.md`` come from this script):

1. Random baseline: ``--randoms`` genotypes drawn uniformly inside the search's cost window
   (``sample_in_window``, the sampler the random strategy uses), from a fixed RNG.
2. Search picks: one full ``nas-search`` run (``SearchRun``, the same code as the CLI) per ``--seeds`` value,
   each in ``WORK/search-<seed>`` (a killed benchmark resumes them).
3. Optionally ``--wide N`` more genotypes, one per cost bin over ``--wide-fraction`` x budget .. budget, so that
   the proxy-vs-truth tau is also measured over a wide cost range.
4. Truth: every genotype above trained standalone from scratch with one recipe (``experiments.bench_search.standalone_accuracy``:
   ``--standalone-epochs`` at the proxy width and resolution, one-cycle SGD, the whole validation set), once per
   ``--standalone-seeds``; seed-vs-seed tau (the mean over every pair of seeds) is the noise ceiling. With four or
   more seeds the report adds the tau of one half of the seeds' mean against the other half's (averaged over
   every split): the noise ceiling of a truth averaged over that many seeds, and splits the spread into seed noise and architecture differences
   (``seed_variance``). ``--standalone-ema`` and ``--standalone-data`` change the truth recipe (part of the cache
   key); ``--searches FILE`` reuses the searches and proxy scores of an earlier cache with the same search config.
5. Proxy: every genotype scored under the SGLD snapshots of the first search seed's supernet.

Report: each pick's standalone accuracy and its percentile among the randoms (ties count half), the mean over
seeds, and over all trained genotypes the proxy-vs-standalone tau next to the MAdds-vs-standalone tau (both
with bootstrap intervals) and the noise ceiling. Each claim is also a test (``nas.utils.stats.Claim``: estimate,
95% interval, one-sided p, n; "met" only at p < 0.05, else "not shown"): the picks' mean percentile against
the randoms (permutation p over every relabelling of picks and randoms), and proxy tau minus MAdds tau, averaged
over the supernets of every search seed (each search trains its own; bootstrap over genotypes and supernets) and,
with two or more search seeds, as an exact sign-flip test over the supernets (5 are the fewest that can reach
p < 0.05).

Everything finished is kept in ``WORK/cache.json`` (atomically, after every item), so rerunning the same command
continues where it stopped. ``--truth FILE`` reuses standalone accuracies from an earlier ``cache.json`` or a
``python -m experiments.bench_search --json`` file for the genotypes it shares (same ``--standalone-epochs`` only); it is read
again before every training, so it may be the cache of a benchmark still running beside this one.

``--report-only`` trains nothing and reports from the cache as it stands (while the benchmark runs, or after it
stopped), over the standalone seeds every genotype has, into ``WORK/report_partial.json``.

Usage: python -m experiments.bench_search_vs_random WORK [--recipe FILE] [--seeds 0 1 2] [--randoms 8] [--wide 0]
           [--standalone-epochs 12] [--standalone-seeds 2] [--standalone-ema D] [--standalone-data k=v,...]
           [--truth FILE] [--searches FILE] [--report-only] [--shard K/N] [key=value ...]
"""
from __future__ import annotations

import argparse
import itertools
import math
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

import nas
from nas.cli.common import cli_main
from nas.config import build_config, to_dict
from nas.config.search import SearchConfig
from nas.errors import NasError
from nas.search.strategies.window import cost_window, sample_in_window
from nas.utils.io import atomic_write_json
from nas.utils.seeds import derive_seed
from nas.utils.stats import Claim, bootstrap_test, kendall_tau, permutation_p, sign_flip_claim

from experiments.common import load_json, read_json, run_search, tau_entry

CACHE = "cache.json"


class Cache:
    """The benchmark's finished work: searches, standalone accuracies, proxy scores; saved after every item."""

    SECTIONS = ("searches", "standalone", "proxy")
    REFUSAL = "was written for other settings; use a new WORK folder"

    def __init__(self, work: Path, key: dict):
        self.path = work / CACHE
        self.data = load_json(self.path)
        if self.data and "config" in self.data.get("key", {}):
            self.data["key"]["config"] = current_config(self.data["key"]["config"])
        if self.data and self.data.get("key") != key:
            raise NasError(f"{str(self.path)[:120]} {self.REFUSAL}")
        self.data.setdefault("key", key)
        for section in self.SECTIONS:
            self.data.setdefault(section, {})

    def __getitem__(self, section: str) -> dict:
        return self.data[section]

    def save(self) -> None:
        """Write the cache atomically."""
        atomic_write_json(self.path, self.data)


def current_config(config: dict) -> dict:
    """Return an earlier run's resolved search config as this version writes it (keys added since at their
    defaults), so caches from before a new config key still match; one this version cannot read is kept as is."""
    try:
        return to_dict(build_config(SearchConfig, base=config))
    except (NasError, TypeError, ValueError):
        return config


def earlier_truth(path: Path, epochs: int, recipe: dict) -> Dict[str, Dict[str, float]]:
    """Return ``{genotype: {seed index: accuracy}}`` from an earlier cache.json or bench_search.py JSON."""
    data = read_json(path, "--truth")
    found = data.get("key", {}).get("standalone_epochs", data.get("standalone_epochs"))
    if found != epochs:
        raise NasError(f"--truth {str(path)[:120]}: trained for {found!r} epochs, this run for {epochs}")
    if data.get("key", {}).get("standalone_recipe", {}) != recipe:
        raise NasError(f"--truth {str(path)[:120]}: trained with another standalone recipe (ema, data)")
    if "standalone" in data:
        return data["standalone"]
    runs = data.get("standalone_acc", [])
    return {g: {str(r): run[i] for r, run in enumerate(runs)} for i, g in enumerate(data.get("standalone_archs", []))}


def take_truth(cache: Cache, path: Path, epochs: int, recipe: dict) -> None:
    """Copy into the cache the standalone accuracies of ``path`` that it lacks."""
    for g, accs in earlier_truth(path, epochs, recipe).items():
        mine = cache["standalone"].setdefault(g, {})
        mine.update({r: a for r, a in accs.items() if r not in mine})


def take_searches(cache: Cache, path: Path, config: dict) -> None:
    """Copy into the cache the searches and proxy scores of an earlier cache.json with the same search config."""
    data = read_json(path, "--searches")
    if current_config(data.get("key", {}).get("config") or {}) != config:
        raise NasError(f"--searches {str(path)[:120]}: its searches ran with another config")
    for section in ("searches", "proxy"):
        mine = cache[section]
        mine.update({k: v for k, v in data.get(section, {}).items() if k not in mine})
    cache.save()


def standalone_recipe(args: argparse.Namespace) -> dict:
    """The truth recipe beyond the epochs, as recorded in the cache key: empty for the default recipe."""
    out: dict = {}
    if args.standalone_ema:
        out["ema"] = args.standalone_ema
    if args.standalone_data:
        pairs = [kv.strip() for kv in args.standalone_data.split(",") if kv.strip()]
        if not all("=" in kv for kv in pairs):
            raise NasError("--standalone-data takes key=value pairs separated by commas, e.g. train_size=24000")
        out["data"] = [f"data.{kv}" for kv in pairs]
    return out


def truth_data(cfg: SearchConfig, recipe: dict):
    """Return the ProxyData the standalone trainings use: None (the search's own) unless the recipe changes it."""
    if not recipe.get("data"):
        return None
    from nas.search.data import build_proxy_data

    return build_proxy_data(build_config(SearchConfig, base=to_dict(cfg), opts=recipe["data"]))


def draw(space, cost, lo: int, hi: int, n: int, tag: str) -> List[str]:
    """Return ``n`` genotypes drawn uniformly inside ``[lo, hi]`` from an RNG fixed by ``tag``."""
    rng = random.Random(derive_seed("bench-search-vs-random", tag))
    return [str(sample_in_window(space, cost, lo, hi, rng, max_tries=2000)) for _ in range(n)]


def spread(space, cost, lo: int, hi: int, n: int) -> List[str]:
    """Return ``n`` genotypes, one per equal-width cost bin of ``[lo, hi]``."""
    rng = random.Random(derive_seed("bench-search-vs-random", "wide"))
    edges = [lo + (hi - lo) * k // n for k in range(n + 1)]
    return [str(sample_in_window(space, cost, a, b, rng, max_tries=2000)) for a, b in zip(edges, edges[1:])]


def run_searches(cfg: SearchConfig, work: Path, seeds: List[int], cache: Cache) -> None:
    """Run (or resume) one search per seed; record each pick with its score and confidence verdict."""
    for seed in seeds:
        if str(seed) in cache["searches"]:
            continue
        t0 = time.time()
        out = work / f"search-{seed}"
        s = run_search(replace(cfg, seed=seed), out)
        cache["searches"][str(seed)] = {"genotype": s["genotype"], "score": s["score"], "madds": s["madds"],
                                        "verdict": (s.get("confidence") or {}).get("verdict"),
                                        "seconds": round(time.time() - t0)}
        cache.save()
        print(f"search seed {seed}: {s['madds'] / 1e6:.1f}M, proxy {s['score']:.4f} ({time.time() - t0:.0f}s)",
              flush=True)


def reference_scorer(cfg: SearchConfig, work: Path, seed: int):
    """Return the OneShotScorer of the search with ``seed`` (its snapshots on disk; data for standalone runs)."""
    from nas.search.scorer import OneShotScorer

    return OneShotScorer(replace(cfg, seed=seed), work / f"search-{seed}")


def score_proxy(scorer, genotypes: List[str], cache: Cache, seed: Optional[int] = None) -> None:
    """Score the genotypes not yet in the cache under a search's SGLD snapshots: the reference (first) search's
    into ``proxy``, another search seed's into ``proxy_by_seed[seed]``."""
    store = cache["proxy"] if seed is None else cache.data.setdefault("proxy_by_seed", {}).setdefault(str(seed), {})
    todo = [g for g in genotypes if g not in store]
    if todo:
        rows = scorer([nas.load_genotype(g) for g in todo])
        store.update({g: sum(r) / len(r) for g, r in zip(todo, rows)})
        cache.save()


def train_truth(scorer, genotypes: List[str], epochs: int, seeds: int, cache: Cache, cost,
                reuse: Callable[[], None] = lambda: None, ema: float = 0.0, data=None,
                shard: Tuple[int, int] = (0, 1)) -> None:
    """Train every genotype standalone ``seeds`` times (seeds fixed by genotype and index), caching each.

    ``reuse()`` runs before each item: it re-reads ``--truth``, so a benchmark started beside another one whose
    cache is its ``--truth`` skips what the other has trained meanwhile. ``shard = (k, n)`` trains only the
    k-th of every n items (counted over seeds x genotypes), so n benchmarks can share the work."""
    from experiments.bench_search import standalone_accuracy

    for r in range(seeds):
        for i, g in enumerate(genotypes):
            if (r * len(genotypes) + i) % shard[1] != shard[0]:
                continue
            reuse()
            done = cache["standalone"].setdefault(g, {})
            if str(r) in done:
                continue
            t0 = time.time()
            done[str(r)] = standalone_accuracy(scorer, nas.load_genotype(g), epochs,
                                               seed=derive_seed("standalone", r, g) % 2**31, ema=ema, data=data)
            cache.save()
            print(f"standalone seed {r}, {i + 1}/{len(genotypes)} ({cost(g) / 1e6:.0f}M): acc {done[str(r)]:.3f} "
                  f"({time.time() - t0:.0f}s)", flush=True)
    cache.save()  # with what reuse() copied in after the last training


def percentile(value: float, others: List[float]) -> float:
    """Return the percentile of ``value`` among ``others`` (those below, plus half of the ties)."""
    below = sum(1 for o in others if o < value) + 0.5 * sum(1 for o in others if o == value)
    return 100.0 * below / len(others)


def seeds_done(cache: Cache, genotypes: List[str], search_seeds: List[int]) -> int:
    """Return how many standalone seeds every genotype has (for a report on a partial cache); refuse without one."""
    missing = [s for s in search_seeds if str(s) not in cache["searches"]]
    if missing:
        raise NasError(f"--report-only: the cache holds no search for seed {missing[0]} yet")
    contiguous = lambda accs: next(r for r in range(len(accs) + 1) if str(r) not in accs)  # noqa: E731
    done = [contiguous(cache["standalone"].get(g, {})) for g in genotypes]  # seeds 0..k-1, as the report reads
    if min(done) == 0:
        raise NasError(f"--report-only: {done.count(0)} of {len(done)} genotypes have no standalone result yet")
    if any(g not in cache["proxy"] for g in genotypes):
        raise NasError("--report-only: the proxy scores are not in the cache yet")
    return min(done)


def report(cache: Cache, randoms: List[str], trained: List[str], search_seeds: List[int], seeds: int, cost) -> dict:
    """Return the figures: picks (of ``search_seeds``) against randoms, taus, noise ceiling."""
    truth = {g: sum(v[str(r)] for r in range(seeds)) / seeds for g, v in cache["standalone"].items()
             if all(str(r) in v for r in range(seeds))}
    rand_acc = [truth[g] for g in randoms]
    picks = []
    for seed in search_seeds:
        s = cache["searches"][str(seed)]
        acc = truth[s["genotype"]]
        picks.append({"seed": int(seed), **s, "standalone": acc, "percentile": percentile(acc, rand_acc)})
    out = {"picks": picks,
           "mean_pick_standalone": sum(p["standalone"] for p in picks) / len(picks),
           "mean_pick_percentile": sum(p["percentile"] for p in picks) / len(picks),
           "random_standalone": sorted(rand_acc), "random_median": statistics.median(rand_acc)}
    out["test_picks_vs_randoms"] = picks_test([p["standalone"] for p in picks], rand_acc).as_dict()
    ts = [truth[g] for g in trained]
    out["tau_proxy_vs_standalone"] = tau_entry([cache["proxy"][g] for g in trained], ts)
    out["tau_madds_vs_standalone"] = tau_entry([cost(g) for g in trained], ts)
    supernets = {str(search_seeds[0]): cache["proxy"], **{s: v for s, v in cache.data.get("proxy_by_seed", {}).items()
                                                          if all(g in v for g in trained)}}
    out["tau_proxy_by_supernet"] = {s: tau_entry([v[g] for g in trained], ts) for s, v in supernets.items()}
    out["test_proxy_vs_madds"] = proxy_test([[v[g] for g in trained] for v in supernets.values()],
                                            [cost(g) for g in trained], ts).as_dict()
    if len(supernets) > 1:  # each supernet one unit: an exact test that needs no resampling of genotypes
        madds_tau = out["tau_madds_vs_standalone"]["tau"]
        out["test_proxy_vs_madds_over_supernets"] = sign_flip_claim(
            [t["tau"] - madds_tau for t in out["tau_proxy_by_supernet"].values()],
            n=f"{len(supernets)} supernets (one per search seed) x {len(trained)} genotypes").as_dict()
    if seeds >= 2:
        window = [g for g in trained if g in randoms or g in {p["genotype"] for p in picks}]
        for name, group in (("", trained), ("_in_window", window)):
            out.update({k + name: v for k, v in noise_ceiling(cache, group, seeds).items()})
    out["trained"] = len(trained)
    return out


def mean_percentile(picks, randoms) -> float:
    """Return the mean percentile of the picks among the randoms (ties count half)."""
    r = np.asarray(randoms)
    return float(np.mean([100.0 * ((r < x).sum() + 0.5 * (r == x).sum()) / r.size for x in picks]))


def picks_test(picks: List[float], randoms: List[float]) -> Claim:
    """State "the picks beat random sampling" as a test: the picks' mean percentile among the randoms, a
    bootstrap interval (picks and randoms resampled apart) and the permutation p-value over every relabelling
    of picks and randoms (exact up to 100,000 of them). Null: a pick is as good as a random draw (50)."""
    estimate, low, high, _ = bootstrap_test(mean_percentile, picks, randoms)
    p = permutation_p(picks, randoms, mean_percentile)
    return Claim(estimate, low, high, p, f"{len(picks)} picks vs {len(randoms)} randoms")


def proxy_test(proxies: List[List[float]], madds: List[float], truth: List[float], resamples: int = 2000,
               seed: int = 0) -> Claim:
    """State "the proxy ranks better than MAdds" as a test: tau(proxy, truth) - tau(MAdds, truth), the mean over
    the supernets given (one per search seed). The bootstrap resamples genotypes and, with several supernets,
    the supernets too, so the interval includes which supernet you draw; p is the share of draws at or below 0."""
    prox, m, t = np.asarray(proxies, dtype=float), np.asarray(madds, dtype=float), np.asarray(truth, dtype=float)
    diff = lambda rows, idx: float(np.mean([kendall_tau(prox[r][idx], t[idx]) for r in rows])  # noqa: E731
                                   - kendall_tau(m[idx], t[idx]))
    every = np.arange(t.size)
    estimate = diff(range(len(prox)), every)
    rng = np.random.default_rng(seed)
    draws = np.array([diff(rng.integers(0, len(prox), len(prox)) if len(prox) > 1 else [0],
                           rng.integers(0, t.size, t.size)) for _ in range(resamples)])
    low, high = (float(q) for q in np.percentile(draws, [2.5, 97.5]))
    return Claim(estimate, low, high, float((draws <= 0).mean()), f"{t.size} genotypes x {len(prox)} supernet(s)")


def noise_ceiling(cache: Cache, genotypes: List[str], seeds: int) -> dict:
    """Return the seed-vs-seed tau of the standalone accuracies of ``genotypes``, over every pair of seeds.

    With four or more seeds, also the tau between the means of two disjoint halves of the seeds (``seeds // 2``
    each), averaged over every such split: how well a truth averaged over that many seeds agrees with an
    independent one, the noise ceiling of such a truth. One split alone is as noisy as one pair of seeds."""
    runs = [[cache["standalone"][g][str(r)] for g in genotypes] for r in range(seeds)]
    pairs = [kendall_tau(x, y) for i, x in enumerate(runs) for y in runs[i + 1:]]
    out = {"tau_standalone_seed_vs_seed": sum(pairs) / len(pairs),
           "tau_standalone_seed_vs_seed_pairs": pairs}
    if seeds >= 4:
        half = seeds // 2
        mean = lambda idx: [sum(runs[r][i] for r in idx) / len(idx) for i in range(len(genotypes))]  # noqa: E731
        splits = [kendall_tau(mean(a), mean(b)) for a in itertools.combinations(range(seeds), half)
                  for b in itertools.combinations([r for r in range(seeds) if r not in a], half) if a < b]
        out["tau_standalone_half_vs_half"] = sum(splits) / len(splits)
        out["tau_standalone_half_vs_half_splits"] = len(splits)
    out.update(seed_variance(runs))
    return out


def seed_variance(runs: List[List[float]]) -> dict:
    """Split the standalone accuracies' spread into seed noise and architecture differences (one-way ANOVA).

    ``runs[r][i]`` is genotype i's accuracy under seed r. ``seed_sd`` is the pooled within-genotype standard
    deviation, ``arch_sd`` that of the genotypes' true means (their means' variance less the seed noise in it).
    Under normal errors, two single-seed trainings then agree at tau = 2/pi asin(rho), rho = arch^2 / (arch^2 +
    seed^2), and means over k seeds at rho_k = k rho / (1 + (k - 1) rho): ``seeds_for_tau_0.5`` is the smallest
    k whose pair of k-seed means reaches tau 0.5 (None if the architectures do not differ measurably). A model
    based estimate, steadier than a tau over a dozen genotypes; ours, for reading the noise ceiling.
    """
    k, n = len(runs), len(runs[0])
    means = [sum(r[i] for r in runs) / k for i in range(n)]
    seed_var = sum(sum((r[i] - means[i]) ** 2 for r in runs) / (k - 1) for i in range(n)) / n
    grand = sum(means) / n
    arch_var = max(0.0, sum((m - grand) ** 2 for m in means) / (n - 1) - seed_var / k)
    rho = arch_var / (arch_var + seed_var) if arch_var + seed_var > 0 else 0.0
    tau = lambda r: 2 / math.pi * math.asin(r)  # noqa: E731
    need = next((m for m in range(1, 101) if tau(m * rho / (1 + (m - 1) * rho)) >= 0.5), None) if rho > 0 else None
    return {"seed_sd": math.sqrt(seed_var), "arch_sd": math.sqrt(arch_var), "tau_expected_one_seed": tau(rho),
            "seeds_for_tau_0.5": need}


def print_report(rep: dict) -> None:
    """Print the figures as a few readable lines."""
    for p in rep["picks"]:
        print(f"search seed {p['seed']}: standalone {p['standalone']:.4f}, percentile {p['percentile']:.0f} "
              f"among randoms ({p['madds'] / 1e6:.1f}M, proxy {p['score']:.4f})")
    print(f"mean over seeds: standalone {rep['mean_pick_standalone']:.4f}, percentile "
          f"{rep['mean_pick_percentile']:.0f}; random median {rep['random_median']:.4f}")
    for key in ("tau_proxy_vs_standalone", "tau_madds_vs_standalone"):
        t = rep[key]
        print(f"{key}: {t['tau']:.3f} [{t['ci95'][0]:.3f}, {t['ci95'][1]:.3f}] over {t['n']}")
    for seed, t in rep.get("tau_proxy_by_supernet", {}).items():
        print(f"proxy tau under search seed {seed}'s supernet: {t['tau']:.3f} [{t['ci95'][0]:.3f}, {t['ci95'][1]:.3f}]")
    for key, claim in (("test_picks_vs_randoms", "picks' mean percentile among the randoms above 50"),
                       ("test_proxy_vs_madds", "proxy tau minus MAdds tau above 0"),
                       ("test_proxy_vs_madds_over_supernets", "the same, sign-flip test over supernets")):
        if key in rep:
            t = rep[key]
            print(f"{claim}: {t['estimate']:.3f} [{t['ci'][0]:.3f}, {t['ci'][1]:.3f}], p = {t['p']:.3g}, "
                  f"n = {t['n']}: {t['verdict']}")
    if "tau_standalone_seed_vs_seed" in rep:
        print(f"noise ceiling (standalone seed vs seed, mean over {len(rep['tau_standalone_seed_vs_seed_pairs'])} "
              f"pairs): {rep['tau_standalone_seed_vs_seed']:.3f} over all, "
              f"{rep['tau_standalone_seed_vs_seed_in_window']:.3f} in the window")
    if "seed_sd" in rep:
        for name in ("", "_in_window"):
            need = rep[f"seeds_for_tau_0.5{name}"]
            print(f"seed noise{name.replace('_', ' ') or ' over all'}: sd {rep[f'seed_sd{name}']:.4f} against "
                  f"architecture sd {rep[f'arch_sd{name}']:.4f}; expected one-seed tau "
                  f"{rep[f'tau_expected_one_seed{name}']:.2f}; seeds per truth for tau 0.5: "
                  f"{need if need is not None else 'none suffice'}")
    if "tau_standalone_half_vs_half" in rep:
        print(f"noise ceiling of a {rep['standalone_seeds'] // 2}-seed mean (half of the seeds vs the other half, "
              f"mean over {rep['tau_standalone_half_vs_half_splits']} splits): "
              f"{rep['tau_standalone_half_vs_half']:.3f} over all, "
              f"{rep['tau_standalone_half_vs_half_in_window']:.3f} in the window")


def parse(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("work", help="folder for the searches, cache.json and report.json (reuse it to continue)")
    p.add_argument("--recipe", help="search recipe (default: the defaults of nas-search --space st_topo)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="search seeds; each search's supernet also scores every genotype (5 or more for a test)")
    p.add_argument("--randoms", type=int, default=8, help="random genotypes in the window (20 or more for a test)")
    p.add_argument("--wide", type=int, default=0, help="extra genotypes spread over the wide cost range")
    p.add_argument("--wide-fraction", type=float, default=0.35, help="low end of the wide range, x budget")
    p.add_argument("--standalone-epochs", type=int, default=12)
    p.add_argument("--standalone-seeds", type=int, default=2, help="two or more give the noise ceiling")
    p.add_argument("--standalone-ema", type=float, default=0.0,
                   help="truth recipe: evaluate an EMA of the weights with this decay per step (0 = final weights)")
    p.add_argument("--standalone-data", default="",
                   help="truth recipe: data config overrides for the standalone trainings only, comma separated "
                        "(e.g. train_size=24000,val_size=5000: a larger embedded set)")
    p.add_argument("--truth", help="reuse standalone accuracies from an earlier cache.json or bench_search JSON")
    p.add_argument("--searches", help="reuse the searches and proxy scores of an earlier cache.json with the same "
                   "search config (for a new truth recipe)")
    p.add_argument("--report-only", action="store_true",
                   help="run and train nothing: report from what WORK/cache.json holds so far, over the standalone "
                        "seeds every genotype has")
    p.add_argument("--shard", default="0/1", metavar="K/N",
                   help="train only the K-th of every N standalone items, then stop without a report: run N "
                        "benchmarks side by side, each in its own WORK with --truth naming the other's cache, "
                        "then one of them again without --shard to report")
    p.add_argument("overrides", nargs="*", help="config overrides key=value, as for nas-search")
    args = p.parse_intermixed_args(argv)
    k, _, n = args.shard.partition("/")
    if not (k.isdigit() and n.isdigit() and len(args.shard) <= 9 and int(k) < int(n)):
        raise NasError(f"--shard takes K/N with 0 <= K < N, e.g. 1/2; got {args.shard[:20]!r}")
    args.shard = (int(k), int(n))
    if not 0.0 <= args.standalone_ema < 1.0:
        raise NasError("--standalone-ema must be in [0, 1)")
    if args.randoms < 2 or not args.seeds or args.standalone_epochs < 1 or args.standalone_seeds < 1:
        raise NasError("need --randoms >= 2, at least one --seeds value, --standalone-epochs and "
                       "--standalone-seeds >= 1")
    return args


@cli_main("bench_search_vs_random")
def main(argv: List[str]) -> int:
    args = parse(argv)
    t0 = time.time()
    cfg = build_config(SearchConfig, recipe=args.recipe, opts=args.overrides)
    recipe = standalone_recipe(args)
    data = None if args.report_only else truth_data(cfg, recipe)  # a bad override fails here, before any work
    space = nas.get_space(cfg.space)
    cost_g = lambda g: space.cost(g, cfg.resolution, cfg.num_classes).madds  # noqa: E731
    cost = lambda s: cost_g(nas.load_genotype(s))  # noqa: E731
    lo, hi = cost_window(space, cost_g, cfg.madds, cfg.evolution.min_budget_fraction)
    work = Path(args.work)
    if args.report_only and not (work / CACHE).is_file():
        raise NasError(f"--report-only: no {CACHE} in {str(work)[:120]}")
    work.mkdir(parents=True, exist_ok=True)
    key = {"config": to_dict(cfg), "randoms": args.randoms, "wide": args.wide, "wide_fraction": args.wide_fraction,
           "standalone_epochs": args.standalone_epochs, **({"standalone_recipe": recipe} if recipe else {})}
    cache = Cache(work, key)
    if args.searches:
        take_searches(cache, Path(args.searches), key["config"])
    reuse = ((lambda: take_truth(cache, Path(args.truth), args.standalone_epochs, recipe)) if args.truth
             else (lambda: None))
    reuse()
    randoms = draw(space, cost_g, lo, hi, args.randoms, "window")
    wide = spread(space, cost_g, int(args.wide_fraction * cfg.madds), hi, args.wide) if args.wide else []
    seeds = args.standalone_seeds
    if args.report_only:
        picks = [cache["searches"].get(str(s), {}).get("genotype") for s in args.seeds]
        trained = list(dict.fromkeys([*randoms, *(p for p in picks if p), *wide]))
        seeds = seeds_done(cache, trained, args.seeds)
    else:
        run_searches(cfg, work, args.seeds, cache)
        picks = [cache["searches"][str(s)]["genotype"] for s in args.seeds]
        trained = list(dict.fromkeys([*randoms, *picks, *wide]))  # distinct, in a fixed order
        scorer = reference_scorer(cfg, work, args.seeds[0])
        score_proxy(scorer, trained, cache)
        for seed in args.seeds[1:]:  # the same genotypes under every search's own supernet: the supernet-seed spread
            score_proxy(reference_scorer(cfg, work, seed), trained, cache, seed)
        train_truth(scorer, trained, args.standalone_epochs, seeds, cache, cost, reuse,
                    ema=recipe.get("ema", 0.0), data=data, shard=args.shard)
        if args.shard[1] > 1:
            print(f"shard {args.shard[0]}/{args.shard[1]} trained; rerun without --shard (with --truth naming "
                  "the other shards' caches) to report", flush=True)
            return 0
    rep = {"window": [lo, hi], "seeds": args.seeds, "randoms": randoms, "wide": wide, "standalone_seeds": seeds,
           **report(cache, randoms, trained, args.seeds, seeds, cost),
           "seconds": round(time.time() - t0)}
    atomic_write_json(work / ("report_partial.json" if args.report_only else "report.json"), rep)
    print_report(rep)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Compare supernet training rules by how well their proxy ranks architectures of known standalone accuracy.

The question: do the sandwich-style rules help the one-shot proxy? A proxy from one 6-epoch supernet
ranks near-equal networks well on one draw and badly on another (``docs/trust.md``: tau 0.61 and 0.02 for the
same settings), so a rule is judged over several supernet seeds, never one.

For every arm (a named set of config overrides, e.g. ``paths2=supernet.paths=2``) and every ``--seeds`` value:

1. train the proxy supernet and run the SGLD phase (``experiments.bench_search.trained_scorer``: the search's own code);
2. score every architecture of ``--truth`` that has at least ``--truth-seeds`` standalone seeds there, under
   the SGLD snapshots (the search's proxy score);
3. record the scores and the wall time.

The report gives, per arm, the Kendall tau of the proxy against the mean standalone accuracy for each seed
(with a bootstrap interval), their mean, the tau between the arm's supernet seeds (rank stability), and the
arm's training time as a ratio to the first arm's (a ratio of jobs that may not have shared the cores alike).
``--step-cost STEPS`` instead times STEPS supernet steps of each arm in one process (the search's own data and
optimizer, after two warm-up steps), the first arm before and after the others, and prints each arm's cost as a
ratio to the first's.

Every finished (arm, seed) is kept in ``WORK/cache.json`` (atomically), so rerunning continues; ``--shard K/N``
runs every N-th job, so two processes can share a cache folder (each writes its own ``cache-K.json``). A job
cached under another config (other overrides, recipe or version defaults) is a one-line error, not reused.

Usage: python -m experiments.bench_supernet_rule WORK --truth CACHE.json [--recipe FILE] [--arm NAME=key=value,key=value ...]
           [--seeds 0 1] [--truth-seeds 3] [--shard K/N] [--report-only] [--step-cost STEPS] [key=value ...]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Optional

import nas
from nas.config import build_config, to_dict
from nas.config.search import SearchConfig
from nas.errors import NasError
from nas.utils.io import atomic_write_json
from nas.utils.stats import kendall_tau

from experiments.common import load_json, read_json, tau_entry


DEFAULT_ARMS = ["base=", "paths2=supernet.paths=2", "distill=supernet.distill=0.5",
                "bignas=supernet.sandwich=true,supernet.distill=1.0"]  # the arms of the measurement in docs/trust.md


def parse_arm(text: str) -> tuple:
    """Return ``(name, [overrides])`` from ``NAME=key=value,key=value`` (``NAME=`` alone: the defaults)."""
    name, _, rest = text.partition("=")
    if not name or not name.isidentifier():
        raise NasError(f"--arm {text[:60]!r}: expected NAME=key=value,... with NAME a plain word")
    return name, [o for o in rest.split(",") if o]


def truth_means(path: Path, need: int) -> Dict[str, float]:
    """Return ``{genotype: mean standalone accuracy}`` over the genotypes with at least ``need`` seeds."""
    standalone = read_json(path, "--truth").get("standalone")
    if not isinstance(standalone, dict):
        raise NasError(f"--truth {str(path)[:120]}: no standalone accuracies (a bench_search_vs_random cache)")
    out = {g: sum(list(a.values())[:need]) / need for g, a in standalone.items() if len(a) >= need}
    if len(out) < 4:
        raise NasError(f"--truth {str(path)[:120]}: only {len(out)} genotypes have {need} seeds (4 needed)")
    return out


def read_caches(work: Path) -> dict:
    """Merge ``cache*.json`` of ``work`` into ``{"arm/seed": {"scores": {...}, "seconds": s}}``."""
    jobs: dict = {}
    for f in sorted(work.glob("cache*.json")):
        try:
            jobs.update(json.loads(f.read_text()).get("jobs", {}))
        except (OSError, ValueError) as exc:
            raise NasError(f"{f.name}: cannot read it ({type(exc).__name__}); delete it to redo its jobs") from None
    return jobs


def run_job(cfg: SearchConfig, genotypes: List[str]) -> dict:
    """Train one supernet with ``cfg``, score ``genotypes`` under its SGLD snapshots; return scores and time."""
    from experiments.bench_search import trained_scorer

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        scorer, _ = trained_scorer(cfg, Path(tmp))
        train_s = time.perf_counter() - t0
        rows = scorer([nas.load_genotype(g) for g in genotypes])
    return {"scores": {g: sum(r) / len(r) for g, r in zip(genotypes, rows)}, "train_seconds": train_s,
            "seconds": time.perf_counter() - t0}


def step_seconds(cfg: SearchConfig, steps: int) -> float:
    """Return the seconds per supernet training step under ``cfg``'s rule: the search's own scorer, data, optimizer
    and schedule, timed over ``steps`` steps after two warm-up steps."""
    import itertools
    import random

    from experiments.bench_search import proxy_scorer

    from nas.search.one_shot import train_steps

    with tempfile.TemporaryDirectory() as tmp:
        sc = proxy_scorer(cfg, Path(tmp))
    sp = cfg.supernet
    batches = sc.data.train_batches(0)

    def run(n: int) -> None:
        train_steps(sc.supernet, itertools.islice(batches, n), sc.optimizer, sc.scheduler, random.Random(n),
                    sample=sc.sampler, paths=sp.paths, teacher=sc.teacher, distill=sp.distill, fixed=sc.fixed)

    run(2)
    t0 = time.perf_counter()
    run(steps)
    return (time.perf_counter() - t0) / steps


def step_costs(arms: List[tuple], configs: Dict[str, SearchConfig], steps: int) -> Dict[str, dict]:
    """Time every arm's step in this process, the first arm before and after the others; return ratios to it."""
    first = configs[arms[0][0]]
    ref = [step_seconds(first, steps)]
    out = {name: step_seconds(configs[name], steps) for name, _ in arms[1:]}
    ref.append(step_seconds(first, steps))
    base = sum(ref) / 2
    rows = {arms[0][0]: {"seconds": base, "ratio": 1.0, "reference_runs": ref}}
    rows.update({n: {"seconds": t, "ratio": t / base} for n, t in out.items()})
    return rows


def report(arms: List[tuple], seeds: List[int], jobs: dict, truth: Dict[str, float],
           madds: Optional[Dict[str, int]] = None) -> dict:
    """Return per arm: tau against the truth per seed, its mean, the tau between seeds, and time ratios; with
    ``madds``, also the trivial baseline: the tau of cost alone against the truth."""
    genotypes = sorted(truth)
    ref_time = None
    out = {"n": len(genotypes), "arms": {}}
    if madds is not None:
        out["tau_madds_vs_truth"] = tau_entry([madds[g] for g in genotypes], [truth[g] for g in genotypes])
    for name, overrides in arms:
        done = [s for s in seeds if f"{name}/{s}" in jobs]
        for s in done:
            missing = [g for g in genotypes if g not in jobs[f"{name}/{s}"]["scores"]]
            if missing:
                raise NasError(f"{name}/{s} has no score for {len(missing)} genotypes of --truth: use a new folder")
        rows = {s: [jobs[f"{name}/{s}"]["scores"][g] for g in genotypes] for s in done}
        target = [truth[g] for g in genotypes]
        per = {}
        for s, row in rows.items():
            per[str(s)] = tau_entry(row, target)
        pairs = [kendall_tau(rows[a], rows[b]) for i, a in enumerate(done) for b in done[i + 1:]]
        secs = [jobs[f"{name}/{s}"]["train_seconds"] for s in done]
        mean_s = sum(secs) / len(secs) if secs else None
        if ref_time is None and mean_s:
            ref_time = mean_s
        out["arms"][name] = {
            "overrides": overrides, "seeds": done, "tau_vs_truth": per,
            "mean_tau_vs_truth": sum(p["tau"] for p in per.values()) / len(per) if per else None,
            "tau_between_seeds": sum(pairs) / len(pairs) if pairs else None,
            "train_seconds": mean_s, "time_ratio": (mean_s / ref_time) if mean_s and ref_time else None}
    return out


def print_report(rep: dict) -> None:
    """Print one line per arm."""
    print(f"proxy vs standalone truth over {rep['n']} genotypes")
    if "tau_madds_vs_truth" in rep:
        m = rep["tau_madds_vs_truth"]
        print(f"  {'MAdds alone':12s} tau {m['tau']:+.2f} [{m['ci95'][0]:+.2f}, {m['ci95'][1]:+.2f}]")
    for name, a in rep["arms"].items():
        per = ", ".join(f"s{s} {v['tau']:+.2f} [{v['ci95'][0]:+.2f}, {v['ci95'][1]:+.2f}]"
                        for s, v in a["tau_vs_truth"].items())
        mean = "-" if a["mean_tau_vs_truth"] is None else f"{a['mean_tau_vs_truth']:+.2f}"
        between = "-" if a["tau_between_seeds"] is None else f"{a['tau_between_seeds']:+.2f}"
        ratio = "-" if a["time_ratio"] is None else f"{a['time_ratio']:.2f}x"
        print(f"  {name:12s} tau {per or '-'}; mean {mean}; between seeds {between}; job time {ratio}")


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("work", type=Path)
    p.add_argument("--recipe", type=Path, default=None, help="search recipe every arm starts from")
    p.add_argument("--truth", type=Path, default=None, help="a bench_search_vs_random cache.json (needed unless "
                   "--step-cost)")
    p.add_argument("--truth-seeds", type=int, default=3, help="standalone seeds a genotype needs (mean of them)")
    p.add_argument("--arm", action="append", default=None,
                   help="NAME=key=value,... (default: base, paths2, distill, bignas)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--shard", default="0/1", help="K/N: run every N-th job starting at K")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--step-cost", type=int, default=0, metavar="STEPS",
                   help="only time STEPS training steps of each arm in this process (ratios to the first arm)")
    p.add_argument("overrides", nargs="*", help="key=value for every arm")
    args = p.parse_intermixed_args(argv)
    try:
        k, n = (int(v) for v in args.shard.split("/"))
        if not 0 <= k < n:
            raise ValueError
    except ValueError:
        raise NasError(f"--shard {args.shard[:20]!r}: expected K/N with 0 <= K < N") from None
    arms = [parse_arm(a) for a in (args.arm or DEFAULT_ARMS)]
    if len({name for name, _ in arms}) < len(arms):
        raise NasError("--arm: two arms share a name")
    recipe = str(args.recipe) if args.recipe else None
    configs = {name: build_config(SearchConfig, recipe=recipe, opts=[*args.overrides, *ov]) for name, ov in arms}
    if args.step_cost:
        rows = step_costs(arms, configs, args.step_cost)
        for name, row in rows.items():
            print(f"  {name:12s} {row['seconds']:.3f} s per supernet step, {row['ratio']:.2f}x")
        if args.work.is_dir():
            atomic_write_json(args.work / "step_cost.json", rows)
        return 0
    if args.truth is None:
        raise NasError("--truth is needed (a bench_search_vs_random cache.json with standalone accuracies)")
    truth = truth_means(args.truth, args.truth_seeds)
    if args.work.exists() and any(args.work.iterdir()) and not any(args.work.glob("cache*.json")):
        raise NasError(f"{str(args.work)[:120]} is not empty and holds no bench_supernet_rule cache: use a new folder")
    args.work.mkdir(parents=True, exist_ok=True)
    mine = args.work / f"cache-{k}.json"
    jobs = read_caches(args.work)
    todo = [(name, s) for name, _ in arms for s in args.seeds][k::n]
    left = [(name, s) for name, s in todo if f"{name}/{s}" not in jobs]
    t_start, finished = time.perf_counter(), 0
    for name, s in ([] if args.report_only else todo):
        key, config = f"{name}/{s}", to_dict(replace(configs[name], seed=s))
        if key in jobs:
            if jobs[key].get("config") != config:
                raise NasError(f"{key} in {str(args.work)[:120]} was trained with another config: use a new folder")
            continue
        print(f"{key}: training", flush=True)
        jobs[key] = {**run_job(replace(configs[name], seed=s), sorted(truth)), "config": config}
        own = load_json(mine).get("jobs", {})
        own[key] = jobs[key]
        atomic_write_json(mine, {"jobs": own})
        finished += 1
        eta = (time.perf_counter() - t_start) / finished * (len(left) - finished)
        print(f"{key}: done in {jobs[key]['seconds']:.0f}s ({finished}/{len(left)} jobs; ETA {eta / 60:.0f} min, "
              "by the mean so far: arms differ in cost)", flush=True)
    jobs = read_caches(args.work)
    cfg = next(iter(configs.values()))
    space = nas.get_space(cfg.space)
    madds = {g: space.cost(nas.load_genotype(g), cfg.resolution, cfg.num_classes).madds for g in truth}
    rep = report(arms, args.seeds, jobs, truth, madds)
    atomic_write_json(args.work / "report.json", rep)
    print_report(rep)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except NasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)

"""Compare a latency-budget search with a MAdds-budget search whose result has the same measured latency.

1. Search under ``--latency`` (with the table ``--lut``); its result has a predicted and a measured latency.
2. Search under MAdds budgets of ``--madds-factors`` x the latency result's MAdds; measure each result the way
   the table was measured, and keep the one whose measured latency is closest to the latency result's.
3. Score both results under one common scorer (a supernet trained with uniform path sampling, SGLD snapshots),
   since each search's own proxy score comes from its own supernet and is not comparable across runs. The spread
   of that score over the snapshots is reported beside it.
4. Optionally (``--standalone-epochs N``, ``--standalone-seeds K``) train both results from scratch with the
   recipe of ``experiments/bench_search.py`` (proxy width and resolution, one-cycle SGD, the whole validation set), the
   truth the proxy scores stand in for.
Finished searches and trainings in ``--out`` are reused, so an interrupted comparison resumes.

Usage: python -m experiments.compare_latency_search --lut LUT.json --latency 25ms [--resolution 224]
       [--recipe recipes/search/st_topo_tiny.yaml] [--madds-factors 0.8,1.0,1.25] [--rounds 3]
       [--standalone-epochs 0] [--standalone-seeds 2] --out DIR [key=value ...]
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch

import nas
from nas.config import build_config
from nas.config.search import SearchConfig
from nas.latency.profile import measure_genotype
from nas.latency.search import LatencyLimit
from nas.utils.io import atomic_write_json
from nas.utils.seeds import derive_seed

from experiments.bench_search import standalone_accuracy, trained_scorer  # the search benchmark's scorer, recipe
from experiments.common import ROOT, load_json, run_search


def search(cfg: SearchConfig, out: Path) -> dict:
    """Run (or reuse) one search; return its summary."""
    if (out / "summary.json").exists():
        return load_json(out / "summary.json")
    return run_search(cfg, out, resume=(out / "meta.json").exists() or None)


def measure_all(genotypes: dict, limit: LatencyLimit, rounds: int, path: Path) -> dict:
    """Return the median over ``rounds`` round-robin timings of each named genotype (cached in ``path``)."""
    import statistics

    done = load_json(path)
    if done.get("genotypes") != genotypes or len(done.get("ms", {}).get("latency", [])) < rounds:
        ms = {k: [] for k in genotypes}
        for _ in range(rounds):
            for k, g in genotypes.items():
                ms[k].append(measure_genotype(nas.load_genotype(g), limit.target, torch.device("cpu"), limit.spec(),
                                              limit.threads).median_ms)
        done = {"genotypes": genotypes, "ms": ms}
        atomic_write_json(path, done)
    return {k: statistics.median(v) for k, v in done["ms"].items()}


def standalone(scorer, genotypes, epochs: int, seeds: int, path: Path) -> list:
    """Return each genotype's standalone accuracies (one per seed), trained or read back from ``path``."""
    if epochs <= 0:
        return [None] * len(genotypes)
    done = load_json(path)
    for g in genotypes:
        for r in range(seeds):
            key = f"{g}|{epochs}|{r}"
            if key not in done:
                done[key] = standalone_accuracy(scorer, g, epochs, seed=derive_seed("standalone", r, str(g)) % 2**31)
                atomic_write_json(path, done)
                print(f"standalone {str(g)[:40]}... seed {r}: {done[key]:.4f}", flush=True)
    return [[done[f"{g}|{epochs}|{r}"] for r in range(seeds)] for g in genotypes]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lut", required=True)
    p.add_argument("--latency", required=True)
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--recipe", default=str(ROOT / "recipes/search/st_topo_tiny.yaml"))
    p.add_argument("--madds-factors", default="0.8,1.0,1.25")
    p.add_argument("--rounds", type=int, default=3, help="round-robin timings of every result")
    p.add_argument("--standalone-epochs", type=int, default=0, help="train both results standalone (0: do not)")
    p.add_argument("--standalone-seeds", type=int, default=2)
    p.add_argument("--out", required=True)
    p.add_argument("opts", nargs="*")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = build_config(SearchConfig, recipe=args.recipe, flags={"resolution": args.resolution}, opts=args.opts)
    lat_cfg = build_config(SearchConfig, recipe=args.recipe, opts=["madds=null"] + args.opts,
                           flags={"resolution": args.resolution, "latency": args.latency, "lut": args.lut})
    lat = search(lat_cfg, out / "latency")
    limit = LatencyLimit(lat_cfg, nas.get_space(lat_cfg.space),
                         nas.get_space(lat_cfg.space).target(resolution=args.resolution), out / "latency")
    runs = {}
    for f in (float(x) for x in args.madds_factors.split(",")):
        budget = int(lat["madds"] * f)
        runs[budget] = search(replace(base, madds=budget), out / f"madds-{budget}")
    # Every result is timed here, in one process, round-robin over --rounds rounds: a timing taken at the end of
    # each search would compare minutes apart on a machine whose speed drifts.
    genotypes = {"latency": lat["genotype"], **{str(b): s["genotype"] for b, s in runs.items()}}
    timings = measure_all(genotypes, limit, args.rounds, out / "measured.json")
    measured = {b: {"summary": s, "measured_latency_ms": timings[str(b)],
                    "predicted_latency_ms": limit.predict(nas.load_genotype(s["genotype"]))} for b, s in runs.items()}
    for b, m in measured.items():
        print(f"MAdds {b / 1e6:.1f}M: result {m['summary']['madds'] / 1e6:.1f}M MAdds, "
              f"{m['measured_latency_ms']:.2f} ms measured", flush=True)
    lat_ms = timings["latency"]
    print(f"latency {args.latency}: result {lat['madds'] / 1e6:.1f}M MAdds, {lat_ms:.2f} ms measured here "
          f"({lat['measured_latency_ms']:.2f} ms at the end of its search)", flush=True)
    match_budget = min(measured, key=lambda b: abs(measured[b]["measured_latency_ms"] - lat_ms))
    match = measured[match_budget]
    common_cfg = replace(base, supernet=replace(base.supernet, sampling="uniform"))
    scorer, _ = trained_scorer(common_cfg, out / "common")
    gs = [nas.load_genotype(lat["genotype"]), nas.load_genotype(match["summary"]["genotype"])]
    per = scorer(gs, snapshots=scorer.snapshots(), val_images=base.score.val_images)
    common = [sum(r) / len(r) for r in per]
    spread = [max(r) - min(r) for r in per]
    truth = standalone(scorer, gs, args.standalone_epochs, args.standalone_seeds, out / "standalone.json")
    report = {"latency_search": {"budget": args.latency, "genotype": lat["genotype"], "madds": lat["madds"],
                                 "predicted_latency_ms": lat["predicted_latency_ms"],
                                 "measured_latency_ms": lat_ms,
                                 "measured_latency_ms_in_search": lat["measured_latency_ms"], "own_score": lat["score"],
                                 "common_score": common[0], "common_score_spread": spread[0],
                                 "standalone": truth[0]},
              "madds_search": {"budget": match_budget, "genotype": match["summary"]["genotype"],
                               "madds": match["summary"]["madds"], "measured_latency_ms": match["measured_latency_ms"],
                               "predicted_latency_ms": match["predicted_latency_ms"],
                               "own_score": match["summary"]["score"], "common_score": common[1],
                               "common_score_spread": spread[1], "standalone": truth[1]},
              "standalone_epochs": args.standalone_epochs,
              "all_madds_runs": {str(b): {k: v for k, v in m.items() if k != "summary"} for b, m in measured.items()}}
    atomic_write_json(out / "report.json", report)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

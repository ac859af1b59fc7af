"""Compare a latency-budget search with a MAdds-budget search whose result has the same measured latency.

1. Search under ``--latency`` (with the table ``--lut``); its result has a predicted and a measured latency.
2. Search under MAdds budgets of ``--madds-factors`` x the latency result's MAdds; measure each result the way
   the table was measured, and keep the one whose measured latency is closest to the latency result's.
3. Score both results under one common scorer (a supernet trained with uniform path sampling, SGLD snapshots),
   since each search's own proxy score comes from its own supernet and is not comparable across runs.
Finished searches in ``--out`` are reused, so an interrupted comparison resumes.

Usage: python tools/compare_latency_search.py --lut LUT.json --latency 25ms [--resolution 224]
       [--recipe recipes/search/st_topo_tiny.yaml] [--madds-factors 0.8,1.0,1.25] --out DIR [key=value ...]
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

import nas
from nas.config import build_config
from nas.config.search import SearchConfig
from nas.latency.profile import measure_genotype
from nas.latency.search import LatencyLimit
from nas.search.run import SearchRun
from nas.utils.io import atomic_write_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import proxy_scores, trained_scorer  # noqa: E402  (the scorer the search benchmark uses)


def search(cfg: SearchConfig, out: Path) -> dict:
    """Run (or reuse) one search; return its summary."""
    if not (out / "summary.json").exists():
        SearchRun(cfg, out).run(resume=(out / "meta.json").exists() or None)
    return json.loads((out / "summary.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lut", required=True)
    p.add_argument("--latency", required=True)
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--recipe", default=str(Path(__file__).resolve().parents[1] / "recipes/search/st_topo_tiny.yaml"))
    p.add_argument("--madds-factors", default="0.8,1.0,1.25")
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
    measured = {}
    for f in (float(x) for x in args.madds_factors.split(",")):
        budget = int(lat["madds"] * f)
        s = search(replace(base, madds=budget), out / f"madds-{budget}")
        g = nas.load_genotype(s["genotype"])
        ms = measure_genotype(g, limit.target, torch.device("cpu"), limit.spec(), limit.threads).median_ms
        measured[budget] = {"summary": s, "measured_latency_ms": ms, "predicted_latency_ms": limit.predict(g)}
        print(f"MAdds {budget / 1e6:.1f}M: result {s['madds'] / 1e6:.1f}M MAdds, {ms:.2f} ms measured", flush=True)
    match_budget = min(measured, key=lambda b: abs(measured[b]["measured_latency_ms"] - lat["measured_latency_ms"]))
    match = measured[match_budget]
    common_cfg = replace(base, supernet=replace(base.supernet, sampling="uniform"))
    scorer, _ = trained_scorer(common_cfg, out / "common")
    gs = [nas.load_genotype(lat["genotype"]), nas.load_genotype(match["summary"]["genotype"])]
    common = proxy_scores(scorer, gs, scorer.snapshots(), base.score.val_images)
    report = {"latency_search": {"budget": args.latency, "genotype": lat["genotype"], "madds": lat["madds"],
                                 "predicted_latency_ms": lat["predicted_latency_ms"],
                                 "measured_latency_ms": lat["measured_latency_ms"], "own_score": lat["score"],
                                 "common_score": common[0]},
              "madds_search": {"budget": match_budget, "genotype": match["summary"]["genotype"],
                               "madds": match["summary"]["madds"], "measured_latency_ms": match["measured_latency_ms"],
                               "predicted_latency_ms": match["predicted_latency_ms"],
                               "own_score": match["summary"]["score"], "common_score": common[1]},
              "all_madds_runs": {str(b): {k: v for k, v in m.items() if k != "summary"} for b, m in measured.items()}}
    atomic_write_json(out / "report.json", report)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

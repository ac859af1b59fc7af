"""Restate the stored search-quality results as tests: estimate, 95% interval, one-sided p, n, verdict.

Reads each ``experiments/results/search_quality/<name>_{report,cache}.json`` pair written by
``experiments/bench_search_vs_random.py`` (its genotypes, standalone accuracies and proxy scores) and applies the
benchmark's own tests (``picks_test``, ``proxy_test``) without training anything; adds the supernet-seed view of
the stored supernet-rule benchmark (proxy tau of the default rule's supernets) as a sign-flip test over
supernets (with three supernets its p cannot fall below 1/8: more supernets are needed to show anything). Writes ``claims.json`` beside them and prints one line per claim:

    python -m experiments.restate_trust_claims
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List

from nas.utils.stats import sign_flip_claim

from experiments.bench_search_vs_random import picks_test, proxy_test

RESULTS = Path(__file__).resolve().parent / "results" / "search_quality"
NAMES = ("trust_embedded", "trust_embedded_3seed", "trust_embedded_4seed", "trust_fmnist", "trust_finalists",
         "trust_truth_ema", "trust_truth_data", "trust_20x5")


def restate(name: str) -> Dict[str, dict]:
    """Return the picks and proxy claims of one stored benchmark."""
    import nas

    rep = json.loads((RESULTS / f"{name}_report.json").read_text())
    cache = json.loads((RESULTS / f"{name}_cache.json").read_text())
    picks = [p["genotype"] for p in rep["picks"]]
    trained = list(dict.fromkeys([*rep["randoms"], *picks, *rep.get("wide", [])]))
    pairs = len(rep.get("tau_standalone_seed_vs_seed_pairs", [0] if "tau_standalone_seed_vs_seed" in rep else []))
    seeds = rep.get("standalone_seeds") or next(k for k in range(1, 20) if k * (k - 1) // 2 == pairs)  # C(k, 2)
    truth = {g: sum(v[str(r)] for r in range(seeds)) / seeds for g, v in cache["standalone"].items()
             if all(str(r) in v for r in range(seeds))}
    cfg = cache["key"]["config"]
    madds = [nas.cost(g, resolution=cfg["resolution"], num_classes=cfg["num_classes"]).madds for g in trained]
    out = {"picks_vs_randoms": picks_test([truth[g] for g in picks], [truth[g] for g in rep["randoms"]]).as_dict(),
           "proxy_vs_madds": proxy_test([[cache["proxy"][g] for g in trained]], madds,
                                        [truth[g] for g in trained]).as_dict()}
    out["proxy_vs_madds"]["n"] += " (one supernet: the supernet-seed spread is not in the interval)"
    return out


def across_supernets(taus: List[float], madds_tau: float) -> dict:
    """Return the supernets' mean of proxy tau minus MAdds tau as an exact sign-flip test over supernets."""
    d = [t - madds_tau for t in taus]
    return sign_flip_claim(d, n=f"{len(d)} supernets of identical settings").as_dict()


def main() -> int:
    claims = {name: restate(name) for name in NAMES if (RESULTS / f"{name}_report.json").is_file()}
    rules = json.loads((RESULTS / "supernet_rules_report.json").read_text())
    base = rules["arms"]["base"]["tau_vs_truth"]
    three = json.loads((RESULTS / "trust_embedded_3seed_report.json").read_text())
    # The default rule's two supernets and the 3-seed benchmark's own, on the same 15 genotypes and 3-seed truth.
    taus = [three["tau_proxy_vs_standalone"]["tau"], *(base[s]["tau"] for s in sorted(base))]
    claims["supernet_seeds"] = {"proxy_vs_madds": across_supernets(taus, rules["tau_madds_vs_truth"]["tau"]),
                                "proxy_taus": taus, "madds_tau": rules["tau_madds_vs_truth"]["tau"]}
    (RESULTS / "claims.json").write_text(json.dumps(claims, indent=1) + "\n")
    for name, rows in claims.items():
        for claim, t in rows.items():
            if isinstance(t, dict) and "p" in t:
                print(f"{name} {claim}: {t['estimate']:.3f} [{t['ci'][0]:.3f}, {t['ci'][1]:.3f}], p = {t['p']:.3g}, "
                      f"n = {t['n']}: {t['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the training-free proxies on NAS-Bench-201: rank correlation with the table's accuracies, against MAdds.

It scores ``--cells`` random NB201 cells (a seeded draw without replacement from the 15,625) with every bundled
proxy at the benchmark's own target (32 px, 10 classes, width 1), on the embedded shapes images (``--batch-size``
of them; NB201's CIFAR-10 images are not shipped and nothing is downloaded), and times each proxy per cell on
``--threads`` CPU threads (1 by default; each row records its count, and one ``--out`` holds one count). Every
cell's row (its scores, seconds and table values) is appended to ``raw.jsonl`` in ``--out`` as it is measured;
``--resume`` goes on from there, and ``--report-only`` recomputes ``report.json`` from the raw rows without
measuring.

The report gives, per proxy and per accuracy column, Spearman and Kendall with percentile bootstrap intervals,
and on the 200-epoch CIFAR-10 column the paired bootstrap difference to MAdds on the same cells (interval and
one-sided p; "met" only with p < 0.05). The rank blend (``nas.proxies.blend``) is fitted on one half of the
measured cells against ``c10_valid_12ep`` (a column a search may see) and judged on the other half against
``c10_test_200ep_analog``, so its weights never see the cells or the column they are judged on.

Usage: nice python tools/bench_proxies.py --out experiments/results/proxies [--cells 1000] [--resume]
       [--report-only] [--batch-size 64] [--seed 0] [--table CSV] [--resamples 1000] [--proxies synflow]
       [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from nas.benchmarks import load_table
from nas.errors import NasError
from nas.plugins import get_plugin
from nas.proxies import list_proxies, score_proxies
from nas.proxies.blend import fit_blend, rank_blend
from nas.utils.io import atomic_write_json, read_jsonl
from nas.utils.stats import Claim, bootstrap_test, kendall_tau, spearman

COLUMNS = ("c10_valid_12ep", "c10_test_12ep", "c100_valid_12ep", "c100_test_12ep", "in16_valid_12ep",
           "in16_test_12ep", "c10_test_200ep_analog")
GOAL_COLUMN = "c10_test_200ep_analog"
FIT_COLUMN = "c10_valid_12ep"
GOAL_MARGIN = 0.05  # the goal: beat MAdds by at least this much Spearman on held-out cells


def cells(table, n: int, seed: int) -> List[str]:
    """Return ``n`` distinct cells of the table, a seeded draw without replacement (the same seed, the same cells)."""
    keys = sorted(table.rows)
    order = np.random.default_rng(seed).permutation(len(keys))
    return [keys[i] for i in order[:n]]


def measure(cell: str, names: List[str], table, batch_size: int, seed: int) -> dict:
    """Return one raw row: every proxy's score and seconds on ``cell``, and the cell's table values."""
    scores, seconds = {}, {}
    for name in names:
        start = time.perf_counter()
        scores.update(score_proxies(cell, [name], num_classes=10, resolution=32, batch_size=batch_size, seed=seed))
        seconds[name] = time.perf_counter() - start
    return {"cell": cell, "scores": scores, "seconds": seconds,
            "values": {c: table.rows[cell][table.columns.index(c)] for c in COLUMNS}}


def read_rows(path: Path) -> List[dict]:
    """Return the raw rows written so far (a torn line from a killed run is dropped)."""
    return read_jsonl(path)


def run_measurements(args, raw: Path) -> None:
    """Measure the cells not yet in ``raw``, appending one row per cell."""
    plugin = get_plugin("nb201")
    table = load_table(plugin.space, plugin.table_source(), args.table)
    done = {r["cell"] for r in read_rows(raw)}
    if done and not args.resume:
        raise NasError(f"{raw} already holds {len(done)} rows: pass --resume to go on, or --report-only")
    names = list_proxies() if args.proxies is None else sorted(set(args.proxies.split(",")) | {"madds", "params"})
    threads = {r.get("threads", 1) for r in read_rows(raw)}
    if threads - {args.threads}:
        raise NasError(f"{str(raw)[:120]} was timed on {min(threads)} thread(s), this run on {args.threads}: "
                       "use another --out")
    todo = [c for c in cells(table, args.cells, args.seed) if c not in done]
    torch.set_num_threads(args.threads)
    with raw.open("a") as f:
        for i, cell in enumerate(todo):
            f.write(json.dumps({**measure(cell, names, table, args.batch_size, args.seed), "threads": args.threads})
                    + "\n")
            f.flush()
            if (i + 1) % 25 == 0:
                print(f"{len(done) + i + 1} cells measured", file=sys.stderr, flush=True)


def _ci(stat, *arrays, resamples: int, seed: int) -> dict:
    """Return a paired bootstrap of ``stat``: value, 95% interval and the one-sided p of it being <= 0."""
    est, lo, hi, p = bootstrap_test(stat, *arrays, paired=True, resamples=resamples, seed=seed)
    return {"value": est, "ci": [lo, hi], "p_le_0": p}


def _vs_madds(score, madds, acc, resamples: int, seed: int, what: str) -> dict:
    """Return the Spearman and Kendall differences of ``score`` and MAdds against ``acc`` on the same cells."""
    out = {}
    for name, fn in (("spearman", spearman), ("kendall", kendall_tau)):
        est, lo, hi, p = bootstrap_test(lambda s, m, a: fn(s, a) - fn(m, a), score, madds, acc, paired=True,
                                        resamples=resamples, seed=seed)
        out[name] = Claim(est, lo, hi, p, what).as_dict()
    est, lo, hi, p = bootstrap_test(lambda s, m, a: spearman(s, a) - spearman(m, a) - GOAL_MARGIN, score, madds, acc,
                                    paired=True, resamples=resamples, seed=seed)
    out["goal_spearman_margin"] = Claim(est + GOAL_MARGIN, lo + GOAL_MARGIN, hi + GOAL_MARGIN, p, what).as_dict()
    return out


def _proxy_figures(rows: List[dict], names: List[str], resamples: int, seed: int) -> Dict[str, dict]:
    """Return per proxy: Spearman and Kendall per column (intervals on the fit and goal columns), and vs MAdds."""
    madds = np.array([r["scores"]["madds"] for r in rows])
    out = {}
    for name in names:
        s = np.array([r["scores"][name] for r in rows])
        cols = {}
        for c in COLUMNS:
            a = np.array([r["values"][c] for r in rows])
            if c in (GOAL_COLUMN, FIT_COLUMN):
                cols[c] = {"spearman": _ci(spearman, s, a, resamples=resamples, seed=seed),
                           "kendall": _ci(kendall_tau, s, a, resamples=resamples, seed=seed)}
            else:
                cols[c] = {"spearman": {"value": spearman(s, a)}, "kendall": {"value": kendall_tau(s, a)}}
        goal = np.array([r["values"][GOAL_COLUMN] for r in rows])
        secs = np.array([r["seconds"][name] for r in rows])
        out[name] = {"columns": cols, "seconds_per_cell": {"median": float(np.median(secs)), "mean": float(secs.mean()),
                                                           "p90": float(np.percentile(secs, 90))}}
        if name != "madds":
            out[name]["vs_madds"] = _vs_madds(s, madds, goal, resamples, seed, f"{len(rows)} cells")
    return out


def _halves(rows: List[dict], seed: int):
    """Return the fit half and the judged half of the rows (a seeded split, the same for the same rows)."""
    order = np.random.default_rng(seed + 1).permutation(len(rows))
    cut = len(rows) // 2
    return [rows[i] for i in order[:cut]], [rows[i] for i in order[cut:]]


def _blend_figures(rows: List[dict], names: List[str], resamples: int, seed: int) -> dict:
    """Fit the rank blend on one half against the fit column; judge it on the other against the goal column."""
    fit, judged = _halves(rows, seed)
    feats = lambda part: {n: np.array([r["scores"][n] for r in part]) for n in names}  # noqa: E731
    weights, fit_rho = fit_blend(feats(fit), [r["values"][FIT_COLUMN] for r in fit])
    blend = rank_blend(feats(judged), weights)
    goal = np.array([r["values"][GOAL_COLUMN] for r in judged])
    madds = np.array([r["scores"]["madds"] for r in judged])
    per_proxy = {n: spearman(feats(judged)[n], goal) for n in names}
    return {"weights": weights, "fit_cells": len(fit), "judged_cells": len(judged), "fit_column": FIT_COLUMN,
            "fit_spearman": fit_rho, "spearman": _ci(spearman, blend, goal, resamples=resamples, seed=seed),
            "kendall": _ci(kendall_tau, blend, goal, resamples=resamples, seed=seed),
            "madds_spearman": spearman(madds, goal), "proxies_spearman_on_judged": per_proxy,
            "vs_madds": _vs_madds(blend, madds, goal, resamples, seed, f"{len(judged)} held-out cells")}


def report(rows: List[dict], resamples: int = 1000, seed: int = 0) -> dict:
    """Return the report of the raw rows: per-proxy figures, the held-out blend and the per-cell seconds."""
    if len(rows) < 20:
        raise NasError(f"only {len(rows)} cells measured; the report needs at least 20")
    names = sorted(rows[0]["scores"])
    threads = sorted({r.get("threads", 1) for r in rows})
    return {"cells": len(rows), "threads": threads, "goal_column": GOAL_COLUMN, "goal_margin": GOAL_MARGIN,
            "resamples": resamples,
            "proxies": _proxy_figures(rows, names, resamples, seed),
            "blend": _blend_figures(rows, names, resamples, seed),
            "protocol": "NB201 cells at 32 px, 10 classes, width 1, fresh init per proxy (seed 0); a batch of "
                        f"embedded shapes images (not CIFAR-10); {'/'.join(map(str, threads))} CPU thread(s); "
                        "seconds include building the network and drawing the batch"}


def print_report(rep: dict) -> None:
    """Print the report's headline figures, one line each."""
    print(f"n = {rep['cells']} NB201 cells, timed on {'/'.join(map(str, rep.get('threads', [1])))} thread(s); "
          f"Spearman / Kendall against {rep['goal_column']} (95% bootstrap intervals); difference to MAdds on the "
          "same cells with one-sided p")
    for name, f in rep["proxies"].items():
        g = f["columns"][rep["goal_column"]]
        line = (f"{name:10s} rho {g['spearman']['value']:.3f} [{g['spearman']['ci'][0]:.3f}, "
                f"{g['spearman']['ci'][1]:.3f}]  tau {g['kendall']['value']:.3f} [{g['kendall']['ci'][0]:.3f}, "
                f"{g['kendall']['ci'][1]:.3f}]  {f['seconds_per_cell']['median']:.2f} s/cell")
        if "vs_madds" in f:
            d = f["vs_madds"]["spearman"]
            line += f"  vs MAdds {d['estimate']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}] p {_p(d['p'], rep['resamples'])}"
        print(line)
    b = rep["blend"]
    d, goal = b["vs_madds"]["spearman"], b["vs_madds"]["goal_spearman_margin"]
    print(f"blend {b['weights']} (fit on {b['fit_cells']} cells vs {b['fit_column']}): held-out n = "
          f"{b['judged_cells']}, rho {b['spearman']['value']:.3f} [{b['spearman']['ci'][0]:.3f}, "
          f"{b['spearman']['ci'][1]:.3f}], MAdds {b['madds_spearman']:.3f}, difference {d['estimate']:+.3f} "
          f"[{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}] p {_p(d['p'], rep['resamples'])}; goal +{rep['goal_margin']}: "
          f"p {_p(goal['p'], rep['resamples'])} ({goal['verdict']})")


def _p(p: float, resamples: int) -> str:
    """Return a bootstrap p for print, "= p" or, when no resample fell at or below zero, "< 1/resamples"."""
    return f"< {1 / resamples:.2g}" if p == 0 else f"= {p:.3g}"


def markdown(rep: dict) -> str:
    """Return the report's table for docs/trust.md: one row per proxy, then the held-out blend."""
    def ci(d: dict) -> str:
        return f"{d['value']:.3f} [{d['ci'][0]:.3f}, {d['ci'][1]:.3f}]"

    lines = [f"| proxy | Spearman vs {rep['goal_column']} | Kendall | Spearman vs c10_valid_12ep | minus MAdds "
             "(Spearman) | p | minus MAdds (Kendall) | p | s/cell (median) |", "|---" * 9 + "|"]
    for name, f in rep["proxies"].items():
        g, v = f["columns"][rep["goal_column"]], f["columns"]["c10_valid_12ep"]
        d = f.get("vs_madds")
        diff = (f"{d['spearman']['estimate']:+.3f} [{d['spearman']['ci'][0]:+.3f}, {d['spearman']['ci'][1]:+.3f}] | "
                f"{_p(d['spearman']['p'], rep['resamples']).lstrip('= ')} | {d['kendall']['estimate']:+.3f} [{d['kendall']['ci'][0]:+.3f}, "
                f"{d['kendall']['ci'][1]:+.3f}] | {_p(d['kendall']['p'], rep['resamples']).lstrip('= ')}") if d else "(baseline) | | |"
        lines.append(f"| {name} | {ci(g['spearman'])} | {ci(g['kendall'])} | {ci(v['spearman'])} | {diff} | "
                     f"{f['seconds_per_cell']['median']:.3f} |")
    b = rep["blend"]
    d = b["vs_madds"]
    lines.append(f"| blend (held out, n = {b['judged_cells']}) | {ci(b['spearman'])} | {ci(b['kendall'])} | | "
                 f"{d['spearman']['estimate']:+.3f} [{d['spearman']['ci'][0]:+.3f}, {d['spearman']['ci'][1]:+.3f}] | "
                 f"{_p(d['spearman']['p'], rep['resamples']).lstrip('= ')} | {d['kendall']['estimate']:+.3f} [{d['kendall']['ci'][0]:+.3f}, "
                 f"{d['kendall']['ci'][1]:+.3f}] | {_p(d['kendall']['p'], rep['resamples']).lstrip('= ')} | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--cells", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--table", default=None, help="a copy of the NB201 CSV (default: the one shipped with nb201)")
    p.add_argument("--proxies", default=None, help="comma list of proxies (default: all; madds and params always)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the proxies (the seconds are for this many)")
    p.add_argument("--markdown", action="store_true", help="also print the docs/trust.md table")
    args = p.parse_args(argv)
    if not 1 <= args.threads <= 256:
        print("bench_proxies: error: --threads must be between 1 and 256", file=sys.stderr)
        return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        raw = args.out / "raw.jsonl"
        if not args.report_only:
            run_measurements(args, raw)
        rep = report(read_rows(raw), resamples=args.resamples, seed=args.seed)
        atomic_write_json(args.out / "report.json", rep)
        print_report(rep)
        if args.markdown:
            print(markdown(rep))
    except NasError as exc:
        print(f"bench_proxies: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

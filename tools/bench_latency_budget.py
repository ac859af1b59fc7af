"""Does a latency budget hold when measured? Searches at three budgets x three seeds, each result re-timed after.

1. One table for every run (``nas-profile``'s code, ``--clock`` as given; ``lut.json`` in ``--out``).
2. Budgets at fractions ``--fractions`` of the table's predicted range, from its fastest member to its largest
   (tight, middle, loose).
3. For each budget and seed, ``nas-search --space st_topo --latency B --lut lut.json`` with the tiny recipe and a
   quick supernet (the scores do not matter here, the latency does), as a new user runs it: its final check times
   the ``--verify-k`` best candidates and returns the best one measured within the budget, or no model.
4. Afterwards every returned model and every search's own pick (its first candidate: what a predictor-only search
   returns) are re-timed together, in ``--rounds`` interleaved rounds, and compared with their budget.

Every raw timing lands in ``--out`` (``runs.jsonl``: one line per search with its wall time and check;
``retime.jsonl``: one line per re-timing round of each genotype), and the report recomputes from them; a second
run with the same ``--out`` reuses what is there. Over budget means the median of the re-timing rounds is above
the budget; the rounds' spread is reported beside it.

Usage: python tools/bench_latency_budget.py --out DIR [--resolution 224] [--seeds 0 1 2]
       [--fractions 0.3 0.5 0.7] [--rounds 5] [--clock cpu] [--verify-k 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nas.utils.io import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "recipes" / "search" / "st_topo_tiny.yaml"
QUICK = ["data.train_size=64", "data.val_size=32", "score.val_images=32", "sgld.enabled=false",
         "evolution.population=8", "evolution.generations=3", "evolution.parents=4", "confidence.enabled=false"]
NAMES = ("tight", "middle", "loose")


def _append(path: Path, row: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def table(out: Path, args):
    """Return the shared table, building it first."""
    from nas.latency.table import load_table

    path = out / "lut.json"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "nas.cli.profile", "--space", "st_topo", "--resolution",
                        str(args.resolution), "--out", str(path), "--clock", args.clock], check=True)
    return load_table(path)


def budgets(lut, fractions) -> dict:
    """Return name -> budget (ms) at ``fractions`` of the table's predicted range (fastest to largest member)."""
    import nas
    from nas.latency.budget import fastest
    from nas.latency.table import predict_latency

    space = nas.get_space("st_topo")
    lo = predict_latency(fastest(space, lambda g: predict_latency(g, lut, space)), lut, space)
    hi = predict_latency(space.largest(), lut, space)
    return {name: round(lo + f * (hi - lo), 2) for name, f in zip(NAMES, fractions)}


def search(out: Path, name: str, budget: float, seed: int, args) -> dict:
    """Run one search (as nas-search does) and return its row."""
    run = out / "runs" / f"{name}_s{seed}"
    cmd = [sys.executable, "-m", "nas.cli.search", "--space", "st_topo", "--recipe", str(TINY), "--resolution",
           str(args.resolution), "--lut", str(out / "lut.json"), "--latency", f"{budget}ms", "--seed", str(seed),
           "--verify-k", str(args.verify_k), "--out", str(run), "madds=null", *QUICK]
    start = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.monotonic() - start
    check = json.loads((run / "latency_verify.json").read_text()) if (run / "latency_verify.json").exists() else None
    returned = None
    if res.returncode == 0:
        returned = json.loads((run / "summary.json").read_text())["genotype"]
    elif check is None:
        raise SystemExit(f"search {run.name} failed before its check: {res.stderr.strip()[-300:]}")
    return {"budget": name, "budget_ms": budget, "seed": seed, "rc": res.returncode, "seconds": seconds,
            "check_seconds": check["seconds"], "returned": returned,
            "predictor_pick": check["candidates"][0]["genotype"], "check": check,
            "message": res.stderr.strip().splitlines()[-1][:300] if res.returncode else ""}


def retime(out: Path, rows: list, lut, rounds: int) -> None:
    """Time every returned model and predictor pick in interleaved rounds, appending each to retime.jsonl."""
    import nas
    from nas.latency.api import table_spec, table_target
    from nas.latency.profile import measure_genotype

    import torch

    path = out / "retime.jsonl"
    done = {(r["genotype"], r["round"]) for r in read_jsonl(path)}
    genotypes = sorted({g for r in rows for g in (r["returned"], r["predictor_pick"]) if g})
    spec, target, threads = table_spec(lut), table_target(lut), int(lut.env["threads"])
    for k in range(rounds):
        for g in genotypes:
            if (g, k) in done:
                continue
            t = measure_genotype(nas.load_genotype(g), target, torch.device("cpu"), spec, threads)
            _append(path, {"genotype": g, "round": k, "median_ms": t.median_ms, "reps_ms": list(t.samples_ms)})
        print(f"re-timing round {k + 1}/{rounds} of {len(genotypes)} models done", flush=True)


def report(out: Path) -> dict:
    """Recompute the figures from runs.jsonl and retime.jsonl; print and return them."""
    from nas.utils.stats import wilson_interval

    rows = read_jsonl(out / "runs.jsonl")
    times = {}
    for r in read_jsonl(out / "retime.jsonl"):
        times.setdefault(r["genotype"], []).append(statistics.median(r["reps_ms"]))
    figures = {"runs": [], "n": len(rows)}
    held = picked_held = returned = 0
    for r in rows:
        pick_ms = statistics.median(times[r["predictor_pick"]])
        entry = {"budget": r["budget"], "budget_ms": r["budget_ms"], "seed": r["seed"],
                 "predictor_pick_ms": pick_ms, "predictor_pick_spread_ms": _spread(times[r["predictor_pick"]]),
                 "predictor_pick_within": pick_ms <= r["budget_ms"], "guard_fraction": r["check_seconds"] / r["seconds"],
                 "returned": r["returned"] is not None}
        picked_held += entry["predictor_pick_within"]
        if r["returned"] is not None:
            ms = statistics.median(times[r["returned"]])
            entry.update(returned_ms=ms, returned_spread_ms=_spread(times[r["returned"]]), within=ms <= r["budget_ms"])
            returned += 1
            held += entry["within"]
        figures["runs"].append(entry)
    n = len(rows)
    figures.update(returned=returned, within=held, predictor_within=picked_held,
                   within_ci=list(wilson_interval(held, n)), predictor_within_ci=list(wilson_interval(picked_held, n)),
                   guard_fraction_median=statistics.median(e["guard_fraction"] for e in figures["runs"]),
                   retime_spread_median_ms=statistics.median(_spread(v) for v in times.values()))
    print("| budget | seed | budget ms | guarded: re-timed ms (spread) | within | predictor's pick ms (spread) | within "
          "| guard share of run |")
    print("|---|---|---|---|---|---|---|---|")
    for e in figures["runs"]:
        got = (f"{e['returned_ms']:.2f} ({e['returned_spread_ms']:.2f})", "yes" if e["within"] else "no") \
            if e["returned"] else ("no model (none measured within)", "-")
        print(f"| {e['budget']} | {e['seed']} | {e['budget_ms']:.2f} | {got[0]} | {got[1]} | "
              f"{e['predictor_pick_ms']:.2f} ({e['predictor_pick_spread_ms']:.2f}) | "
              f"{'yes' if e['predictor_pick_within'] else 'no'} | {e['guard_fraction']:.2f} |")
    lo, hi = figures["within_ci"]
    plo, phi = figures["predictor_within_ci"]
    print(f"\nguarded: {held} of {n} runs returned a model within its budget when re-timed ({returned} returned a "
          f"model; 95% CI of the share {lo:.2f}-{hi:.2f}); predictor only: {picked_held} of {n} "
          f"({plo:.2f}-{phi:.2f}). Re-timing spread (max - min of round medians), median "
          f"{figures['retime_spread_median_ms']:.2f} ms; the guard's share of a run's wall time, median "
          f"{figures['guard_fraction_median']:.2f}")
    return figures


def _spread(values) -> float:
    return max(values) - min(values)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--fractions", type=float, nargs=3, default=[0.3, 0.5, 0.7])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--verify-k", type=int, default=5)
    p.add_argument("--clock", default="cpu", choices=("wall", "cpu"))
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lut = table(out, args)
    limits = budgets(lut, args.fractions)
    print(f"budgets: {limits} ({lut.describe()}, {lut.env.get('clock')} clock)", flush=True)
    rows = read_jsonl(out / "runs.jsonl")
    done = {(r["budget"], r["seed"]) for r in rows}
    for name, budget in limits.items():
        for seed in args.seeds:
            if (name, seed) in done:
                continue
            row = search(out, name, budget, seed, args)
            _append(out / "runs.jsonl", row)
            rows.append(row)
            print(f"{name} {budget} ms seed {seed}: rc {row['rc']}, {row['seconds']:.0f} s "
                  f"(check {row['check_seconds']:.0f} s)", flush=True)
    retime(out, rows, lut, args.rounds)
    from nas.utils.io import atomic_write_json

    atomic_write_json(out / "report.json", {"budgets": limits, "clock": lut.env.get("clock"),
                                            "table": lut.describe(), **report(out)})


if __name__ == "__main__":
    main()

"""Recompute a figure stated over seeds as a test, from the raw per-seed metrics the benchmarks keep. Research only.

A figure such as "IoU 0.563 +- 0.011 over 3 seeds, against 0.5: +0.063 [+0.035, +0.091], p = 0.005" is a
one-sided Student t-test over seeds (``nas.utils.stats.t_claim``). This script reads the final epoch of each run
and states one of three claims, so the numbers in the docs recompute from the files beside them:

- ``--goal G``: the metric's mean over seeds is above ``G`` (below it with ``--lower``);
- ``--baseline KEY``: the metric beats the baseline ``KEY`` of the same row (``base_zero_l1``, say), per seed;
- ``--against FILES``: the metric beats another setting's runs of the *same seeds* (paired on the seed).

A run file is a ``metrics.json`` of ``nas-retrain`` (its seed is read from the file name, ``..._seed3.json`` or a
folder ``seed3/``) or a benchmark's ``runs.jsonl`` (rows chosen with ``--name``, each carrying its ``seed``).

Usage: python -m experiments.seed_claims FILE... --metric bin_iou (--goal 0.5 | --baseline KEY | --against FILE...)
       [--name ROW] [--against-name ROW] [--lower] [--json]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from nas.errors import NasError
from nas.utils.stats import Claim, t_claim

__all__ = ["final_rows", "claim", "main"]

_SEED = re.compile(r"seed[_-]?(\d+)")


def _seed_of(path: Path) -> int:
    found = _SEED.findall(str(path))
    if not found:
        raise NasError(f"{str(path)[-120:]}: no seed in its name (seed<N> expected)")
    return int(found[-1])


def final_rows(paths: Sequence[Path], name: Optional[str] = None) -> Dict[int, dict]:
    """Return seed -> the final metric row of each run in ``paths`` (``runs.jsonl`` rows filtered by ``name``)."""
    rows: Dict[int, dict] = {}
    for path in paths:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise NasError(f"{str(path)[-120:]}: cannot read it ({type(exc).__name__})") from None
        where = str(path)[-120:]
        try:
            if where.endswith(".jsonl"):
                found = [json.loads(line) for line in text.splitlines() if line.strip()]
                found = [(int(r["seed"]), r) for r in found if name is None or r.get("name") == name]
            else:
                data = json.loads(text)
                found = [(_seed_of(Path(path)), data["epochs"][-1] if "epochs" in data else data)]
        except ValueError:
            raise NasError(f"{where}: not JSON (a torn or foreign file)") from None
        except (KeyError, IndexError, TypeError):
            raise NasError(f"{where}: not a metrics file (no final epoch row, or a row without its seed)") from None
        for seed, row in found:
            if seed in rows:
                raise NasError(f"seed {seed} appears twice (in {str(path)[-80:]}); name one run per seed")
            rows[seed] = row
    if not rows:
        raise NasError("no runs matched" + (f" --name {name[:60]!r}" if name else ""))
    return rows


def _value(row: dict, key: str, seed: int) -> float:
    if key not in row:
        raise NasError(f"seed {seed}: no {key[:60]!r} in its row (has {', '.join(sorted(row))[:160]})")
    try:
        return float(row[key])
    except (TypeError, ValueError):
        raise NasError(f"seed {seed}: {key[:60]!r} is not a number") from None


def claim(rows: Dict[int, dict], metric: str, *, goal: Optional[float] = None, baseline: Optional[str] = None,
          against: Optional[Dict[int, dict]] = None, lower: bool = False) -> dict:
    """Return the claim as a dict: per-seed values, their mean and sd, and the test (``Claim.as_dict``)."""
    if sum(x is not None for x in (goal, baseline, against)) != 1:
        raise NasError("give exactly one of --goal, --baseline and --against")
    seeds = sorted(rows)
    values = [_value(rows[s], metric, s) for s in seeds]
    sign = -1.0 if lower else 1.0
    if goal is not None:
        ref, what = [goal] * len(seeds), f"{metric} {'<' if lower else '>'} {goal:g}"
    elif baseline is not None:
        ref, what = [_value(rows[s], baseline, s) for s in seeds], f"{metric} beats {baseline}"
    else:
        missing = [s for s in seeds if s not in against]
        if missing:
            raise NasError(f"--against has no run of seed(s) {missing[:8]}; a paired test needs the same seeds")
        ref, what = [_value(against[s], metric, s) for s in seeds], f"{metric} beats the --against runs (paired)"
    gains = [sign * (v - r) for v, r in zip(values, ref)]
    test: Claim = t_claim(gains, n=f"{len(seeds)} seeds")
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {"claim": what, "seeds": seeds, "values": values, "mean": mean, "sd": sd, "reference": ref,
            "gain": test.as_dict(), "text": f"{what}: gain {_text(test)}"}


def _text(c: Claim) -> str:
    """The claim with four significant digits (L1 gains are about 0.0007, which ``str(Claim)`` rounds to 0.001)."""
    return (f"{c.estimate:+.4g} [{c.low:+.4g}, {c.high:+.4g}], one-sided t-test p = {c.p:.3g}, n = {c.n}: "
            f"{'met' if c.shown else 'not shown'}")


def main(argv: List[str] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--metric", required=True)
    ap.add_argument("--name", help="the runs.jsonl rows to read (their 'name')")
    ap.add_argument("--goal", type=float)
    ap.add_argument("--baseline", help="a key of the same row, e.g. base_zero_l1")
    ap.add_argument("--against", nargs="+", type=Path)
    ap.add_argument("--against-name", help="the runs.jsonl rows of --against")
    ap.add_argument("--lower", action="store_true", help="lower is better (L1, loss)")
    ap.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = ap.parse_args(argv)
    try:
        rows = final_rows(args.files, args.name)
        against = final_rows(args.against, args.against_name) if args.against else None
        out = claim(rows, args.metric, goal=args.goal, baseline=args.baseline, against=against, lower=args.lower)
    except NasError as exc:
        print(f"seed_claims: {str(exc)[:300]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{args.metric}: {out['mean']:.4f} +- {out['sd']:.4f} over seeds {out['seeds']}")
        print(out["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

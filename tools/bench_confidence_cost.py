"""What the confidence report costs, as a fraction of the main job, with one supernet and with two.

Runs one ``nas-search`` (the st_topo main job by default) with ``confidence.supernets=2`` and reads the times its
``summary.json`` records: the whole run (``seconds``), the confidence report (``confidence.seconds``) and the
extra supernet inside it (``confidence.supernets.seconds``). The report with one supernet is the report less the
extra supernet, so one run gives both fractions, each against the same run's search (the run less its report):

    python tools/bench_confidence_cost.py --out runs/confidence-cost [--recipe FILE] [key=value ...]
    python tools/bench_confidence_cost.py --out runs/confidence-cost --report   # recompute from timings.jsonl

Each run appends its raw times to ``OUT/timings.jsonl``; the report is recomputed from that file.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List


def run_once(out: Path, recipe: str, overrides: List[str]) -> Dict:
    """Run the search into ``out/run-<n>`` and return its raw times."""
    n = len(list(out.glob("run-*")))
    run = out / f"run-{n}"
    cmd = [sys.executable, "-m", "nas.cli.search", "--space", "st_topo", "--out", str(run),
           "confidence.supernets=2", *(["--recipe", recipe] if recipe else []), *overrides]
    start = time.perf_counter()
    if subprocess.run(cmd).returncode != 0:
        raise SystemExit(f"bench_confidence_cost: the search into {str(run)[:120]} failed (its error is above)")
    wall = time.perf_counter() - start
    summary = json.loads((run / "summary.json").read_text())
    c = summary["confidence"]
    return {"run": run.name, "recipe": recipe or "default", "overrides": overrides, "wall": wall,
            "run_seconds": summary["seconds"], "report_seconds": c["seconds"],
            "extra_supernet_seconds": c["supernets"]["seconds"]}


def report(rows: List[Dict]) -> str:
    """Return one line per run: the report's cost with K = 1 and K = 2 as a fraction of the search."""
    lines = []
    for r in rows:
        search = r["run_seconds"] - r["report_seconds"]
        k1 = r["report_seconds"] - r["extra_supernet_seconds"]
        lines.append(f"{r['run']} ({r['recipe']}): search {search:.0f} s; confidence report K=1 {k1:.0f} s "
                     f"({k1 / search:.1%} of the search), K=2 {r['report_seconds']:.0f} s "
                     f"({r['report_seconds'] / search:.1%})")
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the runs and timings.jsonl")
    p.add_argument("--recipe", default="", help="search recipe (default: the main job's defaults)")
    p.add_argument("--report", action="store_true", help="only recompute the report from timings.jsonl")
    p.add_argument("overrides", nargs="*", help="config overrides key=value")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / "timings.jsonl"
    if not args.report:
        row = run_once(args.out, args.recipe, args.overrides)
        with raw.open("a") as f:
            f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in raw.read_text().splitlines() if line.strip()] if raw.is_file() else []
    print(report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

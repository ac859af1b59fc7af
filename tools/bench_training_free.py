"""How long a training-free st_topo search takes, against the supernet search it replaces, on the same machine.

Each ``--proxies`` name is run as ``nas-search --space st_topo score.scorer=proxy:NAME`` ``--repeats`` times, and
the default search (``score.scorer=supernet``, the reference) ``--reference-repeats`` times in the same
benchmark (0 skips it). Every search is its own process with ``OMP_NUM_THREADS=--threads`` (2 by default, the
2-core machine's count), and its time is what a user waits for: the whole process, from start to exit, with
Python's start and imports. The order interleaves the scorers, so a change in the machine's load falls on all
of them alike.

Each search's raw row (scorer, threads, wall seconds, the seconds its summary.json records, the machine) is
appended to ``OUT/timings.jsonl`` as soon as it ends; a rerun into the same OUT adds rows, and ``--report``
only recomputes the table from that file. Per scorer the report gives the median wall time over its rows with
the same thread count, the goal of the issue (a training-free search under 60 s on 2 cores) and the ratio to the
reference's median in the same file.

    python tools/bench_training_free.py --out runs/training-free [--proxies synflow,naswot,grad_norm,snip,zico]
        [--repeats 3] [--reference-repeats 1] [--threads 2] [--recipe FILE] [key=value ...]
    python tools/bench_training_free.py --out runs/training-free --report
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

from nas.errors import NasError
from nas.utils.io import atomic_write_json, read_jsonl

GOAL_SECONDS = 60.0  # issue 35: a training-free st_topo search returns in under 60 s on 2 cores
RAW = "timings.jsonl"
REFERENCE = "supernet"


def check_out(out: Path) -> None:
    """Refuse an OUT that holds anything but this benchmark's own runs (nothing on disk is overwritten)."""
    if out.exists() and not out.is_dir():
        raise NasError(f"--out {str(out)[:120]} is a file")
    if out.is_dir() and any(out.iterdir()) and not (out / RAW).is_file():
        raise NasError(f"--out {str(out)[:120]} holds other files; use a new folder")


def run_once(out: Path, scorer: str, threads: int, recipe: str, overrides: List[str]) -> Dict:
    """Run one search with ``scorer`` into a new ``OUT/<scorer>-<n>`` and return its raw row."""
    name = scorer.replace(":", "-")
    n = len(list(out.glob(f"{name}-*")))
    run = out / f"{name}-{n}"
    cmd = [sys.executable, "-m", "nas.cli.search", "--space", "st_topo", "--out", str(run),
           *(["--recipe", recipe] if recipe else []), f"score.scorer={scorer}", *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise NasError(f"the search into {str(run)[:120]} failed (its error is above)")
    summary = json.loads((run / "summary.json").read_text())
    return {"scorer": scorer, "run": run.name, "threads": threads, "wall": wall, "run_seconds": summary["seconds"],
            "genotype": summary["genotype"], "recipe": recipe or "default", "overrides": overrides,
            "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def plan(proxies: List[str], repeats: int, reference_repeats: int) -> List[str]:
    """Return the scorers in the order to run them: round by round, each round every scorer once."""
    order = []
    for r in range(max(repeats, reference_repeats)):
        order += [f"proxy:{p}" for p in proxies if r < repeats] + ([REFERENCE] if r < reference_repeats else [])
    return order


def report(rows: List[Dict]) -> List[Dict]:
    """Return one entry per scorer and setting (threads, recipe, overrides): runs, median wall seconds, the goal
    and the ratio to the reference's median in the same setting."""
    groups: Dict[tuple, List[float]] = {}
    for r in rows:
        setting = (r["threads"], r.get("recipe", "default"), tuple(r.get("overrides", [])))
        groups.setdefault((r["scorer"], setting), []).append(r["wall"])
    out = []
    for (scorer, setting), walls in sorted(groups.items()):
        ref = groups.get((REFERENCE, setting))
        median = statistics.median(walls)
        out.append({"scorer": scorer, "threads": setting[0], "recipe": setting[1], "overrides": list(setting[2]),
                    "runs": len(walls), "median_wall": median, "min_wall": min(walls), "max_wall": max(walls),
                    "under_goal": None if scorer == REFERENCE else median < GOAL_SECONDS,
                    "ratio_to_reference": median / statistics.median(ref) if ref else None})
    return out


def format_report(entries: List[Dict]) -> str:
    """Return the report as a markdown table."""
    lines = ["| scorer | threads | runs | median wall s [min, max] | under 60 s | x the supernet search |",
             "|---|---|---|---|---|---|"]
    for e in entries:
        goal = "" if e["under_goal"] is None else ("yes" if e["under_goal"] else "no")
        ratio = "" if e["ratio_to_reference"] is None else f"{e['ratio_to_reference']:.3f}"
        lines.append(f"| {e['scorer']} | {e['threads']} | {e['runs']} | {e['median_wall']:.1f} "
                     f"[{e['min_wall']:.1f}, {e['max_wall']:.1f}] | {goal} | {ratio} |")
    return "\n".join(lines)


def read_rows(raw: Path) -> List[Dict]:
    """Return the raw rows (a line torn by a killed run is left out)."""
    return read_jsonl(raw)


def main(argv: List[str] | None = None) -> int:
    try:
        return run(argv)
    except NasError as exc:
        print(f"bench_training_free: error: {exc}", file=sys.stderr)
        return 2


def run(argv: List[str] | None) -> int:
    """Parse the arguments, run the searches asked for and print the report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the runs and timings.jsonl")
    p.add_argument("--proxies", default="synflow,naswot,grad_norm,snip,zico", help="comma list of proxy names")
    p.add_argument("--repeats", type=int, default=3, help="searches per proxy")
    p.add_argument("--reference-repeats", type=int, default=1, help="default (supernet) searches; 0 skips them")
    p.add_argument("--recipe", default="", help="search recipe (default: the main job's defaults)")
    p.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS of every search")
    p.add_argument("--report", action="store_true", help="only recompute the report from timings.jsonl")
    p.add_argument("overrides", nargs="*", help="config overrides key=value, for every search")
    args = p.parse_args(argv)
    if not (1 <= args.threads <= 256 and 0 <= args.repeats <= 100 and 0 <= args.reference_repeats <= 100):
        raise NasError("--threads 1..256, --repeats and --reference-repeats 0..100")
    proxies = [s.strip() for s in args.proxies.split(",") if s.strip()]
    check_out(args.out)
    raw = args.out / RAW
    if not args.report:
        from nas.config import build_config
        from nas.config.search import SearchConfig
        from nas.proxies import list_proxies

        unknown = [s for s in proxies if s not in list_proxies()]
        if unknown:
            raise NasError(f"unknown proxy {unknown[0][:40]!r}; known: {', '.join(list_proxies())}")
        build_config(SearchConfig, recipe=args.recipe or None, opts=args.overrides)  # bad settings: before any run
        args.out.mkdir(parents=True, exist_ok=True)
        raw.touch()
        for scorer in plan(proxies, args.repeats, args.reference_repeats):
            row = run_once(args.out, scorer, args.threads, args.recipe, args.overrides)
            with raw.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{scorer}: {row['wall']:.1f} s on {args.threads} thread(s)", flush=True)
    rows = read_rows(raw)
    if not rows:
        raise NasError(f"no timings in {str(raw)[:120]}")
    entries = report(rows)
    atomic_write_json(args.out / "report.json", entries)
    print(format_report(entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())

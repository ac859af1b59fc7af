"""``nas-search --trials N`` / budget lists / ``--eval-workers``: the CLI glue around ``nas.distributed``.

Trials are the cross product of the budgets in ``--madds`` (comma-separated, e.g. ``330M,500M``) and N seeds
``seed, seed+1, ..., seed+N-1``; with ``--trials 1`` (or no ``--trials``) and a list, that is one trial per
budget. Each trial is an ordinary run folder ``<out>/trial-<i>-<budget>-s<seed>/``; ``<out>`` also gets
``trials.json`` (what to run, for ``--resume``), Tune's state in ``tune/``, and the ranked ``trials.csv`` and
``summary.json``.
"""
from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from nas.errors import NasError
from nas.utils.io import atomic_write_json, atomic_write_text

__all__ = ["wants_distributed", "run_distributed", "trial_specs", "summarize", "print_table", "SPEC_FILE"]

SPEC_FILE = "trials.json"
CSV_FIELDS = ["rank", "trial", "budget", "seed", "score", "madds", "params", "budget_use", "genotype", "run_dir"]


def _budgets(args) -> List[Optional[str]]:
    if not args.madds:
        return [None]
    items = [b.strip() for b in str(args.madds).split(",") if b.strip()]
    if not items:
        raise NasError(f"--madds {args.madds!r}: give a budget such as 330M or a list such as 330M,500M")
    return items


def wants_distributed(args) -> bool:
    """Return True when the arguments ask for Ray (trials, budget lists, eval workers, a cluster, a trials resume)."""
    if getattr(args, "resume", None):
        return (Path(args.resume) / SPEC_FILE).is_file()
    listed = args.madds is not None and "," in str(args.madds)
    return any([args.trials is not None, listed, (args.eval_workers or 0) > 0, args.dashboard, args.address])


def trial_specs(args, out: Path) -> List[Dict[str, Any]]:
    """Return one spec (name, run folder, resolved config) per budget x seed."""
    from nas.config import to_dict
    from nas.search.st_config import resolve_config
    from nas.search.st_runner import StTopoSearch

    if args.space != "st_topo":
        raise NasError(f"--trials supports the st_topo space, not {args.space}")
    n = 1 if args.trials is None else args.trials
    if n < 1:
        raise NasError(f"--trials must be at least 1, got {n}")
    base = copy.copy(args)
    base.resume, base.madds = None, None
    specs = []
    for budget in _budgets(args):
        for k in range(n):
            a = copy.copy(base)
            a.madds, a.out = budget, str(out / "_")
            cfg, _ = resolve_config(a)
            cfg = _with_seed(cfg, cfg.seed + k)
            name = f"trial-{len(specs):03d}-{cfg.madds}-s{cfg.seed}"
            StTopoSearch(cfg, out / name)  # an infeasible budget fails here, before Ray starts
            specs.append({"name": name, "run_dir": str((out / name).resolve()), "budget": cfg.madds,
                          "seed": cfg.seed, "cfg": to_dict(cfg)})
    return specs


def _with_seed(cfg, seed: int):
    import dataclasses

    return dataclasses.replace(cfg, seed=seed)


def _options(args) -> Dict[str, Any]:
    cpus = 1 if args.cpus_per_trial is None else args.cpus_per_trial
    gpus = 0 if args.gpus_per_trial is None else args.gpus_per_trial
    if cpus <= 0 or gpus < 0 or args.max_failures < 0 or (args.eval_workers or 0) < 0:
        raise NasError("--cpus-per-trial must be > 0; --gpus-per-trial, --max-failures and --eval-workers >= 0")
    return {"cpus_per_trial": cpus, "gpus_per_trial": gpus, "max_failures": args.max_failures,
            "eval_workers": args.eval_workers or 0}


def _check_resources(info, opts: Dict[str, Any]) -> None:
    if opts["gpus_per_trial"] > info.gpus:
        raise NasError(f"--gpus-per-trial {opts['gpus_per_trial']} but the cluster has {info.gpus:g} GPUs")
    need = opts["cpus_per_trial"] + opts["eval_workers"]
    if need > info.cpus:
        raise NasError(f"a trial needs {need:g} CPUs (--cpus-per-trial plus one per --eval-workers) but the "
                       f"cluster has {info.cpus:g}")


def run_distributed(args) -> int:
    """Run trials on Ray Tune (or one search with Ray eval workers); print and write the ranking."""
    from nas.distributed.cluster import ray_cluster

    if args.resume:
        out = Path(args.resume)
        saved = json.loads((out / SPEC_FILE).read_text())
        specs, opts = saved["trials"], saved["options"]
    else:
        if args.trials is None and "," not in str(args.madds or "") and (args.eval_workers or 0) > 0:
            return _single_with_eval_workers(args)
        out = Path(args.out) if args.out else _default_out()
        if (out / SPEC_FILE).exists():
            raise NasError(f"{out} already holds trials; use --resume {out} or another --out")
        opts = _options(args)
        specs = trial_specs(args, out)
    with ray_cluster(address=args.address, dashboard=args.dashboard) as info:
        _check_resources(info, opts)
        if not args.resume:
            atomic_write_json(out / SPEC_FILE, {"trials": specs, "options": opts})
        _fit(specs, out, opts, resume=bool(args.resume))
    rows = summarize(out, specs)
    print_table(rows)
    return 0


def _fit(specs, out: Path, opts: Dict[str, Any], resume: bool) -> None:
    from nas.distributed.tune import run_experiment

    results = run_experiment(specs, out, resume=resume, **opts)
    errors = [_error_line(e) for e in results.errors]
    if errors:
        summarize(out, specs, errors=errors)
        raise NasError(f"{len(errors)} of {len(specs)} trials failed (first: {errors[0][:200]}); "
                       f"fix the cause and continue with nas-search --resume {out}")


def _error_line(exc: BaseException) -> str:
    """Return the root-cause line of a trial error (Ray wraps it in a remote traceback)."""
    import re

    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    causes = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b.*:", ln)]
    return (causes[-1] if causes else lines[-1] if lines else type(exc).__name__)[:300]


def _single_with_eval_workers(args) -> int:
    """One ordinary search whose candidate scoring runs on ``--eval-workers`` Ray tasks."""
    from nas.distributed.cluster import ray_cluster
    from nas.distributed.executor import RayExecutor, ShardedScorer
    from nas.search.st_config import resolve_config
    from nas.search.st_runner import StTopoSearch

    import torch

    cfg, out = resolve_config(args)
    with ray_cluster(address=args.address, dashboard=args.dashboard) as info:
        # Leave the eval workers their cores: oversubscribed OpenMP threads spin and slow every step down.
        torch.set_num_threads(max(1, int(info.cpus) - args.eval_workers))
        executor = RayExecutor(args.eval_workers, cpus=1)
        best = StTopoSearch(cfg, out, score_fn=ShardedScorer(executor)).run()
    print(f"best genotype: {best}")
    print(f"run folder: {out}")
    return 0


def _default_out() -> Path:
    import time

    return Path("runs") / time.strftime("trials-%Y%m%d-%H%M%S")


def summarize(out: Path, specs: List[Dict[str, Any]], errors: Any = None) -> List[Dict[str, Any]]:
    """Rank the finished trials by score; write ``trials.csv`` and ``summary.json`` under ``out``."""
    rows = []
    for spec in specs:
        path = Path(spec["run_dir"]) / "summary.json"
        if not path.is_file():
            continue
        s = json.loads(path.read_text())
        rows.append({"trial": spec["name"], "budget": spec["budget"], "seed": spec["seed"], "score": s["score"],
                     "madds": s["madds"], "params": s["params"], "budget_use": s["budget_use"],
                     "genotype": s["genotype"], "run_dir": spec["run_dir"]})
    rows.sort(key=lambda r: (-r["score"], r["madds"], r["trial"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    _write_csv(out / "trials.csv", rows)
    failed = errors if isinstance(errors, list) else []
    atomic_write_json(out / "summary.json", {"trials": rows, "best": rows[0] if rows else None,
                                             "finished": len(rows), "total": len(specs), "errors": failed})
    return rows


def _write_csv(path: Path, rows: List[Dict[str, Any]]) -> None:
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    w.writeheader()
    w.writerows([{k: r[k] for k in CSV_FIELDS} for r in rows])
    atomic_write_text(path, buf.getvalue())


def print_table(rows: List[Dict[str, Any]]) -> None:
    """Print the ranking: rank, trial, budget, seed, score, MAdds and the start of the genotype."""
    print(f"{'rank':>4}  {'trial':<24} {'budget':>7} {'seed':>4} {'score':>7} {'MAdds':>8}  genotype")
    for r in rows:
        g = r["genotype"] if len(r["genotype"]) <= 60 else r["genotype"][:57] + "..."
        print(f"{r['rank']:>4}  {r['trial']:<24} {r['budget']:>7} {r['seed']:>4} {r['score']:>7.4f} "
              f"{r['madds'] / 1e6:>7.1f}M  {g}")
    if rows:
        print(f"best: {rows[0]['genotype']}  ({rows[0]['run_dir']})")

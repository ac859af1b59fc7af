"""``nas-search --trials N`` / budget lists / ``--eval-workers``: search runs on Ray, from a typed config.

Trials are the cross product of the budgets (``--madds 330M,500M``) and N seeds ``seed, seed+1, ...,
seed+N-1``; with ``--trials 1`` (or no ``--trials``) and a list, that is one trial per budget. Each trial's
config is the command's config with ``dataclasses.replace`` (budget, seed), and each trial is an ordinary run
folder ``<out>/trial-<i>-<budget>-s<seed>/``; ``<out>`` also gets ``trials.json`` (what to run, for
``--resume``), Tune's state in ``tune/``, and the ranked ``trials.csv`` and ``summary.json``.
"""
from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from nas.errors import NasError
from nas.utils.io import atomic_write_json, atomic_write_text

__all__ = ["TrialOptions", "ClusterOptions", "check_trial_device", "budget_label", "trial_specs", "run_trials", "resume_trials",
           "run_with_eval_workers", "summarize", "print_table", "SPEC_FILE"]

SPEC_FILE = "trials.json"
CSV_FIELDS = ["rank", "trial", "budget", "seed", "score", "spread", "madds", "params", "budget_use", "genotype", "run_dir"]


@dataclass(frozen=True)
class TrialOptions:
    """How trials are run (stored in trials.json, so a resumed experiment runs the same way)."""

    trials: int = 1  # seeds per budget
    cpus_per_trial: float = 1  # CPUs each trial holds
    gpus_per_trial: float = 0.0  # GPUs each trial holds (a fraction shares one GPU among trials)
    max_failures: int = 1  # retries of a trial whose process dies
    eval_workers: int = 0  # Ray tasks each trial scores candidates on

    def validate(self) -> None:
        """Raise a one-line error on an impossible setting."""
        if self.trials < 1:
            raise NasError(f"--trials must be at least 1, got {self.trials}")
        if self.cpus_per_trial <= 0 or self.gpus_per_trial < 0 or self.max_failures < 0 or self.eval_workers < 0:
            raise NasError("--cpus-per-trial must be > 0; --gpus-per-trial, --max-failures and --eval-workers >= 0")


@dataclass(frozen=True)
class ClusterOptions:
    """Where Ray runs (execution only: allowed with --resume)."""

    address: Optional[str] = None  # join this cluster; None = start a local one
    dashboard: bool = False  # start the dashboard on 127.0.0.1
    device: str = "auto"  # what each trial passes to resolve_device


def budget_label(madds: int) -> str:
    """Return a short budget name for folder names and tables: ``330M``, ``1.5G``."""
    for div, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "K")):
        if madds >= div:
            return f"{madds / div:g}{suffix}"
    return str(madds)


def trial_specs(cfg, out: Path, budgets: Sequence[int], trials: int) -> List[Dict[str, Any]]:
    """Return one spec (name, run folder, resolved config) per budget x seed; infeasible budgets fail here."""
    from nas.config import config_dict
    from nas.config.limits import check_limit
    from nas.search.run import SearchRun

    specs = []
    for budget in budgets:
        for k in range(trials):
            check_limit("seed", cfg.seed + k)  # the trials' seeds seed, seed + 1, ... stay in range too
            trial = dataclasses.replace(cfg, madds=budget, seed=cfg.seed + k)
            label = budget_label(budget) if budget is not None else "none"
            name = f"trial-{len(specs):03d}-{label}-s{trial.seed}"
            SearchRun(trial, out / name).check()  # an infeasible budget or a misfit strategy fails here, before Ray
            specs.append({"name": name, "run_dir": str((out / name).resolve()), "budget": label,
                          "seed": trial.seed, "cfg": config_dict(trial)})
    return specs


def check_trial_device(device: str, gpus_per_trial: float, address: Optional[str]) -> None:
    """Refuse, before Ray starts, a trial device the trials cannot have (one-line errors)."""
    from nas.utils.device import trial_device

    trial_device(device, [0] if gpus_per_trial > 0 else [])  # cuda:N, or cuda without GPUs per trial
    if gpus_per_trial > 0 and not address:  # a local cluster gets this machine's GPUs
        import torch

        have = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if gpus_per_trial > have:
            raise NasError(f"--gpus-per-trial {gpus_per_trial:g} but the cluster has {have} GPUs (a local cluster "
                           f"gets this machine's)")


def _check_resources(info, opts: Dict[str, Any]) -> None:
    if opts["gpus_per_trial"] > info.gpus:
        raise NasError(f"--gpus-per-trial {opts['gpus_per_trial']:g} but the cluster has {info.gpus:g} GPUs")
    need = opts["cpus_per_trial"] + opts["eval_workers"]
    if need > info.cpus:
        raise NasError(f"a trial needs {need:g} CPUs (--cpus-per-trial plus one per --eval-workers) but the "
                       f"cluster has {info.cpus:g}")


def run_trials(cfg, out: Path, budgets: Sequence[int], opts: TrialOptions, cluster: ClusterOptions) -> int:
    """Run the trials of ``cfg`` x budgets x seeds on Ray Tune; print and write the ranking."""
    opts.validate()
    check_trial_device(cluster.device, opts.gpus_per_trial, cluster.address)
    out = Path(out)
    if (out / SPEC_FILE).exists():
        raise NasError(f"{out} already holds trials; use --resume {out} or another --out")
    specs = trial_specs(cfg, out, budgets, opts.trials)
    saved = {k: v for k, v in dataclasses.asdict(opts).items() if k != "trials"}
    return _launch(specs, out, saved, cluster, resume=False)


def resume_trials(out: Path, cluster: ClusterOptions) -> int:
    """Continue an interrupted trials experiment without redoing finished trials."""
    from nas.utils.run import RunFolder

    out = Path(out)
    from nas.utils.readers import read_json

    saved = read_json(out / SPEC_FILE, "trials spec")
    if not isinstance(saved, dict) or "trials" not in saved or "options" not in saved:
        raise NasError(f"--resume {str(out)[:120]}: {SPEC_FILE} is not a trials spec written by nas")
    RunFolder(out, "trials").record_resume()
    return _launch(saved["trials"], out, saved["options"], cluster, resume=True)


def _launch(specs, out: Path, opts: Dict[str, Any], cluster: ClusterOptions, resume: bool) -> int:
    from nas.distributed.cluster import ray_cluster, run_job_name
    from nas.utils.run import RunFolder

    name = run_job_name("nas-search", out)
    with ray_cluster(address=cluster.address, dashboard=cluster.dashboard, job_name=name) as info:
        _check_resources(info, opts)
        if not resume:
            out.mkdir(parents=True, exist_ok=True)
            RunFolder(out, "trials").write_meta(seed=specs[0]["seed"] if specs else 0, trials=len(specs))
            atomic_write_json(out / SPEC_FILE, {"trials": specs, "options": opts})
        _fit(specs, out, opts, cluster.device, resume=resume)
    rows = summarize(out, specs)
    print_table(rows)
    return 0


def _fit(specs, out: Path, opts: Dict[str, Any], device: str, resume: bool) -> None:
    from nas.distributed.tune import EXPERIMENT, run_experiment

    _check_errors(run_experiment(specs, out, resume=resume, device=device, **opts), specs, out)
    # Tune can end a restored trial early with no error (seen once with Ray 2.x after an actor was killed): a trial
    # that left no summary.json did not finish, whatever Tune's state says. Such trials run once more, in a fresh
    # experiment of their own, where their run folders' checkpoints carry them on from where they stopped.
    unfinished = _unfinished(specs)
    if unfinished:
        retry = f"{EXPERIMENT}-retry-{sum(1 for p in out.glob(EXPERIMENT + '-retry-*')) + 1}"
        print(f"{len(unfinished)} trial(s) ended without a result (first: {unfinished[0]['name'][:80]}); "
              f"running them again as {retry}", flush=True)
        _check_errors(run_experiment(unfinished, out, resume=False, device=device, name=retry, **opts), specs, out)
        unfinished = _unfinished(specs)
    if unfinished:
        summarize(out, specs, errors=[f"{spec['name']}: ended without a result" for spec in unfinished])
        raise NasError(f"{len(unfinished)} of {len(specs)} trials ended without a result (first: "
                       f"{unfinished[0]['name'][:80]}); continue with nas-search --resume {out}")


def _unfinished(specs) -> List[Dict[str, Any]]:
    """Return the specs whose run folder holds no summary.json."""
    return [spec for spec in specs if not (Path(spec["run_dir"]) / "summary.json").is_file()]


def _check_errors(results, specs, out: Path) -> None:
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


def run_with_eval_workers(cfg, out: Path, device, eval_workers: int, cluster: ClusterOptions,
                          resume: bool) -> Tuple[Any, Any]:
    """Run one ordinary search whose candidate scoring runs on ``eval_workers`` Ray tasks; return (run, genotype)."""
    import torch

    from nas.distributed.cluster import ray_cluster, run_job_name
    from nas.distributed.executor import RayExecutor, ShardedScorer
    from nas.search.run import SearchRun

    if eval_workers < 0:
        raise NasError(f"--eval-workers must be >= 0, got {eval_workers}")
    name = run_job_name("nas-search", out)
    with ray_cluster(address=cluster.address, dashboard=cluster.dashboard, job_name=name) as info:
        # Leave the eval workers their cores: oversubscribed OpenMP threads spin and slow every step down.
        torch.set_num_threads(max(1, int(info.cpus) - eval_workers))
        # On a GPU run the eval tasks share the cluster's GPUs (a fraction each when there are fewer GPUs).
        gpus = min(1.0, info.gpus / eval_workers) if device.type == "cuda" and info.gpus > 0 else 0.0
        scorer = ShardedScorer(RayExecutor(eval_workers, cpus=1, gpus=gpus), amp=cfg.execution.amp)
        run = SearchRun(cfg, out, device, score_fn=scorer)
        return run, run.run(resume=resume)


def _spread(s: Dict[str, Any]) -> Optional[float]:
    """Return the returned genotype's score spread over weight snapshots, when its run recorded one."""
    for row in s.get("top5") or []:
        if row.get("genotype") == s["genotype"] and "spread" in row:
            return float(row["spread"])
    return None


def summarize(out: Path, specs: List[Dict[str, Any]], errors: Any = None) -> List[Dict[str, Any]]:
    """Rank the finished trials within each budget; write ``trials.csv`` and ``summary.json`` under ``out``.

    Proxy scores of different budgets (and of different supernets) are not comparable, so there is no
    overall best: each budget has its own ranking and its own best trial.
    """
    from nas.utils.readers import read_json

    rows = []
    for spec in specs:
        path = Path(spec["run_dir"]) / "summary.json"
        if not path.is_file():
            continue
        s = read_json(path, "trial summary")
        rows.append({"trial": spec["name"], "budget": spec["budget"], "seed": spec["seed"], "score": s["score"],
                     "spread": _spread(s), "madds": s["madds"], "params": s["params"],
                     "budget_use": s.get("budget_use"), "genotype": s["genotype"], "run_dir": spec["run_dir"],
                     **{k: s[k] for k in ("queries", "test") if k in s}})  # a tabular search's ground truth
    order = {b: i for i, b in enumerate(dict.fromkeys(spec["budget"] for spec in specs))}
    rows.sort(key=lambda r: (order[r["budget"]], -r["score"], r["madds"], r["trial"]))
    best: Dict[str, Any] = {}
    seen: Dict[Any, int] = {}
    for r in rows:
        seen[r["budget"]] = r["rank"] = seen.get(r["budget"], 0) + 1
        best.setdefault(str(r["budget"]), r)
    _write_csv(out / "trials.csv", rows)
    failed = errors if isinstance(errors, list) else []
    atomic_write_json(out / "summary.json", {"trials": rows, "best_per_budget": best, "finished": len(rows),
                                             "total": len(specs), "errors": failed})
    return rows


def _write_csv(path: Path, rows: List[Dict[str, Any]]) -> None:
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    w.writeheader()
    w.writerows([{k: r[k] for k in CSV_FIELDS} for r in rows])
    atomic_write_text(path, buf.getvalue())


def print_table(rows: List[Dict[str, Any]]) -> None:
    """Print the ranking within each budget: rank, trial, seed, score ± spread, MAdds, the genotype's start."""
    for budget in dict.fromkeys(r["budget"] for r in rows):
        group = [r for r in rows if r["budget"] == budget]
        print(f"budget {budget}: {len(group)} trial(s), ranked by proxy score (comparable within this budget only)")
        print(f"{'rank':>4}  {'trial':<24} {'seed':>4} {'score':>7} {'± spread':>8} {'MAdds':>8}  genotype")
        for r in group:
            g = r["genotype"] if len(r["genotype"]) <= 60 else r["genotype"][:57] + "..."
            spread = f"{r['spread']:.4f}" if r.get("spread") is not None else "-"
            print(f"{r['rank']:>4}  {r['trial']:<24} {r['seed']:>4} {r['score']:>7.4f} {spread:>8} "
                  f"{r['madds'] / 1e6:>7.1f}M  {g}")
        print(f"best at {budget}: {group[0]['genotype']}  ({group[0]['run_dir']})")

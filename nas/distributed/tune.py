"""Search trials on Ray Tune: one ordinary search run folder per trial, live metrics, retries from checkpoints.

Each trial runs :class:`nas.search.run.SearchRun` in its own folder. Every supernet epoch, SGLD snapshot and
search round is sent with ``tune.report`` together with a small Tune checkpoint that names the run folder; a
retried trial (its process died) finds that checkpoint and the run's own atomic checkpoints let
``SearchRun.run()`` continue where it stopped.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

__all__ = ["search_trial", "run_experiment", "trial_name", "trial_metrics", "gpu_shares", "EXPERIMENT"]

EXPERIMENT = "tune"  # Tune's experiment folder under --out (holds the state that --resume restores)


def trial_name(trial) -> str:
    """Name a Tune trial (and its Tune folder) after its run folder."""
    return trial.config["spec"]["name"]


def _log_attempt(run_dir: Path, restored: bool, had_checkpoint: bool) -> None:
    """Record this attempt's process and Ray node, so tools and tests can find (and kill) the trial worker."""
    import ray

    line = {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(), "restored": restored,
            "had_run_checkpoint": had_checkpoint, "time": time.time()}
    with open(run_dir / "attempts.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")
    (run_dir / "pid").write_text(str(os.getpid()))


def trial_metrics(spec: Dict[str, Any], metrics: Dict[str, Any]) -> Dict[str, Any]:
    """Return a report with the trial's budget and seed, and a search round's ``generation`` and ``best_score``.

    These are the columns the dashboard and Tune's status table show beside the phase, so that one trial
    among many can be told apart and followed.
    """
    out = {"budget": str(spec.get("budget")), "seed": spec.get("seed"), **metrics}
    if metrics.get("phase") == "search":
        out.update(generation=metrics.get("round"), best_score=metrics.get("score"))
    return out


def _reporter(run_dir: Path, spec: Dict[str, Any]):
    from ray import tune

    def report(metrics: Dict[str, Any]) -> None:
        row = trial_metrics(spec, metrics)
        with tempfile.TemporaryDirectory(prefix="nas-ckpt-") as d:
            Path(d, "run.json").write_text(json.dumps({"run_dir": str(run_dir), **row}))
            tune.report(row, checkpoint=tune.Checkpoint.from_directory(d))

    return report


def search_trial(config: Dict[str, Any]) -> None:
    """Run (or continue) one search in ``config['spec']['run_dir']``; the Tune trainable."""
    import ray
    import torch
    from ray import tune

    from nas.distributed.cluster import check_shared, quiet_ray_logs
    from nas.distributed.executor import RayExecutor, ShardedScorer
    from nas.config.search import load_search_config
    from nas.errors import use_plain_warnings
    from nas.search.run import SearchRun
    from nas.utils.device import resolve_device, trial_device

    use_plain_warnings("nas-search trial")
    quiet_ray_logs()
    if config["spec"].get("driver"):  # experiments started before this check have no such key
        check_shared(config["spec"]["driver"])
    torch.set_num_threads(max(1, int(config["threads"])))  # one thread per CPU the trial holds
    spec = config["spec"]
    run_dir = Path(spec["run_dir"])
    cfg = load_search_config(spec["cfg"])
    report = _reporter(run_dir, spec)
    # The trial's own GPU (Ray sets CUDA_VISIBLE_DEVICES to it), or the CPU when it holds none.
    device = resolve_device(trial_device(config.get("device", "auto"), ray.get_gpu_ids()), log=None)
    scorer = None
    if config.get("eval_workers", 0) > 0:  # the eval tasks run in the trial's placement group, on its GPU share
        gpus = config.get("eval_gpus", 0.0) if device.type == "cuda" else 0.0
        scorer = ShardedScorer(RayExecutor(config["eval_workers"], cpus=1, gpus=gpus), amp=cfg.execution.amp)
    run = SearchRun(cfg, run_dir, device, on_report=report, score_fn=scorer)
    had_checkpoint = (run_dir / "checkpoint.pt").is_file()
    run.open()  # a new run folder, or the one a killed attempt left
    _log_attempt(run_dir, restored=tune.get_checkpoint() is not None, had_checkpoint=had_checkpoint)
    run.run()
    s = json.loads((run_dir / "summary.json").read_text())
    report({"phase": "done", "score": s["score"], "madds": s["madds"], "params": s["params"]})


def _tuner_kwargs(out: Path, max_failures: int, verbose: int, name: str = EXPERIMENT) -> Dict[str, Any]:
    from ray import tune

    run = tune.RunConfig(name=name, storage_path=str(out.resolve()), verbose=verbose,
                         failure_config=tune.FailureConfig(max_failures=max_failures),
                         checkpoint_config=tune.CheckpointConfig(num_to_keep=1))
    return {"run_config": run,
            "tune_config": tune.TuneConfig(trial_name_creator=trial_name, trial_dirname_creator=trial_name)}


def _named_trainable():
    """Return the Tune trainable class of ``search_trial`` whose actors are named after their trials.

    Ray's dashboard shows an actor by its ``repr``; a function trainable's is the function's name, so every
    trial would read ``search_trial``. This one answers ``trial-000-330M-s0``.
    """
    from ray.tune.trainable.function_trainable import wrap_function

    class SearchTrial(wrap_function(search_trial)):
        def __repr__(self) -> str:
            info = getattr(self, "_trial_info", None)
            return info.trial_name if info is not None and info.trial_name else super().__repr__()

    return SearchTrial


def gpu_shares(gpus_per_trial: float, eval_workers: int) -> Tuple[float, float]:
    """Return ``(the trial's GPUs, each eval task's GPUs)``: the trial's share split among its processes.

    The trial trains and its eval tasks score, one after the other, on the same GPU(s), so the share is split
    evenly between the trial and its ``eval_workers`` tasks (whole GPUs each once a share exceeds one, as Ray
    wants); the parts add up to ``gpus_per_trial``.

    Example:
        >>> gpu_shares(1, 3), gpu_shares(4, 1), gpu_shares(0.5, 0)
        ((0.25, 0.25), (2.0, 2.0), (0.5, 0.0))
    """
    if eval_workers <= 0 or gpus_per_trial <= 0:
        return float(gpus_per_trial), 0.0
    each = gpus_per_trial / (eval_workers + 1)
    if each > 1:
        each = float(math.floor(each))
    return gpus_per_trial - eval_workers * each, each


def trainable(cpus_per_trial: float, gpus_per_trial: float, eval_workers: int = 0):
    """Return the search trainable with its per-trial resources (plus one CPU and a GPU share per eval task)."""
    from ray import tune

    fn = _named_trainable()
    if eval_workers <= 0:
        return tune.with_resources(fn, {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
    # The eval tasks a trial launches run inside its placement group, so reserve their resources with the trial.
    trial, each = gpu_shares(gpus_per_trial, eval_workers)
    bundles = [{"CPU": cpus_per_trial, "GPU": trial}] + [{"CPU": 1, "GPU": each}] * eval_workers
    return tune.with_resources(fn, tune.PlacementGroupFactory(bundles))


def run_experiment(specs: List[Dict[str, Any]], out: Path, *, cpus_per_trial: float = 1, gpus_per_trial: float = 0,
                   max_failures: int = 1, eval_workers: int = 0, resume: bool = False, verbose: int = 1,
                   device: str = "auto", name: str = EXPERIMENT):
    """Run the trials in ``specs`` (or restore the experiment ``out/name``); return Tune's ResultGrid.

    Always check ``results.errors``: ``Tuner.fit()`` returns normally even when every trial failed.
    """
    from ray import tune

    from nas.distributed.cluster import mark_driver, ray_env

    ray_env()
    out = Path(out).resolve()
    fn = trainable(cpus_per_trial, gpus_per_trial, eval_workers)
    state = out / name
    driver = mark_driver(state)  # each trial first checks that its node sees it: --out must be shared storage
    specs = [{**spec, "driver": driver} for spec in specs]
    if resume and tune.Tuner.can_restore(str(state)):
        tuner = tune.Tuner.restore(str(state), trainable=fn, restart_errored=True, resume_unfinished=True)
    else:
        space = {"spec": tune.grid_search(specs), "threads": max(1, int(cpus_per_trial)),
                 "eval_workers": eval_workers, "eval_gpus": gpu_shares(gpus_per_trial, eval_workers)[1],
                 "device": device}
        tuner = tune.Tuner(fn, param_space=space, **_tuner_kwargs(out, max_failures, verbose, name))
    return tuner.fit()

"""Search trials on Ray Tune: one ordinary search run folder per trial, live metrics, retries from checkpoints.

Each trial runs :class:`nas.search.run.SearchRun` in its own folder. Every supernet epoch, SGLD snapshot and
search round is sent with ``tune.report`` together with a small Tune checkpoint that names the run folder; a
retried trial (its process died) finds that checkpoint and the run's own atomic checkpoints let
``SearchRun.run()`` continue where it stopped.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

__all__ = ["search_trial", "run_experiment", "trial_name", "trial_metrics", "EXPERIMENT"]

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
    from nas.search.run import SearchRun
    from nas.utils.device import resolve_device, trial_device

    quiet_ray_logs()
    if config["spec"].get("driver"):  # experiments started before this check have no such key
        check_shared(config["spec"]["driver"])
    torch.set_num_threads(max(1, int(config["threads"])))  # one thread per CPU the trial holds
    spec = config["spec"]
    run_dir = Path(spec["run_dir"])
    cfg = load_search_config(spec["cfg"])
    scorer = None
    if config.get("eval_workers", 0) > 0:  # the eval tasks run in the trial's placement group, on CPUs
        scorer = ShardedScorer(RayExecutor(config["eval_workers"], cpus=1), amp=cfg.execution.amp)
    report = _reporter(run_dir, spec)
    # The trial's own GPU (Ray sets CUDA_VISIBLE_DEVICES to it), or the CPU when it holds none.
    device = resolve_device(trial_device(config.get("device", "auto"), ray.get_gpu_ids()), log=None)
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


def trainable(cpus_per_trial: float, gpus_per_trial: float, eval_workers: int = 0):
    """Return the search trainable with its per-trial resources (plus one CPU per eval worker task)."""
    from ray import tune

    fn = _named_trainable()
    if eval_workers <= 0:
        return tune.with_resources(fn, {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
    # The eval tasks a trial launches run inside its placement group, so reserve their CPUs with the trial.
    bundles = [{"CPU": cpus_per_trial, "GPU": gpus_per_trial}] + [{"CPU": 1}] * eval_workers
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
                 "eval_workers": eval_workers, "device": device}
        tuner = tune.Tuner(fn, param_space=space, **_tuner_kwargs(out, max_failures, verbose, name))
    return tuner.fit()

"""Retrain a derived architecture in this process: the run folder, the trainer, resume and checkpoint evaluation."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from nas.spaces import load_genotype, save_genotype
from nas.config import dump_config, from_dict
from nas.config.retrain import RetrainConfig
from nas.data.collate import warn_skipped
from nas.errors import NasError
from nas.tasks import resolve_task
from nas.train import checkpoint as ck
from nas.train.backends import LocalBackend, make_loader
from nas.train.builders import optimizer_kwargs, step_options
from nas.train.loop import evaluate
from nas.train.trainer import Trainer, build_model
from nas.utils.run import RunFolder

__all__ = ["retrain", "evaluate_checkpoint", "run_config", "open_run", "write_start", "prepare", "optimizer_kwargs",
           "step_options"]

Log = Callable[[str], None]


def prepare(cfg: RetrainConfig, genotype: Any):
    """Return ``(genotype, task)`` after checking that the task and every config value fit the genotype."""
    g = load_genotype(genotype)
    task = resolve_task(cfg.task, g)
    task.check(cfg, g)
    return g, task


def open_run(out: Path, resume: bool, **meta: Any) -> RunFolder:
    """Reopen ``out`` to resume (appending a resume record to meta.json), or create it as a new retrain run."""
    if not resume:
        return RunFolder.create(out, "retrain")
    run = RunFolder.reopen(out, "retrain", needs=("last.pt",))
    run.record_resume(**meta)
    return run


def write_start(run: RunFolder, cfg: RetrainConfig, g: Any, task: Any, **meta: Any) -> None:
    """Write a new run's resolved config, genotype and meta.json (seed, task, init, versions, ...)."""
    dump_config(cfg, run.path / "config.yaml")
    save_genotype(g, run.path / "genotype.yaml")
    run.write_meta(cfg.seed, task=task.name, init=cfg.init, **meta)


def init_hook(cfg: RetrainConfig, g: Any, log: Log) -> Callable:
    """Return the trainer's ``init`` callable for ``cfg.init`` (it prints which weights it used)."""
    from nas.train.weights import apply_init

    def hook(model) -> str:
        note = apply_init(model, cfg.init, g, cfg)
        log(f"init: {note}")
        return note

    return hook


def retrain(cfg: RetrainConfig, genotype: Any, out_dir: Any, resume: bool = False, log: Log = print,
            device: Optional[torch.device] = None) -> Dict:
    """Train ``genotype`` per ``cfg`` into ``out_dir`` on ``device`` (default CPU); return the last epoch's row.

    With ``resume=True`` the run continues from ``out_dir/last.pt`` at the same schedule position; with the
    same seed on CPU it ends with the same metrics as an uninterrupted run.
    """
    g, task = prepare(cfg, genotype)
    device = device if device is not None else torch.device("cpu")
    out = Path(out_dir)
    run = open_run(out, resume, device=str(device))
    t = Trainer(task, cfg, g, out, device, LocalBackend(device), log, init=None if resume else init_hook(cfg, g, log))
    if resume:
        t.restore(ck.load_checkpoint(out / "last.pt"), out / "last.pt")
        t.write_metrics()
        log(f"resuming {out} at epoch {t.epoch + 1}/{cfg.epochs} (step {t.step})")
    else:
        write_start(run, cfg, g, task, device=str(device))
    log(f"retraining {g.space} model ({sum(p.numel() for p in t.model.parameters()):,} params, "
        f"{t.num_classes} classes, task {task.name}) on {device} for {cfg.epochs} epochs x {t.steps_per_epoch} "
        f"steps -> {out}")
    return t.fit(resume)


def run_config(run_dir: Path) -> Tuple[RetrainConfig, str, int]:
    """Return the config, genotype string and DDP worker count (1: one process) of ``run_dir/last.pt``."""
    run_dir = Path(run_dir)
    RunFolder.check(run_dir, "retrain", needs=("last.pt",))
    ckpt = ck.load_checkpoint(run_dir / "last.pt")
    workers = ckpt.get("workers", 1)
    return from_dict(RetrainConfig, ckpt["config"]), ckpt["genotype"], workers if isinstance(workers, int) else 1


def evaluate_checkpoint(path: Any, cfg: Optional[RetrainConfig] = None, genotype: Any = None, log: Log = print,
                        device: Optional[torch.device] = None) -> Dict[str, float]:
    """Evaluate a checkpoint (and its EMA) on the validation set of ``cfg`` (default: the one it was trained with)."""
    path = Path(path)
    ckpt = ck.load_checkpoint(path)
    g = load_genotype(genotype if genotype is not None else ckpt["genotype"])
    ck.check_architecture(ckpt, str(g), path)
    cfg = cfg or from_dict(RetrainConfig, ckpt["config"])
    task = resolve_task(cfg.task, g)
    task.check(cfg, g)
    device = device if device is not None else torch.device("cpu")
    data = task.datasets(cfg, g)
    num_classes = cfg.model.num_classes or data.num_classes
    if ckpt["num_classes"] != num_classes:
        raise NasError(f"checkpoint {path} has {ckpt['num_classes']} classes, the data has {num_classes}")
    model = build_model(task, g, cfg, num_classes).to(device)
    loader = make_loader(data.val, cfg.eval_batch_size, cfg.data.workers, device=device, shuffle=False)
    out: Dict[str, float] = {}
    for name, prefix in (("model", ""), ("ema", "ema_")):
        if ckpt.get(name) is None:
            continue
        ck.load_model_state(model, ckpt[name], path)
        res = evaluate(model, loader, step_options(cfg, device), task)
        images, skipped = res.pop("val_images"), res.pop("skipped")
        out.update({f"{prefix}{k}": v for k, v in res.items()})
        warn_skipped(skipped)
        shown = " ".join(f"{k} {v:.4f}" if k.endswith("loss") else f"{k} {v:.2f}" for k, v in res.items())
        log(f"{path}: {'EMA ' if prefix else ''}{shown} ({images} samples)")
    return out

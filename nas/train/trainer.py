"""The one trainer: drives any task on any backend through epochs, evaluation, checkpoints and metrics.

The trainer owns the epoch bookkeeping (optimizer, schedule, EMA, loss scaler, history, ``best.pt`` on the
task's primary metric, ``last.pt``, ``metrics.json``, TensorBoard); the task supplies data, model, loss and
metrics; the backend splits batches among workers. Randomness is the run's: data order comes from the
trainer's generator, augmentation from the datasets' ``set_epoch`` key, dropout from a forked default
generator, all seeded by (seed, epoch, rank), so a resumed run repeats the uninterrupted one.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import torch
from torch import nn

from nas.plugins import get_plugin
from nas.version import __version__
from nas.config import to_dict
from nas.data.collate import warn_skipped
from nas.errors import NasError
from nas.optim import AdaRem
from nas.train import checkpoint as ck
from nas.train.backends import Backend, LocalBackend, make_loader
from nas.train.amp import configure_backends, grad_scaler, maybe_compile, to_channels_last
from nas.train.builders import build_optimizer, build_schedule, step_options
from nas.train.loop import ModelEma, evaluate, train_one_epoch
from nas.utils.io import atomic_write_json
from nas.utils.progress import Progress
from nas.utils.seeds import epoch_seed, forked_rng, rng_state, seeded_init, set_rng_state

__all__ = ["Trainer", "build_model"]

Log = Callable[[str], None]
RANK_STRIDE = 7919  # dropout seeds of DDP ranks differ by this prime, as the masks must differ per worker


def build_model(task: Any, genotype: Any, cfg: Any, num_classes: int) -> nn.Module:
    """Build the task's model on the CPU with an init fixed by ``cfg.seed`` (the same on every rank)."""
    with seeded_init(cfg.seed):
        model = task.build_model(genotype, cfg, num_classes)
    if cfg.execution.activation_checkpointing:
        from nas.nn.checkpointing import checkpoint_blocks

        if checkpoint_blocks(model) == 0:
            raise NasError(f"activation_checkpointing: the {task.name} model has no block list to checkpoint")
    return model


def _place(model: nn.Module, cfg: Any, device: torch.device, modality: str) -> nn.Module:
    """Move ``model`` to ``device`` (NHWC for 2-D image models on CUDA when asked)."""
    return to_channels_last(model.to(device), cfg.execution.channels_last and device.type == "cuda" and modality == "image")


def _progress(epoch: int, epochs: int, steps: int, log_every: int, log: Log):
    """Return ``(callback, bar)``: a progress bar with ETA (on a terminal) plus optional periodic lines."""
    bar = Progress(steps, f"epoch {epoch + 1}/{epochs}", leave=False, tty_only=True)
    start = time.perf_counter()

    def callback(i: int, loss: float) -> None:
        bar.advance(1)
        bar.postfix(loss=f"{loss:.3f}")
        if log_every and (i % log_every == 0 or i == steps):
            eta = (time.perf_counter() - start) / i * (steps - i)
            log(f"  epoch {epoch + 1} step {i}/{steps} loss {loss:.4f} eta {eta:.0f}s")

    return callback, bar


class Trainer:
    """One retraining run of ``task`` on ``genotype``: build with the config, ``restore`` to resume, then ``fit``.

    ``init`` (``fresh`` runs only) is called on the freshly built model before it moves to the device and
    returns a line saying which weights it loaded (see :mod:`nas.train.weights`).
    """

    def __init__(self, task: Any, cfg: Any, genotype: Any, out: Path, device: torch.device,
                 backend: Optional[Backend] = None, log: Log = print,
                 init: Optional[Callable[[nn.Module], str]] = None):
        self.task, self.cfg, self.g, self.out = task, cfg, genotype, Path(out)
        self.device, self.backend, self.log = device, backend or LocalBackend(device), log
        self.opts = step_options(cfg, device)
        configure_backends(device, cfg.execution.deterministic)
        data = task.datasets(cfg, genotype)
        self.train_ds, self.val_ds = data.train, data.val
        self.num_classes = cfg.model.num_classes or data.num_classes
        if len(self.train_ds) < cfg.batch_size:
            raise NasError(f"batch_size {cfg.batch_size} exceeds the {len(self.train_ds)} training samples")
        model = build_model(task, genotype, cfg, self.num_classes)
        self.init_note = init(model) if init is not None else "from scratch"
        self.model = _place(model, cfg, device, get_plugin(genotype.space).modality)
        self.net = maybe_compile(self.backend.wrap(self.model), cfg.execution.compile)
        self.gen = torch.Generator()
        self._setup()

    def _setup(self) -> None:
        """Build the optimizer, the per-step schedule, EMA, scaler and loss; zero the progress."""
        cfg = self.cfg
        self.optimizer = build_optimizer(self.model, cfg.optim)
        self.steps_per_epoch = len(self.train_ds) // cfg.batch_size
        self.scheduler = build_schedule(self.optimizer, cfg, self.steps_per_epoch)
        self.ema = ModelEma(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.scaler = grad_scaler(self.device, self.opts.amp_dtype)
        self.loss_fn = self.task.loss(cfg)
        self.epoch, self.step, self.best, self.history = 0, 0, -float("inf"), []

    @property
    def best_key(self) -> str:
        """Return the checkpoint key of the best primary metric (``best_top1`` for classification)."""
        return f"best_{self.task.primary}"

    def state(self) -> Dict[str, Any]:
        """Return the checkpoint dict (tensors, lists and numbers only)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "ema": self.ema.module.state_dict() if self.ema is not None else None,
                "epoch": self.epoch, "step": self.step, self.best_key: self.best, "history": self.history,
                "genotype": str(self.g), "num_classes": self.num_classes, "config": to_dict(self.cfg),
                "task": self.task.name, "init": self.init_note, "rng": rng_state({"loader": self.gen}),
                "nas_version": __version__, **self.backend.extra()}

    def restore(self, ckpt: Dict[str, Any], path: Path) -> None:
        """Restore everything :meth:`state` saved (checkpoints of older versions too)."""
        ck.check_architecture(ckpt, str(self.g), path)
        ck.load_model_state(self.model, ckpt["model"], path)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scaler.load_state_dict(ckpt["scaler"])
        if self.ema is not None and ckpt["ema"] is not None:
            self.ema.module.load_state_dict(ckpt["ema"])
        self.epoch, self.step = ckpt["epoch"], ckpt["step"]
        self.best, self.history = ckpt.get(self.best_key, -float("inf")), list(ckpt["history"])
        self.init_note = ckpt.get("init", self.init_note)
        if isinstance(ckpt.get("rng", {}).get("loader"), dict):  # older checkpoints saved global RNGs instead
            set_rng_state(ckpt["rng"], {"loader": self.gen})

    def train_epoch(self) -> Dict[str, float]:
        """Train one epoch with data order, augmentation and dropout fixed by (seed, epoch, rank)."""
        cfg, b = self.cfg, self.backend
        seed = epoch_seed(cfg.seed, self.epoch)
        if hasattr(self.train_ds, "set_epoch"):
            self.train_ds.set_epoch(seed)
        loader = b.train_loader(self.train_ds, cfg.batch_size // b.world, cfg.data.workers, cfg.seed, self.epoch,
                                self.gen)
        callback, bar = _progress(self.epoch, cfg.epochs, self.steps_per_epoch, cfg.log_every, self.log)
        try:
            with forked_rng(seed + RANK_STRIDE * b.rank, self.device):
                stats = train_one_epoch(self.net, loader, self.optimizer, self.scheduler, self.loss_fn, self.opts,
                                        self.scaler, self.ema, callback if b.writer else None)
        finally:
            bar.close()
        if isinstance(self.optimizer, AdaRem):
            self.optimizer.epoch_step()  # only changes lam**k for groups counting k in epochs
        stats["train_loss"] = b.mean(stats["train_loss"])
        self.step += self.steps_per_epoch
        return stats

    def validate(self) -> Dict[str, float]:
        """Evaluate the model (and its EMA) on the validation set; return the metric-row fields."""
        loader = make_loader(self.val_ds, self.cfg.eval_batch_size, self.cfg.data.workers, device=self.device,
                             shuffle=False)
        res = evaluate(self.model, loader, self.opts, self.task)
        res.pop("val_images")
        skipped = res.pop("skipped")
        row = {**res, "val_skipped": skipped}
        if self.ema is not None:
            e = evaluate(self.ema.module, loader, self.opts, self.task)
            row.update({f"ema_{k}": v for k, v in e.items()  # the baselines do not depend on the weights
                        if k not in ("val_images", "skipped") and not k.startswith("majority_")})
        return row

    def save_epoch(self, row: Dict[str, Any]) -> None:
        """Append the row; write ``best.pt`` (when the EMA's or the plain primary metric improves) and ``last.pt``."""
        self.history.append(row)
        self.epoch += 1
        if not self.backend.writer:
            return
        primary = self.task.primary
        score = row.get(f"ema_{primary}", row[primary])
        improved = score > self.best
        self.best = max(self.best, score)
        state = self.state()
        if improved:
            ck.save_checkpoint(self.out / "best.pt", state)
        ck.save_checkpoint(self.out / "last.pt", state)

    def write_metrics(self) -> None:
        """Write ``metrics.json``: genotype, task, init, backend fields and every epoch's row."""
        atomic_write_json(self.out / "metrics.json", {"genotype": str(self.g), "task": self.task.name,
                                                      "init": self.init_note, **self.backend.extra(),
                                                      **self.task.describe(self.cfg, self.g),
                                                      "epochs": self.history})

    def _finish_epoch(self, row: Dict[str, Any], writer) -> None:
        """Record the epoch: history and checkpoints, then (writer only) metrics.json, TensorBoard and a log line."""
        self.save_epoch(row)
        if not self.backend.writer:
            return
        self.write_metrics()
        for key in ("train_loss", *self.task.scalars, "lr"):
            if key in row:
                writer.add_scalar(f"retrain/{key}", row[key], row["step"])
        writer.flush()
        skipped = row["train_skipped"] + row.get("val_skipped", 0)
        skip = f" skipped {skipped} unreadable" if skipped else ""
        self.log(f"epoch {row['epoch']}/{self.cfg.epochs} {self.task.log_line(row)} lr {row['lr']:.3g} "
                 f"{row['seconds']:.1f}s{skip}")
        warn_skipped(skipped)

    def fit(self, resume: bool = False) -> Dict[str, Any]:
        """Train the remaining epochs; return the last epoch's metric row."""
        writer = None
        if self.backend.writer:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(self.out / "tb"), purge_step=self.step + 1 if resume else None)
        try:
            while self.epoch < self.cfg.epochs:
                start = time.perf_counter()
                train = self.train_epoch()
                val = self.validate() if self.backend.writer else {}
                row = {"epoch": self.epoch + 1, "step": self.step, "train_loss": train["train_loss"], **val,
                       "lr": train["lr"], "train_skipped": train["skipped"], "seconds": time.perf_counter() - start}
                self._finish_epoch(row, writer)
                self.backend.report(row)
        finally:
            if writer is not None:
                writer.close()
        return self.history[-1] if self.history else {}

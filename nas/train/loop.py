"""One training epoch and one evaluation pass of any task: weight EMA, AMP on CUDA, skipped-sample counts."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Optional

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from nas.data.collate import check_readable
from nas.tasks.classification import accuracy  # re-exported: callers import it from here

__all__ = ["StepOptions", "ModelEma", "accuracy", "train_one_epoch", "evaluate", "prepare_input"]


@dataclass(frozen=True)
class StepOptions:
    """How each step runs on the device."""

    device: torch.device  # where the model lives
    amp_dtype: Optional[torch.dtype] = None  # autocast dtype on CUDA; None runs in float32
    channels_last: bool = False  # move 4-D inputs to NHWC (the model must be converted too)
    grad_clip: float = 0.0  # clip the global gradient norm; 0 disables it
    log_every: int = 0  # print a progress line every N steps; 0 disables it
    min_readable: float = 0.5  # a pass that reads less than this share of its samples stops with an error


class ModelEma(nn.Module):
    """Exponential moving average of a model's parameters (buffers such as BN statistics are copied)."""

    def __init__(self, model: nn.Module, decay: float):
        super().__init__()
        self.module = copy.deepcopy(model).eval()
        self.decay = decay
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Blend ``model``'s current weights into the average."""
        ema_p = list(self.module.parameters())
        torch._foreach_lerp_(ema_p, [p.detach() for p in model.parameters()], 1.0 - self.decay)
        for b_ema, b in zip(self.module.buffers(), model.buffers()):
            b_ema.copy_(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


def prepare_input(x: torch.Tensor, opts: StepOptions) -> torch.Tensor:
    """Move a batch to the device (NHWC for 4-D inputs when asked)."""
    x = x.to(opts.device, non_blocking=True)
    if opts.channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _autocast(opts: StepOptions):
    enabled = opts.amp_dtype is not None and opts.device.type == "cuda"
    return torch.autocast(device_type=opts.device.type, dtype=opts.amp_dtype or torch.float32, enabled=enabled)


def _step(model, x, y, loss_fn, optimizer, scaler, opts: StepOptions) -> torch.Tensor:
    """Run forward, backward and the optimizer step on one batch; return the detached loss."""
    with _autocast(opts):
        loss = loss_fn(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if opts.grad_clip > 0:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), opts.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach()


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: Optimizer,
    scheduler: LRScheduler,
    loss_fn: Callable,
    opts: StepOptions,
    scaler: torch.amp.GradScaler,
    ema: Optional[ModelEma] = None,
    progress: Optional[Callable[[int, float], None]] = None,
) -> Dict[str, float]:
    """Train one pass over ``loader``, stepping the scheduler every iteration; return loss, lr, counts, seconds."""
    model.train()
    start, total, n_seen, skipped, lr = time.perf_counter(), torch.zeros(()), 0, 0, optimizer.param_groups[0]["lr"]
    for i, (x, y, n_skip) in enumerate(loader):
        skipped += n_skip
        if x is None:
            continue
        x, y = prepare_input(x, opts), y.to(opts.device, non_blocking=True)
        lr = optimizer.param_groups[0]["lr"]
        loss = _step(model, x, y, loss_fn, optimizer, scaler, opts)
        scheduler.step()
        if ema is not None:
            ema.update(model)
        total += loss.float().cpu() * len(y)
        n_seen += len(y)
        if progress is not None:
            progress(i + 1, float(loss))
    check_readable(n_seen, skipped, "samples", opts.min_readable, "this training epoch")
    loss_mean = float(total) / max(n_seen, 1)
    return {"train_loss": loss_mean, "lr": lr, "train_images": n_seen, "skipped": skipped,
            "train_seconds": time.perf_counter() - start}


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, opts: StepOptions, task=None) -> Dict[str, float]:
    """Return ``task``'s metrics (its loss as ``val_loss``) of ``model`` over ``loader``, plus image counts.

    ``task`` defaults to image classification: mean cross-entropy, top-1 and top-5 in percent.
    """
    if task is None:
        from nas.tasks import get_task

        task = get_task("classification")
    model.eval()
    sums: Dict[str, float] = {}
    n, skipped = 0, 0
    for x, y, n_skip in loader:
        skipped += n_skip
        if x is None:
            continue
        x, y = prepare_input(x, opts), y.to(opts.device, non_blocking=True)
        with _autocast(opts):
            out = model(x)
        out = {k: v.float() for k, v in out.items()} if isinstance(out, dict) else out.float()
        for k, v in task.batch_metrics(out, y).items():
            sums[k] = sums[k] + v if k in sums else v  # numbers add up, per-sample lists concatenate
        n += len(y)
    check_readable(n, skipped, "samples", opts.min_readable, "the validation set")
    return {**task.finish_metrics(sums, n), "val_images": n, "skipped": skipped}

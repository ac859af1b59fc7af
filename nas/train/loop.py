"""The one training loop: a step, an epoch and an evaluation pass of any task (EMA, AMP, accumulation, skips).

Every weight update in the project is a ``train_step``: zero the gradients, run an ``Objective`` (forwards
and backwards), clip, step the optimizer. ``train_one_epoch`` runs steps over a loader and ``fit`` runs
epochs. Retraining (``nas.train.trainer``) drives ``train_one_epoch`` with its own epoch bookkeeping; brief
proxy trainings (the search's finalists) call ``fit``; the one-shot supernet (``nas.search.one_shot``) runs
``train_one_epoch`` with its path-sampling objective; the bilevel search's weight step is a ``train_step``.
"""
from __future__ import annotations

import abc
import contextlib
import copy
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from nas.data.collate import check_readable
from nas.train.amp import autocast, to_channels_last, to_device
from nas.tasks.classification import accuracy  # re-exported: callers import it from here

__all__ = ["StepOptions", "ModelEma", "Objective", "MeanLoss", "accuracy", "train_step", "train_one_epoch", "fit",
           "evaluate", "prepare_input", "backward", "optimizer_step"]


@dataclass(frozen=True)
class StepOptions:
    """How each step runs on the device."""

    device: torch.device  # where the model lives
    amp_dtype: Optional[torch.dtype] = None  # autocast dtype (``nas.train.amp.amp_dtype``); None runs in float32
    channels_last: bool = False  # move 4-D inputs to NHWC (the model must be converted too)
    grad_clip: float = 0.0  # clip the global gradient norm; 0 disables it
    log_every: int = 0  # print a progress line every N steps; 0 disables it
    min_readable: float = 0.5  # a pass that reads less than this share of its samples stops with an error
    grad_accum: int = 1  # micro-batches per optimizer step (the batch is split; gradients add up)


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
    return to_channels_last(to_device(x, opts.device), opts.channels_last)


def _autocast(opts: StepOptions):
    return autocast(opts.device, opts.amp_dtype)


def _targets(y: torch.Tensor, opts: StepOptions) -> torch.Tensor:
    """Move the targets to the device without blocking."""
    return to_device(y, opts.device)


def _chunks(t: torch.Tensor, n: int):
    """Split a batch into at most ``n`` non-empty micro-batches along its first dimension."""
    return [c for c in torch.tensor_split(t, n) if len(c)]


def backward(loss: torch.Tensor, scaler: Optional[torch.amp.GradScaler]) -> None:
    """Accumulate ``loss``'s gradients, through the loss scaler when fp16 uses one."""
    if scaler is not None and scaler.is_enabled():
        scaler.scale(loss).backward()
    else:
        loss.backward()


def optimizer_step(optimizer: Optimizer, scaler: Optional[torch.amp.GradScaler]) -> None:
    """Step ``optimizer`` on the accumulated gradients (unscaled and checked for inf first under fp16)."""
    if scaler is not None and scaler.is_enabled():
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()


class Objective(abc.ABC):
    """What one step learns from a batch: it runs the forwards and backwards and returns the detached loss.

    ``MeanLoss`` is the ordinary one; the one-shot supernet's path sampling (``nas.search.one_shot``) is
    another. The step around it (zeroing, clipping, the optimizer and loss scaler) is ``train_step``'s.
    """

    @abc.abstractmethod
    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 scaler: Optional[torch.amp.GradScaler], opts: StepOptions) -> torch.Tensor:
        """Accumulate the gradients of the batch's loss into ``model``; return that loss, detached."""


class MeanLoss(Objective):
    """The batch's mean ``loss_fn(model(x), y)``, over ``opts.grad_accum`` micro-batches whose gradients add up."""

    def __init__(self, loss_fn: Callable):
        self.loss_fn = loss_fn

    def __call__(self, model, x, y, scaler, opts) -> torch.Tensor:
        if opts.grad_accum == 1:
            with _autocast(opts):
                loss = self.loss_fn(model(x), y)
            backward(loss, scaler)
            return loss.detach()
        xs, ys, n = _chunks(x, opts.grad_accum), _chunks(y, opts.grad_accum), len(x)
        total = torch.zeros((), device=x.device)
        for i, (xc, yc) in enumerate(zip(xs, ys)):
            last = i == len(xs) - 1  # DDP all-reduces once, on the last micro-batch
            sync = model.no_sync() if hasattr(model, "no_sync") and not last else contextlib.nullcontext()
            with sync:
                with _autocast(opts):
                    loss = self.loss_fn(model(xc), yc) * (len(xc) / n)  # batch mean = weighted micro means
                backward(loss, scaler)
            total = total + loss.detach().float()
        return total


def _objective(loss_fn: Callable) -> Objective:
    return loss_fn if isinstance(loss_fn, Objective) else MeanLoss(loss_fn)


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, objective: Objective, optimizer: Optimizer,
               scaler: Optional[torch.amp.GradScaler], opts: StepOptions) -> torch.Tensor:
    """Run one optimizer step on a batch already on the device: zero, ``objective``, clip, step; return the loss."""
    optimizer.zero_grad(set_to_none=True)
    loss = objective(model, x, y, scaler, opts)
    if opts.grad_clip > 0:
        if scaler is not None and scaler.is_enabled():
            scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), opts.grad_clip)
    optimizer_step(optimizer, scaler)
    return loss.detach()


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: Optimizer,
    scheduler: Optional[LRScheduler],
    loss_fn: Callable,
    opts: StepOptions,
    scaler: Optional[torch.amp.GradScaler] = None,
    ema: Optional[ModelEma] = None,
    progress: Optional[Callable[[int, float], None]] = None,
    steps: Optional[int] = None,
) -> Dict[str, float]:
    """Train one pass over ``loader``, stepping the scheduler every step; return loss, lr, counts, seconds, steps.

    ``loader`` yields ``(x, y, skipped)`` (``nas.data.collate.collate_skip``). ``loss_fn`` is a loss of
    ``(outputs, targets)`` or an ``Objective``. ``scaler`` None is float32's plain backward and step;
    ``scheduler`` None keeps the learning rate. ``steps`` ends the pass after that many steps; a pass that
    reaches the end of its loader checks that enough of its samples were readable.
    """
    model.train()
    objective = _objective(loss_fn)
    start, total, n_seen, skipped, lr = time.perf_counter(), torch.zeros(()), 0, 0, optimizer.param_groups[0]["lr"]
    done = 0
    for i, (x, y, n_skip) in enumerate(loader):
        if steps is not None and done >= steps:
            break
        skipped += n_skip
        if x is None:
            continue
        x, y = prepare_input(x, opts), _targets(y, opts)
        lr = optimizer.param_groups[0]["lr"]
        loss = train_step(model, x, y, objective, optimizer, scaler, opts)
        if scheduler is not None:
            scheduler.step()
        if ema is not None:
            ema.update(model)
        total += loss.float().cpu() * len(y)
        n_seen += len(y)
        done += 1
        if progress is not None:
            progress(i + 1, float(loss))
    if steps is None or done < steps:
        check_readable(n_seen, skipped, "samples", opts.min_readable, "this training epoch")
    loss_mean = float(total) / max(n_seen, 1)
    return {"train_loss": loss_mean, "lr": lr, "train_images": n_seen, "skipped": skipped, "steps": done,
            "train_seconds": time.perf_counter() - start}


def fit(
    model: nn.Module,
    batches: Callable[[int], Iterable],
    epochs: int,
    optimizer: Optimizer,
    scheduler: LRScheduler,
    loss_fn: Callable,
    opts: StepOptions,
    scaler: Optional[torch.amp.GradScaler] = None,
    ema: Optional[ModelEma] = None,
    progress: Optional[Callable[[int, float], None]] = None,
) -> List[Dict[str, float]]:
    """Train ``epochs`` passes, epoch ``e`` over ``batches(e)``; return each epoch's ``train_one_epoch`` stats."""
    return [train_one_epoch(model, batches(epoch), optimizer, scheduler, loss_fn, opts, scaler, ema, progress)
            for epoch in range(epochs)]


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
        x, y = prepare_input(x, opts), _targets(y, opts)
        with _autocast(opts):
            out = model(x)
        out = {k: v.float() for k, v in out.items()} if isinstance(out, dict) else out.float()
        for k, v in task.batch_metrics(out, y).items():
            sums[k] = sums[k] + v if k in sums else v  # numbers add up, per-sample lists concatenate
        n += len(y)
    check_readable(n, skipped, "samples", opts.min_readable, "the validation set")
    return {**task.finish_metrics(sums, n), "val_images": n, "skipped": skipped}

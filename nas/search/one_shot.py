"""One-shot supernet training, Langevin (SGLD) weight sampling and candidate scoring under weight snapshots.

The supernet step trains several paths (and a teacher) per batch, so it keeps its own loop over batches; the
gradient and optimizer steps are the training loop's (``nas.train.loop.backward`` and ``optimizer_step``).
"""
from __future__ import annotations

import random
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from nas.core.genotype import Genotype
from nas.nn.supernet import Supernet, recalibrate_bn
from nas.train.amp import autocast, to_device
from nas.train.loop import backward, optimizer_step

__all__ = ["Batches", "train_steps", "score_genotypes", "accuracy", "hits", "hit_tables"]

Batches = Callable[[int], Iterator[Tuple[torch.Tensor, torch.Tensor]]]  # epoch -> iterator of (x, y)


def train_steps(supernet: Supernet, batches: Iterator[Tuple[torch.Tensor, torch.Tensor]], optimizer,
                scheduler, rng: random.Random, steps: Optional[int] = None, label_smoothing: float = 0.0,
                on_step: Optional[Callable[[float, float], None]] = None,
                sample: Optional[Callable[[random.Random], Genotype]] = None, amp: Optional[torch.dtype] = None,
                scaler: Optional[torch.amp.GradScaler] = None, paths: int = 1, teacher: Optional[Genotype] = None,
                distill: float = 0.0, fixed: Sequence[Genotype] = ()) -> Dict[str, float]:
    """Train with single-path sampling: each step activates one random genotype (SPOS).

    ``sample(rng)`` draws the genotype (default: uniform over the whole space). Runs until ``batches`` is
    exhausted or ``steps`` steps are done; returns mean loss and accuracy of the student paths. ``amp`` is the
    autocast dtype (None: float32) and ``scaler`` the loss scaler fp16 needs.

    ``paths`` > 1 draws that many paths per step and averages their gradients. With a ``teacher`` genotype
    (in-place distillation) each step first trains the teacher on the labels; each sampled path then learns
    ``(1 - distill) * cross-entropy + distill * KL(teacher || path)`` from the teacher's detached predictions,
    and the step averages the teacher's and the paths' gradients. The teacher's mean loss is returned as
    ``teacher_loss``. ``fixed`` genotypes (the sandwich rule's smallest path) are trained every step after the
    sampled ones, as students like them. With the defaults (one path, no teacher) the step is exactly SPOS's.
    """
    supernet.train()
    device = next(supernet.parameters()).device
    total_loss, total_correct, total_n, done, teacher_loss = 0.0, 0, 0, 0, 0.0
    students = paths + len(fixed)
    share = 1.0 / (students + (teacher is not None))  # every path's loss weighs the same in the step's gradient
    for x, y in batches:
        if steps is not None and done >= steps:
            break
        x, y = to_device(x, device), to_device(y, device)
        optimizer.zero_grad(set_to_none=True)
        target = None
        if teacher is not None:
            supernet.set_active(teacher)
            with autocast(device, amp):
                t_logits = supernet(x)
                t_loss = F.cross_entropy(t_logits, y, label_smoothing=label_smoothing)
            backward(t_loss * share, scaler)
            target = t_logits.detach().float().log_softmax(1)
            teacher_loss += t_loss.item() * len(y)
        step_loss, correct = 0.0, 0
        for i in range(students):
            if i >= paths:
                supernet.set_active(fixed[i - paths])
            elif sample is None:
                supernet.sample_active(rng)
            else:
                supernet.set_active(sample(rng))
            with autocast(device, amp):
                logits = supernet(x)
                loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
                if target is not None and distill > 0:
                    kl = F.kl_div(logits.float().log_softmax(1), target, reduction="batchmean", log_target=True)
                    loss = (1 - distill) * loss + distill * kl
            backward(loss * share, scaler)
            step_loss += loss.item() / students
            correct += int((logits.argmax(1) == y).sum())
        optimizer_step(optimizer, scaler)
        if scheduler is not None:
            scheduler.step()
        total_loss += step_loss * len(y)
        total_correct += correct
        total_n += len(y) * students
        done += 1
        if on_step is not None:
            on_step(step_loss, correct / (len(y) * students))
    n = max(total_n, 1)
    out = {"loss": total_loss / max(n / students, 1), "acc": total_correct / n, "steps": done}
    if teacher is not None:
        out["teacher_loss"] = teacher_loss / max(n / students, 1)
    return out


@torch.no_grad()
def accuracy(model: nn.Module, val: Sequence[Tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Return top-1 accuracy of ``model`` (in eval mode) over in-memory validation batches.

    Hits are summed on the batches' device and read once, so a GPU is not stalled by a sync per batch.
    """
    model.eval()
    correct, total = None, 0
    for x, y in val:
        hits = (model(x).argmax(1) == y).sum()
        correct = hits if correct is None else correct + hits
        total += len(y)
    return (int(correct) if correct is not None else 0) / max(total, 1)


def score_genotypes(supernet: Supernet, genotypes: Sequence[Genotype], snapshots: Sequence[Dict[str, torch.Tensor]],
                    bn_batches: Sequence[torch.Tensor], val: Sequence[Tuple[torch.Tensor, torch.Tensor]],
                    on_done: Optional[Callable[[], None]] = None) -> List[List[float]]:
    """Return, per genotype, its validation accuracy under each weight snapshot.

    Each snapshot is loaded once; each candidate's BatchNorm statistics are recalibrated on ``bn_batches``
    before it is scored, since shared statistics match no single path. The proxy score is the mean of a row.
    """
    return _per_snapshot(supernet, genotypes, snapshots, bn_batches, lambda: accuracy(supernet, val), on_done)


def _per_snapshot(supernet: Supernet, genotypes: Sequence[Genotype], snapshots: Sequence[Dict[str, torch.Tensor]],
                  bn_batches: Sequence[torch.Tensor], measure: Callable[[], Any],
                  on_done: Optional[Callable[[], None]]) -> List[List[Any]]:
    """Return ``measure()`` of each genotype under each snapshot (loaded once), after BN recalibration."""
    per: List[List[Any]] = [[] for _ in genotypes]
    for state in snapshots:
        supernet.load_state_dict(state)
        for i, g in enumerate(genotypes):
            supernet.set_active(g)
            recalibrate_bn(supernet, bn_batches)
            per[i].append(measure())
            if on_done is not None:
                on_done()
    return per


@torch.no_grad()
def hits(model: nn.Module, val: Sequence[Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Return a bool per validation image: whether ``model`` (in eval mode) classifies it correctly."""
    model.eval()
    return torch.cat([(model(x).argmax(1) == y).cpu() for x, y in val])


def hit_tables(supernet: Supernet, genotypes: Sequence[Genotype], snapshots: Sequence[Dict[str, torch.Tensor]],
               bn_batches: Sequence[torch.Tensor], val: Sequence[Tuple[torch.Tensor, torch.Tensor]],
               on_done: Optional[Callable[[], None]] = None) -> List[torch.Tensor]:
    """Return, per genotype, its K x N table of hits (snapshots x validation images); row means = ``score_genotypes``.

    Used by the confidence report, which resamples both axes (``nas.search.confidence``).
    """
    rows = _per_snapshot(supernet, genotypes, snapshots, bn_batches, lambda: hits(supernet, val), on_done)
    return [torch.stack(r) for r in rows]

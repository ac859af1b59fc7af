"""One-shot supernet training, Langevin (SGLD) weight sampling and candidate scoring under weight snapshots.

The supernet trains in the project's one loop (``nas.train.loop.train_one_epoch``); what is its own is the
objective, ``PathSampling``: each step activates sampled paths (and a teacher) of the weight-sharing network.
"""
from __future__ import annotations

import random
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from nas.core.genotype import Genotype
from nas.nn.supernet import Supernet, recalibrate_bn
from nas.train.amp import autocast
from nas.train.loop import Objective, StepOptions, backward, train_one_epoch

__all__ = ["Batches", "PathSampling", "train_steps", "score_genotypes", "accuracy", "hits", "hit_tables"]

Batches = Callable[[int], Iterator[Tuple[torch.Tensor, torch.Tensor]]]  # epoch -> iterator of (x, y)


class PathSampling(Objective):
    """The supernet's step: sampled paths (SPOS), optionally several, a teacher and fixed paths, averaged.

    ``sample(rng)`` draws a genotype (None: uniform over the space). ``paths`` > 1 draws that many per step
    and averages their gradients. With a ``teacher`` genotype (in-place distillation) the step first trains
    the teacher on the labels; each sampled path then learns ``(1 - distill) * cross-entropy + distill *
    KL(teacher || path)`` from the teacher's detached predictions, and the step averages the teacher's and the
    paths' gradients. ``fixed`` genotypes (the sandwich rule's smallest path) are trained after the sampled
    ones, as students like them. With the defaults (one path, no teacher) the step is exactly SPOS's.
    The student paths' loss and accuracy, and the teacher's loss, are tallied over the steps.
    """

    def __init__(self, rng: random.Random, sample: Optional[Callable[[random.Random], Genotype]] = None,
                 paths: int = 1, teacher: Optional[Genotype] = None, distill: float = 0.0,
                 fixed: Sequence[Genotype] = (), label_smoothing: float = 0.0):
        self.rng, self.sample, self.paths, self.teacher = rng, sample, paths, teacher
        self.distill, self.fixed, self.label_smoothing = distill, tuple(fixed), label_smoothing
        self.students = paths + len(self.fixed)
        self.share = 1.0 / (self.students + (teacher is not None))  # every path's loss weighs the same
        self.total_loss, self.total_correct, self.total_n, self.teacher_loss = 0.0, 0, 0, 0.0
        self.last_loss, self.last_acc = 0.0, 0.0

    def _activate(self, supernet: Supernet, i: int) -> None:
        if i >= self.paths:
            supernet.set_active(self.fixed[i - self.paths])
        elif self.sample is None:
            supernet.sample_active(self.rng)
        else:
            supernet.set_active(self.sample(self.rng))

    def __call__(self, supernet, x, y, scaler, opts: StepOptions) -> torch.Tensor:
        target = None
        if self.teacher is not None:
            supernet.set_active(self.teacher)
            with autocast(opts.device, opts.amp_dtype):
                t_logits = supernet(x)
                t_loss = F.cross_entropy(t_logits, y, label_smoothing=self.label_smoothing)
            backward(t_loss * self.share, scaler)
            target = t_logits.detach().float().log_softmax(1)
            self.teacher_loss += t_loss.item() * len(y)
        step_loss, correct = 0.0, 0
        for i in range(self.students):
            self._activate(supernet, i)
            with autocast(opts.device, opts.amp_dtype):
                logits = supernet(x)
                loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
                if target is not None and self.distill > 0:
                    kl = F.kl_div(logits.float().log_softmax(1), target, reduction="batchmean", log_target=True)
                    loss = (1 - self.distill) * loss + self.distill * kl
            backward(loss * self.share, scaler)
            step_loss += loss.item() / self.students
            correct += int((logits.argmax(1) == y).sum())
        self.total_loss += step_loss * len(y)
        self.total_correct += correct
        self.total_n += len(y) * self.students
        self.last_loss, self.last_acc = step_loss, correct / (len(y) * self.students)
        return torch.tensor(step_loss)

    def stats(self, steps: int) -> Dict[str, float]:
        """Return the students' mean loss and accuracy (and the teacher's loss) over the steps so far."""
        n = max(self.total_n, 1)
        images = max(n / self.students, 1)
        out = {"loss": self.total_loss / images, "acc": self.total_correct / n, "steps": steps}
        if self.teacher is not None:
            out["teacher_loss"] = self.teacher_loss / images
        return out


def train_steps(supernet: Supernet, batches: Iterator[Tuple[torch.Tensor, torch.Tensor]], optimizer,
                scheduler, rng: random.Random, steps: Optional[int] = None, label_smoothing: float = 0.0,
                on_step: Optional[Callable[[float, float], None]] = None,
                sample: Optional[Callable[[random.Random], Genotype]] = None, amp: Optional[torch.dtype] = None,
                scaler: Optional[torch.amp.GradScaler] = None, paths: int = 1, teacher: Optional[Genotype] = None,
                distill: float = 0.0, fixed: Sequence[Genotype] = ()) -> Dict[str, float]:
    """Train the supernet with ``PathSampling`` until ``batches`` is exhausted or ``steps`` steps are done.

    Returns the student paths' mean loss and accuracy (``teacher_loss`` with a teacher) and the steps done.
    ``amp`` is the autocast dtype (None: float32) and ``scaler`` the loss scaler fp16 needs; ``on_step``
    receives each step's loss and accuracy.
    """
    objective = PathSampling(rng, sample, paths, teacher, distill, fixed, label_smoothing)
    opts = StepOptions(device=next(supernet.parameters()).device, amp_dtype=amp)
    progress = None if on_step is None else (lambda i, loss: on_step(objective.last_loss, objective.last_acc))
    done = train_one_epoch(supernet, ((x, y, 0) for x, y in batches), optimizer, scheduler, objective, opts,
                           scaler, progress=progress, steps=steps)["steps"]
    return objective.stats(done)


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

"""Differentiable (DARTS-style) search: mixed ops, alpha relaxations, the bilevel arch optimizer, derivation.

Our reading of PV-NAS (arXiv 2011.00826), whose method section we could not consult:
- one logit vector alpha per slot, relaxed by softmax (DARTS, all paths), a hard straight-through Gumbel
  sample (GDAS, one path, bounded memory) or a Gumbel top-k sample of k paths renormalised over the sample;
- first-order alternation: a weight step on a train batch, then an alpha step on a held-out batch;
- a two-sided FLOPs hinge ``gamma * (max(0, E - B) + max(0, f * B - E)) / B`` with ``E`` the expectation over
  softmax(alpha) of the pure per-op costs, and a derivation that lands in ``[f * B, B]`` (greedy swaps to
  cheaper ops, then to dearer ones while below ``f * B``; ``f`` = 0.85, the window st_topo's evolution keeps);
- the "diversity" scheduler is cosine with warm restarts on the alpha LR; argmax(alpha) at every cycle
  end is a candidate.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from nas.core.cost import Cost
from nas.core.genotype import Genotype
from nas.errors import NasError
from nas.nn.mixed import RELAXATIONS, MixedOp, expected_madds, relax
from nas.train.loop import MeanLoss, StepOptions, train_step

__all__ = ["RELAXATIONS", "relax", "MixedOp", "ArchOptimizer", "expected_madds", "derive", "alpha_entropy",
           "identity_share", "heatmap_figure"]


def _probs(alpha: torch.Tensor) -> List[List[float]]:
    return F.softmax(alpha.detach().float(), -1).tolist()


def _swap(probs: List[List[float]], pick: List[int], geno: Callable[[List[int]], Genotype],
          madds: Callable[[Genotype], int], ok: Callable[[int, int], bool]) -> Optional[Tuple[int, int]]:
    """Return the (slot, op) swap losing least probability among those whose new cost passes ``ok(old, new)``."""
    now = madds(geno(pick))
    best = None
    for s, p in enumerate(probs):
        for j in sorted(range(len(p)), key=lambda j: -p[j]):
            trial = list(pick)
            trial[s] = j
            if j != pick[s] and ok(now, madds(geno(trial))):
                loss = p[pick[s]] - p[j]
                if best is None or loss < best[0]:
                    best = (loss, s, j)
                break  # the most probable passing op of this slot
    return None if best is None else (best[1], best[2])


class _WeightLoss(MeanLoss):
    """The batch's mean loss for a weight step: the architecture parameters' gradients are dropped, since they
    learn from the held-out split only (and so stay out of the gradient clipping)."""

    def __call__(self, model, x, y, scaler, opts) -> torch.Tensor:
        loss = super().__call__(model, x, y, scaler, opts)
        for p in model.arch_parameters():
            p.grad = None
        return loss


def _micro_batches(x: torch.Tensor, y: torch.Tensor, n: int):
    """Yield ``(x_i, y_i, share_i)``: ``n`` micro-batches of the batch and each one's share of its samples."""
    if n == 1:
        yield x, y, 1.0
        return
    for xc, yc in zip(torch.tensor_split(x, n), torch.tensor_split(y, n)):
        if len(xc):
            yield xc, yc, len(xc) / len(x)


def derive(alpha: torch.Tensor, keys: Sequence[str], names: Sequence[str], space, cost_of: Callable[[Genotype], Cost],
           budget: Optional[int] = None, floor: float = 0.0) -> Genotype:
    """Return argmax(alpha) per slot, greedily swapped until its MAdds lie in ``[floor * budget, budget]``.

    First swaps to cheaper ops (least probability lost) until within the budget, then, while below
    ``floor * budget``, to dearer ops that keep it within the budget (stopping when none is left).
    """
    probs = _probs(alpha)
    pick = [max(range(len(names)), key=lambda j: p[j]) for p in probs]

    def geno(idx: List[int]) -> Genotype:
        return space.freeze({k: names[j] for k, j in zip(keys, idx)})

    def madds(g: Genotype) -> int:
        return cost_of(g).madds

    if budget is None:
        return geno(pick)
    while madds(geno(pick)) > budget:
        swap = _swap(probs, pick, geno, madds, lambda old, new: new < old)
        if swap is None:
            g = geno(pick)
            raise NasError(f"MAdds budget {budget} is infeasible: {str(g)[:60]} costs {madds(g)} and nothing is "
                           "cheaper")
        pick[swap[0]] = swap[1]
    while madds(geno(pick)) < floor * budget:
        swap = _swap(probs, pick, geno, madds, lambda old, new: old < new <= budget)
        if swap is None:
            break
        pick[swap[0]] = swap[1]
    return geno(pick)


class ArchOptimizer:
    """Own the alpha optimizer, its LR scheduler and the first-order bilevel step.

    Args:
        supernet: exposes ``arch_parameters()`` (one ``[slots, ops]`` tensor) and ``weight_parameters()``.
        lr, betas, weight_decay: Adam on alpha (DARTS uses 3e-4, (0.5, 0.999), 1e-3).
        table, fixed: per-slot per-op MAdds ``[slots, ops]`` and the genotype-independent MAdds.
        budget, gamma: the MAdds budget of the hinge penalty (None: no penalty) and its weight.
        floor: the lower hinge sits at ``floor * budget`` (0: an upper hinge only).
        scheduler: ``diversity`` (cosine with warm restarts), ``cosine`` (one decay) or ``constant``.
        period, total_steps, lr_min, period_mult: schedule lengths in alpha steps.
        latency: ``(table [slots, ops] of block ms, fixed ms, budget ms)``: the expected-latency counterpart of
            the MAdds hinges, with the same ``gamma`` and ``floor`` (None: no latency term).
    """

    def __init__(self, supernet: nn.Module, *, lr: float, betas: Tuple[float, float] = (0.5, 0.999),
                 weight_decay: float = 1e-3, table: torch.Tensor, fixed: int, budget: Optional[int] = None,
                 floor: float = 0.0, gamma: float = 0.0, scheduler: str = "diversity", period: int = 1,
                 total_steps: int = 1, lr_min: float = 0.0, period_mult: float = 1.0,
                 latency: Optional[Tuple[torch.Tensor, float, float]] = None) -> None:
        self.supernet = supernet
        (self.alpha,) = supernet.arch_parameters()
        self.optimizer = torch.optim.Adam([self.alpha], lr=lr, betas=betas, weight_decay=weight_decay)
        self.table, self.fixed, self.budget, self.floor, self.gamma = table, fixed, budget, floor, gamma
        self.scheduler = _make_scheduler(self.optimizer, scheduler, period, total_steps, lr_min, period_mult)
        self.latency = latency
        self.kind = scheduler
        self.cycle_ends: List[int] = []  # alpha steps at which a candidate was recorded
        self.steps = 0

    def penalty(self) -> torch.Tensor:
        """Return the hinges ``gamma * (max(0, E - B) + max(0, floor * B - E)) / B`` (zero without a budget).

        With a latency budget the same hinges on the expected latency (the table's block times weighted by
        softmax(alpha), plus the measured overhead) are added: the counterpart of the MAdds term.
        """
        pen = self.alpha.new_zeros(())
        if self.gamma == 0:
            return pen
        if self.budget is not None:
            pen = pen + self._hinge(expected_madds(self.alpha, self.table, self.fixed), self.budget)
        if self.latency is not None:
            table, fixed, budget = self.latency
            pen = pen + self._hinge(expected_madds(self.alpha, table, fixed), budget)
        return pen

    def _hinge(self, e: torch.Tensor, budget: float) -> torch.Tensor:
        return self.gamma * (F.relu(e - budget) + F.relu(self.floor * budget - e)) / budget

    def step(self, train: Tuple[torch.Tensor, torch.Tensor], val: Tuple[torch.Tensor, torch.Tensor],
             w_optimizer: torch.optim.Optimizer, criterion: Callable, update_alpha: bool = True,
             micro: int = 1) -> Dict[str, float]:
        """Run one weight step on ``train`` then (if asked) one alpha step on ``val``; return the losses.

        ``micro`` > 1 splits each batch into that many micro-batches whose gradients add up to the batch mean's
        (``search.grad_accum``): the peak activation memory shrinks by about that factor. It is not bitwise the
        one-batch step: BatchNorm statistics and the relaxation's noise are drawn per micro-batch.
        """
        x, y = train
        opts = StepOptions(device=x.device, grad_clip=5.0, grad_accum=micro)
        loss_w = float(train_step(self.supernet, x, y, _WeightLoss(criterion), w_optimizer, None, opts))
        out = {"loss_w": loss_w}
        if update_alpha:
            out.update(self._alpha_step(val, criterion, micro))
        return out

    def _alpha_step(self, val: Tuple[torch.Tensor, torch.Tensor], criterion: Callable,
                    micro: int = 1) -> Dict[str, float]:
        x, y = val
        self.optimizer.zero_grad(set_to_none=True)
        # Only alpha's gradient: weights learn from the train split alone, and skipping theirs saves time.
        if micro == 1:
            loss = criterion(self.supernet(x), y)
            pen = self.penalty()
            (self.alpha.grad,) = torch.autograd.grad(loss + pen, [self.alpha])
            loss_a = loss.item()
        else:
            pen, loss_a = self.penalty(), 0.0
            grad = torch.autograd.grad(pen, [self.alpha])[0] if pen.requires_grad else torch.zeros_like(self.alpha)
            for xc, yc, share in _micro_batches(x, y, micro):
                loss = criterion(self.supernet(xc), yc) * share
                grad = grad + torch.autograd.grad(loss, [self.alpha])[0]
                loss_a += loss.item()
            self.alpha.grad = grad
        self.optimizer.step()
        self.scheduler.step()
        self.steps += 1
        if self.is_cycle_end():
            self.cycle_ends.append(self.steps)
        return {"loss_a": loss_a, "penalty": pen.item(), "lr_a": self.optimizer.param_groups[0]["lr"]}

    def is_cycle_end(self) -> bool:
        """Return whether the last alpha step closed a schedule cycle (diversity scheduler only)."""
        fn = getattr(self.scheduler, "is_cycle_end", None)
        return bool(fn()) if fn is not None else False

    def state_dict(self) -> dict:
        """Return the optimizer, scheduler and counters."""
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "steps": self.steps, "cycle_ends": list(self.cycle_ends)}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.steps, self.cycle_ends = state["steps"], list(state["cycle_ends"])


def _make_scheduler(opt: torch.optim.Optimizer, kind: str, period: int, total: int, lr_min: float,
                    period_mult: float):
    """Return the alpha LR scheduler ``kind``."""
    if kind == "diversity":
        from nas.optim.schedulers import DiversityCosine

        return DiversityCosine(opt, period=max(1, period), lr_min=lr_min, period_mult=period_mult)
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total), eta_min=lr_min)
    if kind == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    raise NasError(f"unknown alpha scheduler {kind!r} (known: diversity, cosine, constant)")


def alpha_entropy(alpha: torch.Tensor) -> List[float]:
    """Return each slot's softmax entropy normalised to [0, 1] (1 = uniform, 0 = collapsed)."""
    p = F.softmax(alpha.detach().float(), -1)
    ent = -(p * p.clamp_min(1e-12).log()).sum(-1) / math.log(alpha.shape[-1])
    return ent.tolist()


def identity_share(alpha: torch.Tensor, index: int = 0) -> float:
    """Return the mean softmax weight of op ``index`` (the identity) over slots: a collapse signal."""
    return float(F.softmax(alpha.detach().float(), -1)[:, index].mean())


def heatmap_figure(alpha: torch.Tensor, keys: Sequence[str], names: Sequence[str], title: str = ""):
    """Return a matplotlib figure of softmax(alpha) as a slots x ops heatmap."""
    from nas.utils.extras import require

    require("matplotlib", purpose="the alpha heatmap of the differentiable search")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = F.softmax(alpha.detach().float(), -1).numpy()
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(names), 0.8 + 0.4 * len(keys)))
    im = ax.imshow(p, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(keys)), keys, fontsize=8)
    fig.colorbar(im, ax=ax)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig

"""The ``search`` section of the search config (window-strategy budget, bilevel options): every default, commented."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from nas.errors import NasError

__all__ = ["DiffSearchConfig"]


@dataclass(frozen=True)
class DiffSearchConfig:
    """The ``search`` section: how many candidates a window strategy may score, and the first-order bilevel search
    of per-slot alpha with a MAdds hinge and a cyclic alpha LR (``--strategy differentiable``). On image spaces
    ``search.batch_size`` is the bilevel batch; the one-shot supernet trains on ``data.batch_size``."""

    max_queries: Optional[int] = None  # window strategies: stop after this many scored candidates; None = the
    #                                    strategy's own budget
    epochs: int = 20  # passes over the weight-training split (8 under-trained the proxy supernet)
    batch_size: int = 32  # clips (images on an image space) per weight step and per alpha step
    grad_accum: int = 1  # micro-batches per step: batch_size / grad_accum samples go through the supernet at once
    w_lr: float = 0.1  # peak SGD learning rate of the shared weights, cosine-annealed per step
    w_momentum: float = 0.9  # SGD momentum
    w_weight_decay: float = 1e-4  # SGD weight decay
    warmup_epochs: int = 1  # weight-only epochs before alpha moves (DARTS-style warm-up against early collapse)
    alpha_lr: float = 0.01  # peak Adam LR of alpha
    alpha_betas: Tuple[float, float] = (0.5, 0.999)  # Adam betas (DARTS values)
    alpha_weight_decay: float = 1e-3  # Adam weight decay on alpha (DARTS value)
    relaxation: str = "gumbel"  # gumbel (hard straight-through, 1 path), softmax (all paths) or sample (k paths)
    paths: int = 2  # sample relaxation only: paths drawn per slot and step
    tau_max: float = 2.0  # softmax temperature at the first epoch, decayed linearly (GDAS-style)
    tau_min: float = 0.5  # temperature at the last epoch
    scheduler: str = "diversity"  # alpha LR: diversity (cosine with warm restarts), cosine or constant
    cycle_epochs: float = 5.0  # diversity only: cycle length in epochs of alpha steps (19 alpha epochs: 3 cycles and a part)
    period_mult: float = 1.0  # diversity only: cycle i lasts cycle * period_mult**i
    alpha_lr_min: float = 0.0  # LR at the end of each cycle (or of the cosine)
    gamma: float = 2.0  # weight of the hinges gamma * (max(0, E[MAdds] - B) + max(0, f * B - E[MAdds])) / B
    min_budget_fraction: float = 0.85  # f: the derived model costs within [f * B, B] (st_topo's window rule)
    bn_batches: int = 4  # batches used to recalibrate BN before scoring an argmax genotype

    def validate(self) -> None:
        """Raise NasError on an inconsistent search config."""
        if self.relaxation not in ("gumbel", "softmax", "sample"):
            raise NasError(f"search.relaxation must be gumbel, softmax or sample, got {self.relaxation!r}")
        if self.scheduler not in ("diversity", "cosine", "constant"):
            raise NasError(f"search.scheduler must be diversity, cosine or constant, got {self.scheduler!r}")
        if self.epochs < 1 or self.batch_size < 1 or not 0 <= self.warmup_epochs < self.epochs:
            raise NasError("need search.epochs >= 1, batch_size >= 1 and 0 <= warmup_epochs < epochs")
        if self.grad_accum < 1:
            raise NasError(f"search.grad_accum must be at least 1, got {self.grad_accum}")
        if self.batch_size % self.grad_accum:
            raise NasError(f"search.batch_size {self.batch_size} must divide by search.grad_accum {self.grad_accum}")
        if self.relaxation == "sample" and self.paths < 2:
            raise NasError("search.paths must be >= 2 for the sample relaxation (one path gives alpha no gradient)")
        if not 0 < self.tau_min <= self.tau_max:
            raise NasError("need 0 < search.tau_min <= search.tau_max")
        if not 0 <= self.min_budget_fraction < 1:
            raise NasError("search.min_budget_fraction must be in [0, 1)")

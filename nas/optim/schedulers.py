"""LR schedulers: the cyclic "diversity" cosine for search and warmup + cosine for retraining."""
from __future__ import annotations

import math
from typing import List, Tuple

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

__all__ = ["DiversityCosine", "WarmupCosine", "cosine_value"]


def cosine_value(t: float, period: float, v_max: float, v_min: float = 0.0) -> float:
    """Return the restarting cosine v_min + (v_max - v_min) * (1 + cos(pi * (t mod period) / period)) / 2.

    Usable for any annealed quantity, e.g. a Gumbel-softmax temperature: ``cosine_value(step, 1000, 5.0, 0.5)``.
    """
    if not period > 0:
        raise ValueError(f"period must be > 0, got {period}")
    return v_min + 0.5 * (v_max - v_min) * (1.0 + math.cos(math.pi * (t % period) / period))


def _cycle_length(period: int, period_mult: float, cycle: int) -> int:
    """Return the number of steps in cycle ``cycle`` (0-based): period * period_mult**cycle, rounded."""
    return max(1, round(period * period_mult**cycle))


def _locate(t: int, period: int, period_mult: float) -> Tuple[int, int, int]:
    """Return (cycle index, position inside the cycle, cycle length) of step ``t``."""
    if period_mult == 1.0:
        return t // period, t % period, period
    cycle, length = 0, period
    while t >= length:
        t -= length
        cycle += 1
        length = _cycle_length(period, period_mult, cycle)
    return cycle, t, length


class DiversityCosine(LRScheduler):
    """Cosine annealing with warm restarts, the PV-NAS-like "diversity" schedule for architecture search.

    lr(t) = lr_min + (lr_max - lr_min) * (1 + cos(pi * (t mod T_c) / T_c)) / 2 with lr_max each group's initial
    LR. Cycle i lasts ``round(period * period_mult**i)`` steps. PV-NAS (arXiv 2011.00826) only says its scheduler
    "encourages network diversity"; this formula is our reading, not the paper's: each restart knocks the
    architecture logits out of an early rich-get-richer collapse, and the argmax architecture recorded at every
    cycle end (see :meth:`is_cycle_end`) becomes one candidate to retrain.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = DiversityCosine(opt, period=2)
        >>> ends = []
        >>> for _ in range(4):
        ...     opt.step()
        ...     sched.step()
        ...     ends.append(sched.is_cycle_end())
        >>> ends
        [False, True, False, True]
    """

    def __init__(
        self, optimizer: Optimizer, period: int, lr_min: float = 0.0, period_mult: float = 1.0, last_epoch: int = -1
    ) -> None:
        if isinstance(period, bool) or not isinstance(period, int) or period < 1:
            raise ValueError(f"period must be a positive int, got {period!r}")
        if not period_mult >= 1.0:
            raise ValueError(f"period_mult must be >= 1, got {period_mult}")
        self.period = period
        self.lr_min = lr_min
        self.period_mult = float(period_mult)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        """Return each group's LR at step ``last_epoch``."""
        _, pos, length = _locate(self.last_epoch, self.period, self.period_mult)
        return [cosine_value(pos, length, base, self.lr_min) for base in self.base_lrs]

    # The schedule is closed-form, so stepping to an explicit epoch needs no special path.
    _get_closed_form_lr = get_lr

    @property
    def cycle(self) -> int:
        """Return the 0-based index of the cycle the current LR belongs to."""
        return _locate(max(self.last_epoch, 0), self.period, self.period_mult)[0]

    def cycle_end(self, t: int) -> bool:
        """Return whether step ``t`` (0-based, the step run with lr(t)) is the last step of its cycle."""
        return _locate(t + 1, self.period, self.period_mult)[1] == 0

    def is_cycle_end(self) -> bool:
        """Return whether the step just finished closed a cycle; call it after ``scheduler.step()``."""
        return self.last_epoch > 0 and self.cycle_end(self.last_epoch - 1)


class WarmupCosine(LRScheduler):
    """Linear warmup then cosine decay, stepped once per iteration, for retraining.

    lr(t) rises linearly from ``warmup_start_factor * lr`` at t = 0 to ``lr`` at t = ``warmup_steps``, then
    follows a half cosine down to ``lr_min`` at t = ``total_steps`` and stays there.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = WarmupCosine(opt, total_steps=10, warmup_steps=2)
        >>> sched.get_last_lr()
        [0.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        total_steps: int,
        warmup_steps: int = 0,
        lr_min: float = 0.0,
        warmup_start_factor: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"need 0 <= warmup_steps < total_steps, got {warmup_steps} and {total_steps}")
        if not 0.0 <= warmup_start_factor <= 1.0:
            raise ValueError(f"warmup_start_factor must be in [0, 1], got {warmup_start_factor}")
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.lr_min = lr_min
        self.warmup_start_factor = warmup_start_factor
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        """Return each group's LR at step ``last_epoch``."""
        return [self._lr_at(self.last_epoch, base) for base in self.base_lrs]

    _get_closed_form_lr = get_lr

    def _lr_at(self, t: int, base: float) -> float:
        """Return the LR at step ``t`` for a group whose peak LR is ``base``."""
        if t < self.warmup_steps:
            start = self.warmup_start_factor
            return base * (start + (1.0 - start) * t / self.warmup_steps)
        progress = min(1.0, (t - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        return self.lr_min + 0.5 * (base - self.lr_min) * (1.0 + math.cos(math.pi * progress))

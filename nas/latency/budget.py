"""Latency budgets: parse ``25ms`` / ``0.5s`` / ``800us``, and one combined cost for MAdds and latency limits.

The window strategies search inside ``[lo, hi]`` of one integer cost. With a latency limit the run hands them
``LimitCost``: the larger of a member's MAdds and its predicted latency, each as parts per million of its own
limit. A member is under both hard limits exactly when that cost is at most 1,000,000, so the evolution
window, the in-window path sampling and every "never over budget" check apply to latency unchanged. Our
reading of the window's lower edge (``min_budget_fraction``) with two limits: the member must use at least
that share of one of them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from nas.errors import NasError

__all__ = ["parse_latency", "format_ms", "LimitCost", "PPM", "fastest"]

PPM = 1_000_000  # the combined cost of a member exactly at its tightest limit
_LATENCY = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|ms|s)\s*$")
_TO_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_latency(text: object, key: str = "--latency") -> float:
    """Parse a latency budget like ``25ms``, ``0.5s`` or ``800us`` into milliseconds (a unit is required)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = f"{text}ms"
    m = _LATENCY.match(str(text)) if isinstance(text, str) else None
    if not m:
        shown = repr(text) if len(repr(text)) <= 24 else repr(text)[:21] + "..."
        raise NasError(f"bad {key} {shown}: use a number with a unit us, ms or s, e.g. 25ms")
    value = float(m.group(1)) * _TO_MS[m.group(2)]
    if not value > 0:
        raise NasError(f"{key} must be positive, got {text!r}")
    return value


def format_ms(ms: float) -> str:
    """Format a latency in ms with three significant figures."""
    return f"{ms:.3g} ms"


def fastest(space, latency_fn: Callable) -> object:
    """Return a member of (near) least predicted latency: per-dimension descent from the MAdds-cheapest member.

    Block entries are nearly independent per dimension (only st_topo's node additions couple them), so two
    passes of picking each dimension's fastest value reach the minimum or sit next to it.
    """
    choice = space.cheapest().as_dict()
    for _ in range(2):
        for dim, values in space.dims().items():
            best = min(values, key=lambda v: latency_fn(space.freeze({**choice, dim: v})))
            choice[dim] = best
    g = space.freeze(choice)
    return g if space.contains(g) is None else space.cheapest()


@dataclass(frozen=True)
class LimitCost:
    """The combined cost of a member under a MAdds limit and/or a latency limit, in parts per million of it."""

    madds_fn: Callable  # genotype -> MAdds at the run's target
    latency_fn: Callable  # genotype -> predicted ms
    madds: Optional[int]  # the MAdds limit, or None
    latency_ms: float  # the latency limit
    measured_floor_ms: Optional[float] = None  # the fastest whole model the table timed (for the message)

    def __call__(self, g) -> int:
        ratio = self.latency_fn(g) / self.latency_ms
        if self.madds is not None:
            ratio = max(ratio, self.madds_fn(g) / self.madds)
        return math.ceil(ratio * PPM)

    def window(self, space, min_fraction: float) -> Tuple[int, int]:
        """Return the feasible ``[lo, hi]`` of this cost; a limit below the fastest (or cheapest) member is an error."""
        quick = fastest(space, self.latency_fn)
        least = self.latency_fn(quick)
        if least > self.latency_ms:
            timed = (f"; the fastest model timed for the table ran in {format_ms(self.measured_floor_ms)}"
                     if self.measured_floor_ms is not None else "")
            raise NasError(f"infeasible latency budget: {format_ms(self.latency_ms)} is below the fastest member "
                           f"of {space.name} ({format_ms(least)} predicted at this target{timed})")
        if self.madds is not None:  # the lower edge of two limits is checked below, on the combined cost
            from nas.core.budget import budget_window

            budget_window(space, self.madds_fn, self.madds, 0.0)
        slow = self.latency_fn(space.largest())
        if min_fraction > 0 and self.latency_ms > slow:  # the budget rule of nas.core.budget, for latency
            raise NasError(f"latency budget {format_ms(self.latency_ms)} is above the largest {space.name} model "
                           f"({format_ms(slow)} predicted at this target): every member fits, and the window "
                           f"[{min_fraction:g} x B, B] keeps only the few near it; give a budget of at most "
                           f"{format_ms(slow)}, or set evolution.min_budget_fraction=0")
        floor = min(self(quick), self(space.cheapest()))
        if floor > PPM:
            raise NasError(f"infeasible budgets: no member found under both {format_ms(self.latency_ms)} and "
                           f"{self.madds / 1e6:.1f}M MAdds")
        lo = min(int(PPM * min_fraction), self(space.largest()))
        return max(lo, floor), PPM

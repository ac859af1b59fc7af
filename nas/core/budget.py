"""The budget rule of every search: the window ``[f * B, B]`` must hold a member of the space.

One function, ``budget_window``, checks it for every family and every caller (the one-shot and tabular
window strategies, the bilevel search, the combined MAdds and latency cost) and says in one line what is
wrong: a budget below the space's cheapest member, or one above its largest while the window has a lower edge
(the window then holds only the few members between ``f * B`` and the largest; with ``f = 0`` a budget above the
largest member is simply no limit, as nb201's default 1G is).
"""
from __future__ import annotations

import math
from typing import Callable, Tuple

from nas.core.genotype import Genotype
from nas.errors import NasError

__all__ = ["budget_window", "format_madds"]


def format_madds(madds: float) -> str:
    """Format a MAdds count with three significant figures: ``330M``, ``1.32G``."""
    if madds >= 1e9:
        return f"{madds / 1e9:.3g}G"
    return f"{madds / 1e6:.3g}M"


def budget_window(space, cost_fn: Callable[[Genotype], int], budget: int, min_fraction: float, *,
                  at: str = "this resolution", key: str = "evolution.min_budget_fraction") -> Tuple[int, int]:
    """Return the feasible ``[lo, hi]`` cost window of ``budget``, or raise a one-line error when it holds no member.

    Args:
        space: the searched space (its ``cheapest()`` and ``largest()`` bound every member's cost).
        cost_fn: genotype -> MAdds at the run's target.
        budget: the hard MAdds limit ``B``.
        min_fraction: ``f``, the window's lower edge as a share of the budget (0: no lower edge).
        at: the target the costs are counted at, for the message (``224^2``, ``8x224^2``).
        key: the config key of ``f``, for the message.
    """
    cheapest = cost_fn(space.cheapest())
    if budget < cheapest:
        raise NasError(f"infeasible budget: MAdds budget {format_madds(budget)} is below the cheapest {space.name} "
                       f"model ({format_madds(cheapest)} MAdds at {at})")
    largest = cost_fn(space.largest())
    if min_fraction > 0 and budget > largest >= int(budget * min_fraction):
        raise NasError(f"MAdds budget {format_madds(budget)} is above the largest {space.name} model "
                       f"({format_madds(largest)} MAdds at {at}): every member fits, and the window [{min_fraction:g} "
                       f"x B, B] keeps only those above {format_madds(budget * min_fraction)}; give a budget of at "
                       f"most {format_madds(largest)}")
    if int(budget * min_fraction) > largest:
        raise NasError(f"infeasible budget: MAdds budget {format_madds(budget)} is above the largest {space.name} "
                       f"model ({format_madds(largest)} MAdds at {at}), so the window [{min_fraction:g} x B, B] is "
                       f"empty; lower the budget or {key} (at most {math.floor(1000 * largest / budget) / 1000:g})")
    return max(int(budget * min_fraction), cheapest), budget

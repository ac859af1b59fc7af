"""What the window families (one-shot, tabular) share: the cost window of the run's limits and the strategy."""
from __future__ import annotations

from typing import Any, Callable, Tuple

from nas.core.genotype import Genotype

__all__ = ["target_text", "check_window", "cost_window", "window_strategy"]

MIN_FRACTION_KEY = "evolution.min_budget_fraction"


def target_text(run: Any) -> str:
    """Return the target the run's costs are counted at, for messages: ``224^2``, ``8x224^2``."""
    frames = f"{run.cfg.frames}x" if run.plugin.modality == "video" else ""
    return f"{frames}{run.cfg.resolution}^2"


def check_window(run: Any) -> None:
    """Raise a one-line error when the run's limits leave no member in the window (no table is measured)."""
    from nas.core.budget import budget_window

    if run.latency is not None:  # the table is at hand (--lut, or cached in the folder): the full check
        cost_window(run)
    elif run.cfg.madds is not None:  # a table still to be measured: the MAdds limit now, latency once built
        budget_window(run.space, run.madds_fn, run.cfg.madds, run.cfg.evolution.min_budget_fraction,
                      at=target_text(run), key=MIN_FRACTION_KEY)


def cost_window(run: Any) -> Tuple[Callable[[Genotype], int], int, int]:
    """Return the window's cost function and its feasible ``[lo, hi]`` (one-line errors when it is empty)."""
    from nas.core.budget import budget_window

    f = run.cfg.evolution.min_budget_fraction
    if run.latency is not None:
        # MAdds and latency limits as one cost (parts per million of the tighter limit), see nas.latency.budget
        cost = run.latency.cost(run.madds_fn, run.cfg.madds)
        lo, hi = cost.window(run.space, f)
        return cost, lo, hi
    lo, hi = budget_window(run.space, run.madds_fn, run.cfg.madds, f, at=target_text(run), key=MIN_FRACTION_KEY)
    return run.madds_fn, lo, hi


def window_strategy(run: Any, cost_fn: Callable[[Genotype], int], lo: int, hi: int):
    """Build the run's window strategy (evolution, random, ...) with the hyperparameters it takes."""
    from nas.search.strategies import create_strategy, strategy_kwargs
    from nas.utils.seeds import seeded_random

    return create_strategy(run.strategy_name, space=run.space, cost_fn=cost_fn, lo=lo, hi=hi,
                           rng=seeded_random(run.cfg.seed, run.strategy_name),
                           **strategy_kwargs(run.strategy_name, run.cfg))

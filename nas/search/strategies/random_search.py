"""Random search inside the cost window: the baseline every other strategy has to beat.

With the same ``population`` and ``generations`` it evaluates exactly as many candidates as evolution,
``population * (generations + 1)``, asked in batches of ``population`` and never one twice. Each draw is
uniform over the space, then walked into the window by ``sample_in_window`` (the sampler the supernet's
paths come from), so every candidate is feasible.
"""
from __future__ import annotations

import random
from typing import Callable, List, Optional, Tuple

from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.errors import NasError
from nas.search.strategies.window import History, ScoredBatches, sample_in_window

__all__ = ["RandomSearch"]


class RandomSearch(ScoredBatches):
    """Uniform sampling under a cost window, driven by ``ask()`` / ``tell()``; seeded and resumable.

    Example:
        >>> import random
        >>> from nas import get_space, cost
        >>> s = RandomSearch(get_space("st_topo"), lambda g: cost(g).madds, lo=250_000_000, hi=330_000_000,
        ...                  population=3, generations=1, rng=random.Random(0))
        >>> while not s.done:
        ...     s.tell([(g, 0.1) for g in s.ask()])
        >>> len(s.history)
        6
    """

    families: Tuple[str, ...] = ("one_shot", "tabular")  # the search families it runs in

    def __init__(self, space: Space, cost_fn: Callable[[Genotype], int], *, lo: int, hi: int, population: int,
                 generations: Optional[int] = None, max_tries: int = 200, max_queries: Optional[int] = None,
                 rng: random.Random):
        if generations is None and max_queries is None:
            raise NasError("random search needs generations or max_queries")
        self.space, self.cost_fn, self.lo, self.hi = space, cost_fn, lo, hi
        self.population, self.generations, self.max_tries = population, generations, max_tries
        self.rng, self.max_queries = rng, max_queries
        self.history = History(space, cost_fn, hi, lo)
        self.generation = 0  # batches told so far

    @property
    def total_rounds(self) -> int:
        """Return how many batches the search asks for."""
        return self.rounds_for(self.generations, self.population)

    def ask(self) -> List[Genotype]:
        """Return ``population`` new in-window candidates, none seen before."""
        seen: set = set()
        out: List[Genotype] = []
        want = len(self.capped([None] * self.population))  # type: ignore[list-item]
        for _ in range(self.population * self.max_tries):
            if len(out) == want:
                return out
            g = sample_in_window(self.space, self.cost_fn, self.lo, self.hi, self.rng, self.max_tries)
            if str(g) not in seen and str(g) not in self.history:
                seen.add(str(g))
                out.append(g)
        raise NasError(f"random search found only {len(out)} new members in the cost window; the window is "
                       "nearly exhausted (lower the population or widen the budget)")

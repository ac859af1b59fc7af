"""Local search: best-improvement hill climbing over one-choice neighbours, with random restarts.

White, Nolen, Ramakrishnan and Neiswanger (2021), "Exploring the Loss Landscape in Neural Architecture
Search", found this simple method at or near the state of the art on NAS-Bench-201. Our reading: start from
the best of ``population`` random members; each round scores every unscored neighbour of the current centre
(each dimension set to each other value, in a shuffled order); move to the best neighbour if it beats the
centre, else restart from a fresh random member. The neighbourhood is the "model" this strategy relies on:
good cells sit next to good cells.
"""
from __future__ import annotations

import random
from typing import Callable, List, Optional, Tuple

from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.errors import NasError
from nas.search.strategies.window import History, Individual, ScoredBatches, sample_in_window

__all__ = ["LocalSearch"]


class LocalSearch(ScoredBatches):
    """Hill climbing under a cost window, driven by ``ask()`` / ``tell()``; seeded and resumable.

    Example:
        >>> import random
        >>> from nas import get_space, cost
        >>> space = get_space("nb201")
        >>> ls = LocalSearch(space, lambda g: cost(g).madds, lo=0, hi=10**9, population=3, max_queries=10,
        ...                  rng=random.Random(0))
        >>> while not ls.done:
        ...     ls.tell([(g, 0.5) for g in ls.ask()])
        >>> ls.queries
        10
    """

    families: Tuple[str, ...] = ("one_shot", "tabular")  # the search families it runs in

    def __init__(self, space: Space, cost_fn: Callable[[Genotype], int], *, lo: int, hi: int, population: int,
                 generations: Optional[int] = None, max_queries: Optional[int] = None, max_tries: int = 200,
                 rng: random.Random):
        if max_queries is None and generations is None:
            raise NasError("local search needs max_queries or generations")
        self.space, self.cost_fn, self.lo, self.hi = space, cost_fn, lo, hi
        self.population, self.max_tries = population, max_tries
        self.max_queries = max_queries if max_queries is not None else population * (generations + 1)
        self.rng = rng
        self.history = History(space, cost_fn, hi, lo)
        self.generation = 0
        self.centre: Optional[str] = None  # the member being climbed from
        self.restarts = 0
        self._dims = space.dims()

    @property
    def done(self) -> bool:
        """Return whether ``max_queries`` members have been scored (or the window is exhausted)."""
        return self.queries_spent() or len(self.history) >= self.space.size()

    @property
    def info(self) -> dict:
        """Return what the last round adds to its search.jsonl row."""
        return {"generation": self.generation - 1, "queries": self.queries, "restarts": self.restarts}

    @property
    def total_rounds(self) -> int:
        """Return an upper bound of the rounds (every round scores at least one member)."""
        return 1 + max(0, self.max_queries - self.population)

    def neighbours(self, g: Genotype) -> List[Genotype]:
        """Return the in-window members that differ from ``g`` in one dimension, shuffled."""
        out = [g.replace(**{d: v}) for d, values in self._dims.items() for v in values if v != g[d]]
        out = [n for n in out if self.lo <= self.cost_fn(n) <= self.hi]
        self.rng.shuffle(out)
        return out

    def _fresh(self, n: int) -> List[Genotype]:
        out: List[Genotype] = []
        for _ in range(n * self.max_tries):
            if len(out) == n:
                break
            g = sample_in_window(self.space, self.cost_fn, self.lo, self.hi, self.rng, self.max_tries)
            if str(g) not in self.history and g not in out:
                out.append(g)
        return out

    def ask(self) -> List[Genotype]:
        """Return the initial random members, the centre's unscored neighbours, or a restart member."""
        if self.centre is None:
            return self.capped(self._fresh(self.population if self.generation == 0 else 1))
        centre = self.history.items[self.centre].genotype
        batch = [n for n in self.neighbours(centre) if str(n) not in self.history]
        return self.capped(batch) if batch else self.capped(self._fresh(1))

    def tell(self, scored) -> None:
        """Record the scores; move the centre to the best new member if it improves on it, else restart."""
        scored = list(scored)
        super().tell(scored)
        if not scored:
            return
        best = max(scored, key=lambda p: p[1])  # ties: the first in the batch
        if self.centre is None or best[1] > self.history.items[self.centre].score:
            self.centre = str(best[0])
        else:  # every unscored neighbour was in the batch: a local optimum
            self.centre, self.restarts = None, self.restarts + 1

    def best(self) -> Individual:
        """Return the best member scored."""
        return self.top(1)[0]

    def state_dict(self) -> dict:
        """Return the history, centre, counters and RNG state."""
        return {**super().state_dict(), "centre": self.centre, "restarts": self.restarts}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
        super().load_state_dict(state)
        self.centre, self.restarts = state["centre"], int(state["restarts"])

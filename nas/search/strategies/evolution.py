"""Budget-constrained evolutionary search (SPOS-style): mutation and uniform crossover over choices.

The strategy sees only the space, a pure ``cost_fn(genotype) -> int`` and the scores it is told. Every
candidate it asks for lies inside ``[lo, hi]``, so nothing over budget is ever evaluated or returned.
"""
from __future__ import annotations

import random
from typing import Callable, List, Optional, Sequence, Tuple

from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.search.strategies.window import History, ScoredBatches, sample_in_window

__all__ = ["Evolution"]


class Evolution(ScoredBatches):
    """Evolution under a cost window, driven by ``ask()`` / ``tell()``; seeded and resumable.

    With ``generations`` set it is ``done`` after the initial population plus that many generations, the
    budget ``random`` search matches; without it, it runs for as long as its caller asks. ``max_queries`` stops
    it after that many scored candidates (the last batch is cut short).

    Example:
        >>> import random
        >>> from nas import get_space, cost
        >>> space = get_space("st_topo")
        >>> evo = Evolution(space, lambda g: cost(g).madds, lo=250_000_000, hi=330_000_000,
        ...                 population=4, parents=2, rng=random.Random(0))
        >>> batch = evo.ask()
        >>> evo.tell([(g, float(i)) for i, g in enumerate(batch)])
        >>> evo.best().score
        3.0
    """

    families: Tuple[str, ...] = ("one_shot", "tabular")  # the search families it runs in

    def __init__(self, space: Space, cost_fn: Callable[[Genotype], int], *, lo: int, hi: int, population: int,
                 parents: int, generations: Optional[int] = None, mutation_prob: float = 0.1,
                 crossover_share: float = 0.5, max_tries: int = 200, max_queries: Optional[int] = None,
                 rng: random.Random):
        self.space, self.cost_fn, self.lo, self.hi = space, cost_fn, lo, hi
        self.population, self.parents, self.generations = population, parents, generations
        self.mutation_prob, self.crossover_share, self.max_tries = mutation_prob, crossover_share, max_tries
        self.rng, self.max_queries = rng, max_queries
        self.history = History(space, cost_fn, hi, lo)
        self.generation = 0  # number of generations told so far
        self._dims = space.dims()

    @property
    def total_rounds(self) -> Optional[int]:
        """Return how many batches the search asks for: the initial population plus the generations."""
        return self.rounds_for(self.generations, self.population)

    # -- feasibility -------------------------------------------------------------------------------
    def feasible(self, g: Genotype) -> bool:
        """Return whether ``g``'s cost lies in the window."""
        return self.lo <= self.cost_fn(g) <= self.hi

    def random_feasible(self) -> Genotype:
        """Sample a member in the window (see ``sample_in_window``)."""
        return sample_in_window(self.space, self.cost_fn, self.lo, self.hi, self.rng, self.max_tries)

    # -- variation ---------------------------------------------------------------------------------
    def mutate(self, g: Genotype) -> Genotype:
        """Resample each choice with probability ``mutation_prob`` (at least one changes)."""
        choice = g.as_dict()
        dims = list(self._dims)
        forced = self.rng.choice(dims)
        for dim in dims:
            if dim == forced or self.rng.random() < self.mutation_prob:
                choice[dim] = self.rng.choice(self._dims[dim])
        return self.space.freeze(choice)

    def crossover(self, a: Genotype, b: Genotype) -> Genotype:
        """Take each choice from ``a`` or ``b`` with equal probability."""
        da, db = a.as_dict(), b.as_dict()
        return self.space.freeze({d: (da[d] if self.rng.random() < 0.5 else db[d]) for d in self._dims})

    def _child(self, parents: Sequence[Genotype], cross: bool, seen: set) -> Optional[Genotype]:
        for _ in range(self.max_tries):
            if cross and len(parents) > 1:
                a, b = self.rng.sample(list(parents), 2)
                child = self.crossover(a, b)
            else:
                child = self.mutate(self.rng.choice(list(parents)))
            key = str(child)
            if key not in seen and key not in self.history and self.feasible(child):
                return child
        return None

    # -- ask / tell --------------------------------------------------------------------------------
    def ask(self) -> List[Genotype]:
        """Return the next batch of new, feasible, never-evaluated candidates."""
        seen: set = set()
        out: List[Genotype] = []
        parents = [i.genotype for i in self.top(self.parents)]
        n_cross = int(round(self.population * self.crossover_share)) if parents else 0
        while len(out) < self.population:
            child = self._child(parents, len(out) < n_cross, seen) if parents else None
            if child is None:
                child = self.random_feasible()
                if str(child) in seen or str(child) in self.history:
                    continue
            seen.add(str(child))
            out.append(child)
        return self.capped(out)

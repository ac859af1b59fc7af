"""Regularized (aging) evolution (Real et al. 2019, "Regularized Evolution for Image Classifier Architecture
Search"), as NAS-Bench-201 runs it: tournament of S, one-edge mutation, the oldest member removed.

Every evaluation is a query, repeats included: a child identical to a cell seen before is scored (looked up)
again and joins the population, as in the paper's and the benchmark's implementations.
"""
from __future__ import annotations

import random
from collections import deque
from typing import Callable, Deque, List, Optional, Tuple

from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.errors import NasError
from nas.search.strategies.window import History, Individual, ScoredBatches, sample_in_window

__all__ = ["RegularizedEvolution"]


class RegularizedEvolution(ScoredBatches):
    """Aging evolution under a cost window, driven by ``ask()`` / ``tell()``; seeded and resumable.

    The first round asks for ``population`` random members; every later round asks for one child of the best
    of ``sample_size`` distinct members drawn from the population, which then drops its oldest member. The
    search stops after ``max_queries`` evaluations (default ``population * (generations + 1)``).

    Example:
        >>> import random
        >>> from nas import get_space, cost
        >>> space = get_space("nb201")
        >>> re = RegularizedEvolution(space, lambda g: cost(g).madds, lo=0, hi=10**9, population=4,
        ...                           sample_size=2, max_queries=6, rng=random.Random(0))
        >>> while not re.done:
        ...     re.tell([(g, 0.5) for g in re.ask()])
        >>> re.queries
        6
    """

    families: Tuple[str, ...] = ("one_shot", "tabular")  # the search families it runs in

    def __init__(self, space: Space, cost_fn: Callable[[Genotype], int], *, lo: int, hi: int, population: int,
                 sample_size: int, generations: Optional[int] = None, max_queries: Optional[int] = None,
                 max_tries: int = 200, rng: random.Random):
        if max_queries is None and generations is None:
            raise NasError("regularized evolution needs max_queries or generations")
        self.space, self.cost_fn, self.lo, self.hi = space, cost_fn, lo, hi
        self.population, self.sample_size, self.max_tries = population, min(sample_size, population), max_tries
        self.max_queries = max_queries if max_queries is not None else population * (generations + 1)
        self.rng = rng
        self.history = History(space, cost_fn, hi, lo)
        self.members: Deque[Individual] = deque()  # the population, oldest first
        self.generation = 0  # rounds told
        self.evaluations = 0  # queries, repeats included
        self._dims = space.dims()

    @property
    def queries(self) -> int:
        """Return the evaluations so far, repeats included."""
        return self.evaluations

    @property
    def done(self) -> bool:
        """Return whether ``max_queries`` evaluations have been told."""
        return self.evaluations >= self.max_queries

    @property
    def info(self) -> dict:
        """Return what the last round adds to its search.jsonl row."""
        return {"generation": self.generation - 1, "queries": self.evaluations}

    @property
    def total_rounds(self) -> int:
        """Return the rounds: the initial population, then one per remaining query."""
        return 1 + max(0, self.max_queries - self.population)

    def mutate(self, g: Genotype) -> Genotype:
        """Return ``g`` with one uniformly chosen dimension set to one of its other values, inside the window."""
        for _ in range(self.max_tries):
            dim = self.rng.choice(list(self._dims))
            others = [v for v in self._dims[dim] if v != g[dim]]
            child = g.replace(**{dim: self.rng.choice(others)})
            if self.lo <= self.cost_fn(child) <= self.hi:
                return child
        return sample_in_window(self.space, self.cost_fn, self.lo, self.hi, self.rng, self.max_tries)

    def ask(self) -> List[Genotype]:
        """Return the initial population (first round) or one child."""
        if self.generation == 0:
            out: List[Genotype] = []
            while len(out) < min(self.population, self.max_queries):
                g = sample_in_window(self.space, self.cost_fn, self.lo, self.hi, self.rng, self.max_tries)
                if g not in out:
                    out.append(g)
            return out
        contenders = self.rng.sample(list(self.members), self.sample_size)
        parent = max(contenders, key=lambda i: i.score)  # ties: the first drawn
        return [self.mutate(parent.genotype)]

    def tell(self, scored) -> None:
        """Add the scored members to the population (oldest removed beyond ``population``) and the history."""
        for g, score in scored:
            self.history.add(g, score)
            self.members.append(Individual(g, float(score), self.cost_fn(g)))
            if len(self.members) > self.population:
                self.members.popleft()
            self.evaluations += 1
        self.generation += 1

    def state_dict(self) -> dict:
        """Return the history, population, counters and RNG state."""
        state = super().state_dict()
        state.update(evaluations=self.evaluations,
                     members=[{"genotype": str(i.genotype), "score": i.score, "madds": i.madds} for i in self.members])
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
        super().load_state_dict(state)
        self.evaluations = int(state["evaluations"])
        self.members = deque(Individual(self.space.parse(d["genotype"]), float(d["score"]), int(d["madds"]))
                             for d in state["members"])

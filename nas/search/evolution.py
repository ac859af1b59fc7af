"""Budget-constrained evolutionary search (SPOS-style): mutation and uniform crossover over choices.

The strategy sees only the space, a pure ``cost_fn(genotype) -> int`` and the scores it is told. Every
candidate it asks for lies inside ``[lo, hi]``, so nothing over budget is ever evaluated or returned.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.errors import NasError

__all__ = ["Individual", "Evolution", "cost_window", "sample_in_window"]


@dataclass(frozen=True)
class Individual:
    """One scored candidate."""

    genotype: Genotype
    score: float
    madds: int


def cost_window(space: Space, cost_fn: Callable[[Genotype], int], budget: int,
                min_fraction: float) -> Tuple[int, int]:
    """Return the feasible ``[lo, hi]`` MAdds window, or raise if the budget is below the cheapest member."""
    cheapest = cost_fn(space.cheapest())
    if budget < cheapest:
        raise NasError(f"infeasible budget: {budget / 1e6:.1f}M MAdds is below the cheapest member of "
                       f"{space.name} ({cheapest / 1e6:.1f}M at this resolution)")
    largest = cost_fn(space.largest())
    lo = min(int(budget * min_fraction), largest)
    return max(lo, cheapest), budget


def _repair(space: Space, cost_fn: Callable[[Genotype], int], g: Genotype, lo: int, hi: int, rng: random.Random,
            max_tries: int) -> Optional[Genotype]:
    """Move ``g`` into ``[lo, hi]`` by random single-choice changes, keeping only those that go the right way."""
    dims = space.dims()
    names = list(dims)
    choice = g.as_dict()
    cost = cost_fn(g)
    for _ in range(max_tries):
        if lo <= cost <= hi:
            return space.freeze(choice)
        dim = rng.choice(names)
        old = choice[dim]
        choice[dim] = rng.choice(dims[dim])
        new = cost_fn(space.freeze(choice))
        too_big, too_small = cost > hi, cost < lo
        if (too_big and new < cost) or (too_small and cost < new):
            cost = new
        else:
            choice[dim] = old
    return None


def sample_in_window(space: Space, cost_fn: Callable[[Genotype], int], lo: int, hi: int, rng: random.Random,
                     max_tries: int = 200) -> Genotype:
    """Sample a member whose cost lies in ``[lo, hi]``: a uniform draw, then a random repair walk into the window."""
    for _ in range(max_tries):
        g = _repair(space, cost_fn, space.sample(rng), lo, hi, rng, max_tries)
        if g is not None and space.contains(g) is None:
            return g
    raise NasError(f"could not sample a member within {lo / 1e6:.1f}M-{hi / 1e6:.1f}M MAdds; "
                   "widen the budget or lower evolution.min_budget_fraction")


class Evolution:
    """Evolution under a cost window, driven by ``ask()`` / ``tell()``; seeded and resumable.

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

    def __init__(self, space: Space, cost_fn: Callable[[Genotype], int], *, lo: int, hi: int, population: int,
                 parents: int, mutation_prob: float = 0.1, crossover_share: float = 0.5, max_tries: int = 200,
                 rng: random.Random):
        self.space, self.cost_fn, self.lo, self.hi = space, cost_fn, lo, hi
        self.population, self.parents = population, parents
        self.mutation_prob, self.crossover_share, self.max_tries = mutation_prob, crossover_share, max_tries
        self.rng = rng
        self.history: Dict[str, Individual] = {}
        self.generation = 0  # number of generations told so far
        self._dims = space.dims()

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
        return out

    def tell(self, scored: Sequence[Tuple[Genotype, float]]) -> None:
        """Record the scores of a batch returned by ``ask``."""
        for g, score in scored:
            madds = self.cost_fn(g)
            assert madds <= self.hi, "an over-budget candidate was scored"
            self.history[str(g)] = Individual(g, float(score), madds)
        self.generation += 1

    def top(self, k: int) -> List[Individual]:
        """Return the ``k`` best individuals seen (ties broken by lower cost, then by string)."""
        ranked = sorted(self.history.values(), key=lambda i: (-i.score, i.madds, str(i.genotype)))
        return ranked[:k]

    def best(self) -> Individual:
        """Return the best individual seen."""
        return self.top(1)[0]

    # -- resume ------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Return a JSON-serialisable state: history, generation and the RNG state."""
        version, internal, gauss = self.rng.getstate()
        return {
            "generation": self.generation,
            "history": [{"genotype": str(i.genotype), "score": i.score, "madds": i.madds}
                        for i in self.history.values()],
            "rng": [version, list(internal), gauss],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a state produced by ``state_dict``."""
        self.generation = int(state["generation"])
        self.history = {}
        for item in state["history"]:
            g = self.space.parse(item["genotype"])
            self.history[item["genotype"]] = Individual(g, float(item["score"]), int(item["madds"]))
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))

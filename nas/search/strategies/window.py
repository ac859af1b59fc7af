"""What the budget-window strategies share: the scored record, the cost window, in-window sampling, a history."""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Tuple

from nas.core.budget import budget_window
from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.errors import NasError
from nas.utils.seeds import rng_from_list, rng_to_list  # re-exported: the strategies' state helpers

__all__ = ["Individual", "History", "ScoredBatches", "Finalist", "pick_finalists", "cost_window", "sample_in_window",
           "rng_to_list", "rng_from_list"]


@dataclass(frozen=True)
class Individual:
    """One scored candidate."""

    genotype: Genotype
    score: float
    madds: int


def cost_window(space: Space, cost_fn: Callable[[Genotype], int], budget: int,
                min_fraction: float) -> Tuple[int, int]:
    """Return the feasible ``[lo, hi]`` MAdds window, or raise if it holds no member (``nas.core.budget``)."""
    return budget_window(space, cost_fn, budget, min_fraction)


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


class History:
    """The scored candidates of a window strategy, with ranking and a JSON-friendly state."""

    def __init__(self, space: Space, cost_fn: Callable[[Genotype], int], hi: int, lo: int = 0):
        self.space, self.cost_fn, self.hi, self.lo = space, cost_fn, hi, lo
        self.items: Dict[str, Individual] = {}

    def __contains__(self, key: object) -> bool:
        return key in self.items

    def __len__(self) -> int:
        return len(self.items)

    def add(self, g: Genotype, score: float) -> None:
        """Record ``g`` with its score; a candidate outside the cost window ``[lo, hi]`` is a strategy bug."""
        madds = self.cost_fn(g)
        if not self.lo <= madds <= self.hi:  # a strategy bug, never user input: fail loudly, even under python -O
            raise RuntimeError(f"candidate {str(g)[:60]} costs {madds:,} MAdds, outside the window "
                               f"[{self.lo:,}, {self.hi:,}]")
        self.items[str(g)] = Individual(g, float(score), madds)

    def top(self, k: int) -> List[Individual]:
        """Return the ``k`` best individuals (ties broken by lower cost, then by string)."""
        ranked = sorted(self.items.values(), key=lambda i: (-i.score, i.madds, str(i.genotype)))
        return ranked[:k]

    def state(self) -> List[dict]:
        """Return the history as plain dicts."""
        return [{"genotype": str(i.genotype), "score": i.score, "madds": i.madds} for i in self.items.values()]

    def load(self, items: List[dict]) -> None:
        """Restore what ``state`` returned."""
        self.items = {d["genotype"]: Individual(self.space.parse(d["genotype"]), float(d["score"]), int(d["madds"]))
                      for d in items}


class ScoredBatches:
    """The bookkeeping shared by the batch strategies (evolution, random): scores told, the best, resume.

    A subclass sets ``rng`` (a ``random.Random``), ``history`` (a ``History``) and ``generation`` (batches
    told so far) in its constructor and implements ``ask``; ``done`` and ``info`` default to the
    generation count (``generations``: rounds after the first; None lets ``max_queries`` decide).
    """

    rng: random.Random
    history: History
    generation: int
    generations: Optional[int] = None  # rounds after the first, for the default ``done``
    max_queries: Optional[int] = None  # stop after this many scored candidates (None: the rounds decide)

    @property
    def done(self) -> bool:
        """Return whether the first batch and all ``generations`` after it (or ``max_queries``) have been told."""
        return (self.generations is not None and self.generation > self.generations) or self.queries_spent()

    @property
    def info(self) -> dict:
        """Return what the last round adds to its search.jsonl row."""
        return {"generation": self.generation - 1}

    @property
    def queries(self) -> int:
        """Return how many candidates have been scored (these strategies never ask for one twice)."""
        return len(self.history)

    def queries_spent(self) -> bool:
        """Return whether ``max_queries`` candidates have been scored."""
        return self.max_queries is not None and self.queries >= self.max_queries

    def capped(self, batch: List[Genotype]) -> List[Genotype]:
        """Return ``batch`` cut to the queries left under ``max_queries``."""
        return batch if self.max_queries is None else batch[:max(0, self.max_queries - self.queries)]

    def rounds_for(self, generations: Optional[int], batch: int) -> Optional[int]:
        """Return the rounds of ``batch`` candidates that ``generations`` + 1 and ``max_queries`` allow."""
        rounds = None if generations is None else generations + 1
        if self.max_queries is not None:
            by_queries = -(-self.max_queries // batch)
            rounds = by_queries if rounds is None else min(rounds, by_queries)
        return rounds

    def tell(self, scored) -> None:
        """Record the scores of a batch returned by ``ask``."""
        for g, score in scored:
            self.history.add(g, score)
        self.generation += 1

    def top(self, k: int) -> List[Individual]:
        """Return the ``k`` best individuals seen (ties broken by lower cost, then by string)."""
        return self.history.top(k)

    def best(self) -> Individual:
        """Return the best individual seen."""
        return self.top(1)[0]

    def result(self) -> Tuple[Genotype, Optional[float]]:
        """Return the best genotype and its score."""
        best = self.best()
        return best.genotype, best.score

    def state_dict(self) -> dict:
        """Return a JSON-serialisable state: history, batches told and the RNG state."""
        return {"generation": self.generation, "history": self.history.state(), "rng": rng_to_list(self.rng)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state produced by ``state_dict``."""
        self.generation = int(state["generation"])
        self.history.load(state["history"])
        rng_from_list(self.rng, state["rng"])


@dataclass(frozen=True)
class Finalist:
    """One retrained candidate: its genotype string, cost at the target, held-out top-1 and supernet score."""

    genotype: str
    madds: int
    params: int
    score: float  # held-out top-1 after the brief training (a fraction)
    supernet_score: float  # the same clips scored through the supernet with shared weights

    def as_dict(self) -> dict:
        """Return the plain dict written to summary.json and the checkpoint."""
        return asdict(self)


def pick_finalists(candidates: Sequence[str], final: str, limit: int) -> List[str]:
    """Return the distinct candidates (cycle ends, then the final derived genotype), the latest ``limit``."""
    seen: List[str] = []
    for g in [*candidates, final]:
        if g in seen:
            seen.remove(g)  # keep its latest position
        seen.append(g)
    return seen[-limit:] if limit > 0 else []

"""STRATEGIES: seeded, resumable ask/tell search strategies, one module each, picked by name.

Every strategy answers the same five calls, so one search run (``nas.search.run.SearchRun``) drives any of them:

- ``ask() -> list of genotypes``: the next batch to score;
- ``tell([(genotype, score), ...])``: their scores, fractions in [0, 1];
- ``done``: True once the strategy's evaluation budget is spent (after ``total_rounds`` rounds);
- ``best() -> Individual`` and ``top(k)``: the pick so far (and the runners-up);
- ``result() -> (genotype, score or None)``: the final answer; None asks the run to score it;
- ``info``: what the last round adds to its ``search.jsonl`` row;
- ``state_dict()`` / ``load_state_dict(state)``: everything needed to resume bit for bit.

Constructors take keyword-only hyperparameters and an injected ``rng``.

Example:
    >>> import random
    >>> from nas import get_space, cost
    >>> space = get_space("st_topo")
    >>> s = create_strategy("random", space=space, cost_fn=lambda g: cost(g).madds, lo=250_000_000,
    ...                     hi=330_000_000, population=2, generations=0, rng=random.Random(0))
    >>> s.tell([(g, 0.5) for g in s.ask()])
    >>> s.done
    True
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Protocol, Sequence, Tuple, runtime_checkable

from nas.core.genotype import Genotype
from nas.registry import Registry

__all__ = ["STRATEGIES", "Strategy", "register_strategy", "list_strategies", "create_strategy", "strategy_kwargs"]

STRATEGIES: Registry[Callable[..., "Strategy"]] = Registry("strategy")


@runtime_checkable
class Strategy(Protocol):
    """The ask/tell interface every registered strategy implements."""

    def ask(self) -> List[Genotype]:
        """Return the next batch of candidates to score."""

    def tell(self, scored: Sequence[Tuple[Genotype, float]]) -> None:
        """Record the scores of the batch ``ask`` returned."""

    @property
    def done(self) -> bool:
        """Return whether the evaluation budget is spent."""

    @property
    def total_rounds(self) -> int:
        """Return how many ask/tell rounds the strategy runs."""

    @property
    def info(self) -> dict:
        """Return what the last round adds to its search.jsonl row."""

    def best(self) -> Any:
        """Return the best scored candidate (an ``Individual``)."""

    def top(self, k: int) -> List[Any]:
        """Return the ``k`` best scored candidates."""

    def result(self) -> Tuple[Genotype, Optional[float]]:
        """Return the final genotype and its score (None: the run scores it)."""

    def state_dict(self) -> dict:
        """Return a resumable state."""

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""


def register_strategy(name: str) -> Callable:
    """Return a decorator that registers a strategy class under ``name`` (a duplicate raises)."""
    return STRATEGIES.register(name)


def list_strategies(pattern: str = "*") -> List[str]:
    """Return the names of the registered strategies matching an fnmatch pattern."""
    _load()
    return STRATEGIES.list(pattern)


def create_strategy(name: str, **kwargs: Any) -> "Strategy":
    """Build the strategy ``name`` with its keyword-only arguments."""
    _load()
    return STRATEGIES.get(name)(**kwargs)


# Search-config fields a window strategy may take, by constructor keyword: (section, field).
CONFIG_KWARGS = {"population": ("evolution", "population"), "generations": ("evolution", "generations"),
                 "parents": ("evolution", "parents"), "mutation_prob": ("evolution", "mutation_prob"),
                 "crossover_share": ("evolution", "crossover_share"), "max_tries": ("evolution", "max_tries"),
                 "sample_size": ("evolution", "sample_size"), "max_queries": ("search", "max_queries")}


def strategy_kwargs(name: str, cfg: Any) -> dict:
    """Return the hyperparameters strategy ``name`` takes, read from a search config (the thin adapter).

    Only the keywords its constructor declares are passed. A set ``search.max_queries`` is the one evaluation
    budget: it replaces ``evolution.generations``.
    """
    import inspect

    _load()
    params = inspect.signature(STRATEGIES.get(name)).parameters
    kw = {k: getattr(getattr(cfg, sec), f) for k, (sec, f) in CONFIG_KWARGS.items() if k in params}
    if kw.get("max_queries") is not None and "generations" in kw:
        kw["generations"] = None
    return kw


def _load() -> None:
    """Import the bundled strategy modules (they register themselves)."""
    from nas.search.strategies import (  # noqa: F401
        differentiable, evolution, local_search, random_search, regularized_evolution)

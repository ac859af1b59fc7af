"""STRATEGIES: seeded, resumable ask/tell search strategies, one module each, picked by name.

Strategies are plugins: each is a class named in the ``nas.strategies`` entry point group (the bundled ones in
this project's ``setup.cfg``), registered under its entry point's name on first use, so a package of your own
adds one without touching nas (docs/adding_a_strategy.md). ``register_strategy`` registers one in this process.

Every strategy answers the same five calls, so one search run (``nas.search.run.SearchRun``) drives any of them:

- ``ask() -> list of genotypes``: the next batch to score;
- ``tell([(genotype, score), ...])``: their scores, fractions in [0, 1];
- ``done``: True once the strategy's evaluation budget is spent (after ``total_rounds`` rounds);
- ``best() -> Individual`` and ``top(k)``: the pick so far (and the runners-up);
- ``result() -> (genotype, score or None)``: the final answer; None asks the run to score it;
- ``info``: what the last round adds to its ``search.jsonl`` row;
- ``state_dict()`` / ``load_state_dict(state)``: everything needed to resume bit for bit.

Its class attribute ``families`` names the search families it can run in: ``("one_shot", "tabular")`` for a
cost-window strategy (built with ``space, cost_fn, lo=, hi=, rng=`` and the hyperparameters of
``strategy_kwargs``), ``("bilevel",)`` for one that drives a differentiable supernet's trainer. Constructors take
keyword-only hyperparameters and an injected ``rng``.

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
from nas.errors import NasError
from nas.plugins import load_entry_points
from nas.registry import Registry

__all__ = ["STRATEGIES", "Strategy", "register_strategy", "load_strategies", "list_strategies", "create_strategy",
           "strategy_kwargs"]

STRATEGIES: Registry[Callable[..., "Strategy"]] = Registry("strategy")
ENTRY_POINT_GROUP = "nas.strategies"


@runtime_checkable
class Strategy(Protocol):
    """The ask/tell interface every registered strategy implements."""

    families: Tuple[str, ...]  # the search families it runs in, e.g. ("one_shot", "tabular") or ("bilevel",)

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
    """Return a decorator that registers a strategy class under ``name`` in this process (a duplicate raises)."""
    return STRATEGIES.register(name)


def load_strategies() -> None:
    """Register every strategy advertised in the ``nas.strategies`` entry point group (once per process)."""
    load_entry_points(ENTRY_POINT_GROUP, STRATEGIES, _adopt)


def _adopt(name: str, cls: Any) -> None:
    """Register a ``nas.strategies`` entry point's object: a class with the ask/tell calls."""
    if not isinstance(cls, type) or not all(callable(getattr(cls, m, None)) for m in ("ask", "tell")):
        raise NasError("is not a strategy class (one with ask and tell)")
    STRATEGIES.add(name, cls)


def list_strategies(pattern: str = "*") -> List[str]:
    """Return the names of the registered strategies matching an fnmatch pattern."""
    load_strategies()
    return STRATEGIES.list(pattern)


def create_strategy(name: str, **kwargs: Any) -> "Strategy":
    """Build the strategy ``name`` with its keyword-only arguments."""
    load_strategies()
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

    load_strategies()
    params = inspect.signature(STRATEGIES.get(name)).parameters
    kw = {k: getattr(getattr(cfg, sec), f) for k, (sec, f) in CONFIG_KWARGS.items() if k in params}
    if kw.get("max_queries") is not None and "generations" in kw:
        kw["generations"] = None
    return kw


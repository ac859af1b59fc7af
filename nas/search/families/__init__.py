"""FAMILIES: how a search is carried out around its strategy (one-shot, tabular, bilevel), picked by registries.

A strategy only asks and tells. A family owns everything else: which spaces and configs it serves, the
checks made before any folder is written, the scorer and its preparation phases, the training, and what it
adds to the summary. A strategy class names the families it can run in (``families``; a class without the
attribute runs in ``one_shot`` and ``tabular``). The run takes the first of those the config selects and
asks that family whether the space can host it: the one place that refuses a strategy on a space. Families are
found through the ``nas.families`` entry point group, as spaces, strategies and tasks are.

Example:
    >>> import nas
    >>> resolve_family(nas.get_plugin("nb201"), "differentiable")
    'bilevel'
    >>> list_families()
    ['bilevel', 'one_shot', 'tabular']
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

from nas.errors import NasError
from nas.registry import Registry

__all__ = ["FAMILIES", "Family", "Setup", "register_family", "list_families", "create_family",
           "strategy_families", "resolve_strategy", "resolve_family", "DEFAULT_FAMILIES", "load_families"]

ENTRY_POINT_GROUP = "nas.families"
FAMILIES: Registry[Callable[[], "Family"]] = Registry("search family")
DEFAULT_FAMILIES: Tuple[str, ...] = ("one_shot", "tabular")  # of a strategy class that names none


@dataclass
class Setup:
    """What a family brings to the run it drives."""

    scorer: Any  # callable(genotypes, on_done) -> per-genotype score rows; may have phases()
    strategy: Any
    round_units: int  # progress units of one round
    final_weights: Callable[[], Optional[Dict[str, torch.Tensor]]]
    num_classes: int  # classes the target cost is counted for
    log_round: Optional[Callable[[Any, int, dict, float], None]] = None
    summary_extra: Callable[[], dict] = field(default=lambda: {})
    spread: bool = False  # the scorer's rows hold one score per weight snapshot
    choose: Optional[Callable[[], Any]] = None  # -> (genotype, score) instead of the strategy's result (finalists)
    ranked: Optional[Callable[[int], List[Tuple[Any, Optional[float]]]]] = None  # k -> the best k (genotype, score),
    #                          best first, when the family ranks them itself (finalists); None: strategy.top(k)
    before_ask: Optional[Callable[[], None]] = None  # the family's work of a round before the strategy asks
    state_dict: Callable[[], dict] = field(default=lambda: {})  # the family's own resumable state
    load_state_dict: Callable[[dict], None] = field(default=lambda state: None)


class Family(abc.ABC):
    """The interface of a search family: ``build`` is its own; the other defaults serve a family that needs nothing."""

    def selects(self, cfg: Any) -> bool:
        """Return whether ``cfg`` asks for this family among those a strategy can run in (None: no config)."""
        return True

    def refusal(self, plugin: Any, strategy: str) -> Optional[str]:
        """Return why ``plugin``'s space cannot host ``strategy`` in this family (one line), or None."""
        return None

    def check(self, run: Any) -> None:
        """Raise a one-line error on anything that would fail later; write nothing and measure nothing."""

    @abc.abstractmethod
    def build(self, run: Any) -> Setup:
        """Return the scorer, strategy and hooks of ``run`` (after ``check``, with its folder open)."""


def register_family(name: str) -> Callable:
    """Return a decorator that registers a family class under ``name`` (a duplicate raises)."""
    return FAMILIES.register(name)


def load_families() -> None:
    """Register every family advertised in the ``nas.families`` entry point group (once per process)."""
    from nas.plugins import load_entry_points

    load_entry_points(ENTRY_POINT_GROUP, FAMILIES, _adopt)


def _adopt(name: str, cls: Any) -> None:
    """Register a ``nas.families`` entry point's object: a Family subclass."""
    if not (isinstance(cls, type) and issubclass(cls, Family)):
        raise NasError("is not a Family subclass")
    FAMILIES.add(name, cls)


def list_families(pattern: str = "*") -> List[str]:
    """Return the names of the registered families matching an fnmatch pattern."""
    load_families()
    return FAMILIES.list(pattern)


def create_family(name: str, **kwargs: Any) -> Family:
    """Build the family ``name``."""
    load_families()
    return FAMILIES.get(name)(**kwargs)


def strategy_families(name: str) -> Tuple[str, ...]:
    """Return the families strategy ``name`` can run in, in its order of preference."""
    from nas.search.strategies import STRATEGIES, list_strategies

    list_strategies()  # the bundled strategies are registered
    return tuple(getattr(STRATEGIES.get(name), "families", DEFAULT_FAMILIES))


def resolve_strategy(plugin: Any, name: Optional[str], cfg: Any = None) -> str:
    """Return the strategy to run on ``plugin``'s space (``name`` or its default); a misfit is a one-line error."""
    name = name or plugin.default_strategy
    resolve_family(plugin, name, cfg)
    return name


def resolve_family(plugin: Any, strategy: str, cfg: Any = None) -> str:
    """Return the family that runs ``strategy`` on ``plugin``'s space under ``cfg``; a misfit is a one-line error."""
    names = strategy_families(strategy)
    chosen = next((n for n in names if create_family(n).selects(cfg)), None)
    if chosen is None:
        raise NasError(f"strategy {strategy!r} runs in {', '.join(names) or 'no family'}; this config selects "
                       "none of them")
    reason = create_family(chosen).refusal(plugin, strategy)
    if reason is not None:
        raise NasError(reason)
    return chosen


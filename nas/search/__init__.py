"""Search: one generic run (``SearchRun``), the strategies registry, one-shot and bilevel scorers."""
from __future__ import annotations

from nas.search.strategies import STRATEGIES, create_strategy, list_strategies, register_strategy

__all__ = ["STRATEGIES", "create_strategy", "list_strategies", "register_strategy"]

"""The tabular family: a window strategy scored by look-ups in the space's benchmark table (``--benchmark``)."""
from __future__ import annotations

from typing import Any, Optional

from nas.errors import NasError
from nas.search.families import Family, Setup
from nas.search.families.window import check_window, cost_window, window_strategy

__all__ = ["TabularFamily", "benchmark_selected", "benchmark_scorer", "refuse_stray_table"]


def benchmark_selected(cfg: Any) -> bool:
    """Return whether ``cfg`` names a tabular benchmark (``benchmark.name``)."""
    bench = getattr(cfg, "benchmark", None)
    return bench is not None and bench.name is not None


def refuse_stray_table(cfg: Any) -> None:
    """Refuse ``benchmark.table`` without ``benchmark.name`` (a table that would be silently ignored)."""
    bench = getattr(cfg, "benchmark", None)
    if bench is not None and bench.name is None and bench.table is not None:
        raise NasError("benchmark.table applies only with --benchmark (benchmark.name)")


def benchmark_scorer(run: Any):
    """Return the run's ``TabularScorer`` (benchmark checked, table read), or None without ``benchmark.name``."""
    refuse_stray_table(run.cfg)
    if not benchmark_selected(run.cfg):
        return None
    if run.score_fn is not None:
        raise NasError("--eval-workers does not apply to a tabular search (a look-up needs no workers)")
    from nas.search.scorer import TabularScorer

    return TabularScorer.for_config(run.plugin, run.cfg.benchmark)


def _endless(strategy: Any) -> None:
    """Refuse a strategy without an end: look-ups cost nothing, so only a query or round limit stops it."""
    if strategy.total_rounds is None:
        raise NasError("a tabular search needs search.max_queries or evolution.generations")


class TabularFamily(Family):
    """Score each candidate by its validation value in the table; the test value is read for the result only."""

    def __init__(self) -> None:
        self.scorer = None  # read once, by check

    def selects(self, cfg: Any) -> bool:
        """Return whether the config names a benchmark."""
        return benchmark_selected(cfg)

    def refusal(self, plugin: Any, strategy: str) -> Optional[str]:
        """Refuse a space without a benchmark table."""
        if plugin.table_source() is None:
            return f"--benchmark needs a space with a benchmark table; space {plugin.name!r} has none"
        return None

    def check(self, run: Any) -> None:
        """Check the benchmark and its table, the budget window and that the strategy has an end."""
        self.scorer = benchmark_scorer(run)
        check_window(run)
        if run.latency is not None or getattr(run.cfg, "latency", None) is None:  # the window is known now
            _endless(window_strategy(run, *cost_window(run)))

    def build(self, run: Any) -> Setup:
        """Return the table scorer, the window strategy and the benchmark figures of the summary."""
        scorer = self.scorer if self.scorer is not None else benchmark_scorer(run)
        cost_fn, lo, hi = cost_window(run)
        strategy = window_strategy(run, cost_fn, lo, hi)
        _endless(strategy)

        def log_round(writer, step: int, info: dict, score: float) -> None:
            del step, info, score
            writer.add_scalar("benchmark/best_valid", strategy.best().score * 100, strategy.queries)

        def extra() -> dict:
            g = strategy.result()[0]
            found = scorer.report(g)
            run.writer.add_scalar("benchmark/test_of_returned", found["test"], strategy.queries)
            b = run.cfg.benchmark
            return {"benchmark": {"name": b.name, "report": b.report, "valid_column": scorer.valid,
                                  "test_column": scorer.test, "table": str(scorer.table.path)},
                    "queries": strategy.queries, "best_valid": found["valid"], "test": found["test"]}

        return Setup(scorer, strategy, 1, scorer.final_weights, run.cfg.num_classes, log_round=log_round,
                     summary_extra=extra)

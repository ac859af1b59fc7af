"""The strategy families a search run is built from: what each brings (scorer, strategy, progress, results).

``build_setup(run)`` returns the ``Setup`` of a ``SearchRun``: the one-shot supernet with a window strategy
(evolution, random, regularized evolution, local search), a window strategy scored by table look-up
(``--benchmark``), or the bilevel differentiable search.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

import torch

from nas.errors import NasError

__all__ = ["Setup", "build_setup", "tabular_scorer"]


@dataclass
class Setup:
    """What a strategy family brings to the run."""

    scorer: Any  # callable(genotypes, on_done) -> per-genotype score rows; may have phases()
    strategy: Any
    round_units: int  # progress units of one round
    final_weights: Callable[[], Dict[str, torch.Tensor]]
    num_classes: int  # classes the target cost is counted for
    log_round: Optional[Callable[[Any, int, dict, float], None]] = None
    summary_extra: Callable[[], dict] = field(default=lambda: {})
    spread: bool = False  # the scorer's rows hold one score per weight snapshot
    choose: Optional[Callable[[], Any]] = None  # -> (genotype, score) instead of the strategy's result (finalists)


def build_setup(run: Any) -> Setup:
    """Return the ``Setup`` of ``run``'s strategy family."""
    if run.strategy_name == "differentiable":
        return _differentiable(run)
    if run.tabular is not None:
        return _tabular(run)
    return _one_shot(run)


def _one_shot(run: Any) -> Setup:
    """Evolution or random search scored by the one-shot supernet under SGLD snapshots."""
    from nas.search.outcome import choose_finalist, confidence_report
    from nas.search.scorer import OneShotScorer, window_sampler

    cfg, e = run.cfg, run.cfg.evolution
    sampler = None
    if cfg.supernet.sampling == "budget":
        sampler = window_sampler(run.space, run.cost_fn, run.lo, run.hi, e.max_tries)
    scorer = OneShotScorer(cfg, run.out, run.device, sampler=sampler, score_fn=run.score_fn)
    strategy = _window_strategy(run)

    chosen: List[dict] = []

    def extra() -> dict:
        out = {"finalists": chosen} if cfg.finalists.k else {}
        if cfg.confidence.enabled:
            out["confidence"] = confidence_report(run, scorer, strategy)
        return out

    return Setup(scorer, strategy, e.population * scorer.num_snapshots, scorer.final_weights, cfg.num_classes,
                  spread=True, summary_extra=extra,
                  choose=(lambda: choose_finalist(run, scorer, strategy, chosen)) if cfg.finalists.k else None)


def _window_strategy(run: Any):
    """Build the run's window strategy (evolution, random, ...) with the hyperparameters it takes."""
    from nas.search.strategies import create_strategy, strategy_kwargs
    from nas.utils.seeds import seeded_random

    return create_strategy(run.strategy_name, space=run.space, cost_fn=run.cost_fn, lo=run.lo, hi=run.hi,
                           rng=seeded_random(run.cfg.seed, run.strategy_name),
                           **strategy_kwargs(run.strategy_name, run.cfg))


def tabular_scorer(run: Any):
    """Return the run's TabularScorer when ``benchmark.name`` is set, else None (checked, table loaded)."""
    bench = getattr(run.cfg, "benchmark", None)
    if bench is None or bench.name is None:
        if bench is not None and bench.table is not None:
            raise NasError("benchmark.table applies only with --benchmark (benchmark.name)")
        return None
    if run.score_fn is not None:
        raise NasError("--eval-workers does not apply to a tabular search (a look-up needs no workers)")
    from nas.search.scorer import TabularScorer

    return TabularScorer.for_config(run.plugin, bench)


def _tabular(run: Any) -> Setup:
    """A window strategy scored by table look-up: the validation column only; test reported at the end."""
    scorer, strategy = run.tabular, _window_strategy(run)
    if strategy.total_rounds is None:
        raise NasError("a tabular search needs search.max_queries or evolution.generations")

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


def _differentiable(run: Any) -> Setup:
    """The bilevel search: the strategy trains the supernet, the scorer measures argmax genotypes.

    With ``--benchmark`` (a space with a table) the search still trains; the table's figures of the returned
    genotype are added to the summary, and the strategy never sees them.
    """
    from nas.search.bilevel import BilevelTrainer, SupernetScorer, warn_skipped
    from nas.search.finalists import FinalistTrainer
    from nas.search.image_bilevel import bilevel_parts, table_report
    from nas.search.strategies import create_strategy

    cfg, s = run.cfg, run.cfg.search
    data, f = bilevel_parts(cfg, run.plugin.modality)
    trainer = BilevelTrainer(cfg, data, run.space, run.device, latency=run.latency)
    trainer.check_budget()

    def on_step(loss: float) -> None:
        run.progress.advance(1)
        run.progress.postfix(loss=f"{loss:.3f}")

    finalists = None if f is None else FinalistTrainer(trainer, epochs=f.epochs, lr=f.lr, batch_size=f.batch_size,
                                                       init=f.init, seed=cfg.seed)
    strategy = create_strategy("differentiable", space=run.space, trainer=trainer, epochs=s.epochs,
                               warmup_epochs=s.warmup_epochs, tau_max=s.tau_max, tau_min=s.tau_min, on_step=on_step,
                               finalists=finalists, max_finalists=0 if f is None else f.k)

    def log_round(writer, step: int, info: dict, score: float) -> None:
        warn_skipped(step, info.get("skipped", 0), data.noun)
        trainer.log_round(writer, step, info, score)

    def extra() -> dict:
        out = {"candidates": strategy.candidates, "distinct_candidates": len(set(strategy.candidates)),
               "epochs": s.epochs, "finalists": [x.as_dict() for x in strategy.finalists]}
        if run.tabular is not None:
            out["benchmark"] = table_report(run.tabular, cfg, run.result_genotype)
            run.writer.add_scalar("benchmark/test_of_returned", out["benchmark"]["test"], len(run.records))
        return out

    return Setup(SupernetScorer(trainer, s.bn_batches), strategy, trainer.steps_per_epoch,
                  lambda: trainer.net.state_dict(), trainer.num_classes, log_round=log_round, summary_extra=extra)

"""The bilevel family: differentiable search, where the family trains the supernet and the strategy steers.

Each round the family runs one epoch of alternating weight and alpha steps at the temperature the strategy
gives, tells the strategy the outcome, and scores its argmax genotype through the supernet; the finalist
rounds train each finalist briefly before it is scored. With ``--benchmark`` (a space with a table) the
search still trains; the table's figures of the returned genotype are added to the summary, and the strategy
never sees them.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, List, Optional, Tuple

from nas.search.families import Family, Setup
from nas.search.families.tabular import benchmark_scorer
from nas.search.families.window import target_text

__all__ = ["BilevelFamily", "BilevelRounds", "check_bilevel_budget"]

MIN_FRACTION_KEY = "search.min_budget_fraction"


def check_bilevel_budget(run: Any, num_classes: int) -> None:
    """Raise a one-line error when the MAdds (or the latency) limit leaves no member for ``num_classes`` classes.

    The derivation's lower edge ``search.min_budget_fraction`` is a goal, not a limit (it stops at the dearest
    member it can reach), so only the budget's upper side is a rule here.
    """
    from nas.core.budget import budget_window

    cfg = run.cfg
    kw = {"frames": cfg.frames} if run.plugin.modality == "video" else {}

    def madds(g) -> int:
        return run.space.cost(g, cfg.resolution, num_classes, **kw).madds

    if run.latency is not None:  # infeasible latency limits: one line
        run.latency.cost(madds, cfg.madds).window(run.space, cfg.search.min_budget_fraction)
    if cfg.madds is not None:
        budget_window(run.space, madds, cfg.madds, 0.0, at=target_text(run), key=MIN_FRACTION_KEY)


class BilevelFamily(Family):
    """Train a supernet with architecture parameters (alpha) epoch by epoch; the strategy keeps the schedule."""

    def __init__(self) -> None:
        self.table = None  # the benchmark scorer of a --benchmark run, read by check

    def refusal(self, plugin: Any, strategy: str) -> Optional[str]:
        """Refuse a space whose supernet has no architecture parameters."""
        if not plugin.differentiable:
            return (f"strategy {strategy!r} needs a supernet with architecture parameters; space {plugin.name!r} "
                    "has none (try --strategy evolution or random)")
        return None

    def check(self, run: Any) -> None:
        """Check the budget (for the least head the data could give), proxy options and a benchmark table."""
        if run.plugin.modality == "image":
            from nas.search.scorer import supernet_options

            supernet_options(run.cfg)
        check_bilevel_budget(run, run.cfg.num_classes or 1)
        self.table = benchmark_scorer(run)

    def build(self, run: Any) -> Setup:
        """Return the supernet scorer, the strategy, the round's training and the family's resumable state."""
        from nas.search.bilevel import BilevelTrainer, SupernetScorer, warn_skipped
        from nas.search.finalists import FinalistTrainer
        from nas.search.image_bilevel import bilevel_parts, table_report
        from nas.search.strategies import create_strategy

        cfg, s = run.cfg, run.cfg.search
        data, f = bilevel_parts(cfg, run.plugin.modality)
        trainer = BilevelTrainer(cfg, data, run.space, run.device, latency=run.latency)
        check_bilevel_budget(run, trainer.num_classes)  # the exact head, now the data is known
        finalists = None if f is None else FinalistTrainer(trainer, epochs=f.epochs, lr=f.lr, batch_size=f.batch_size,
                                                           init=f.init, seed=cfg.seed)
        strategy = create_strategy(run.strategy_name, space=run.space, cost_fn=trainer.cost_of, epochs=s.epochs,
                                   warmup_epochs=s.warmup_epochs, tau_max=s.tau_max, tau_min=s.tau_min,
                                   max_finalists=0 if f is None else f.k)
        rounds = BilevelRounds(trainer, strategy, finalists, on_step=lambda loss: _on_step(run, loss))

        def log_round(writer, step: int, info: dict, score: float) -> None:
            warn_skipped(step, info.get("skipped", 0), data.noun)
            trainer.log_round(writer, step, info, score)

        def extra() -> dict:
            out = {"candidates": strategy.candidates, "distinct_candidates": len(set(strategy.candidates)),
                   "epochs": s.epochs, "finalists": [x.as_dict() for x in strategy.finalists]}
            if self.table is not None:
                out["benchmark"] = table_report(self.table, cfg, run.result_genotype)
                run.writer.add_scalar("benchmark/test_of_returned", out["benchmark"]["test"], len(run.records))
            return out

        return Setup(SupernetScorer(trainer, s.bn_batches), strategy, trainer.steps_per_epoch,
                     lambda: trainer.net.state_dict(), trainer.num_classes, log_round=log_round, summary_extra=extra,
                     before_ask=rounds.before_ask, state_dict=rounds.state_dict,
                     load_state_dict=rounds.load_state_dict, ranked=lambda k: _finalists_ranked(strategy, k))


def _finalists_ranked(strategy: Any, k: int) -> List[Tuple[Any, Optional[float]]]:
    """Return the best ``k`` finalists by held-out score (with their supernet scores, as the result reports its
    own), or the strategy's pick when it retrained none."""
    if not strategy.finalists:
        return [(i.genotype, i.score) for i in strategy.top(k)]
    ranked = sorted(strategy.finalists, key=lambda f: -f.score)  # stable: equals keep the queue's order
    return [(strategy.space.parse(f.genotype), f.supernet_score) for f in ranked[:k]]


def _on_step(run: Any, loss: float) -> None:
    """Advance the run's progress by one weight step and show its loss."""
    run.progress.advance(1)
    run.progress.postfix(loss=f"{loss:.3f}")


class BilevelRounds:
    """The family's side of each round: train an epoch (or a finalist), tell the strategy, keep the trainer's state.

    Args:
        trainer: answers ``train_epoch``, ``argmax``, ``derive``, ``steps_per_epoch`` and ``state_dict`` /
            ``load_state_dict`` (``nas.search.bilevel.BilevelTrainer``).
        strategy: the ``differentiable`` strategy it tells.
        finalists: trains and scores one finalist (``nas.search.finalists.FinalistTrainer``), or None.
        on_step: called with the weight loss after every step (progress).
    """

    def __init__(self, trainer: Any, strategy: Any, finalists: Any = None,
                 on_step: Callable[[float], None] = lambda loss: None) -> None:
        self.trainer, self.strategy, self.finalists, self.on_step = trainer, strategy, finalists, on_step

    def before_ask(self) -> None:
        """Train the next epoch (or the next finalist) and tell the strategy what came of it."""
        t, st = self.trainer, self.strategy
        if st.searching:
            cands: list = []
            logs, skipped = t.train_epoch(st.epoch, st.tau(), st.update_alpha, self.on_step, cands.append)
            st.tell_epoch(t.argmax(), logs, skipped, cands)
            if st.final_epoch:
                st.tell_derived(t.derive())
            return
        if st.derived is None:
            st.tell_derived(t.derive())
        g = st.next_finalist()
        # A round is one epoch of progress units: report every k-th of the finalist's steps.
        every = max(1, round(self.finalists.steps() / max(1, t.steps_per_epoch)))
        calls = itertools.count(1)
        st.tell_retrained(g, self.finalists(g, lambda loss: self.on_step(loss) if next(calls) % every == 0 else None))

    def state_dict(self) -> dict:
        """Return the trainer's state: weights, optimizers, schedules and generators."""
        return {"trainer": self.trainer.state_dict()}

    def load_state_dict(self, search: dict) -> None:
        """Restore the trainer from a checkpoint's search state (after the strategy's), of either layout."""
        family = search.get("family")
        # A checkpoint written before the family owned the training keeps the trainer inside the strategy's state.
        self.trainer.load_state_dict(family["trainer"] if family else search["strategy"]["trainer"])
        if not self.strategy.searching and self.strategy.derived is None:  # alpha is final: derive it again
            self.strategy.tell_derived(self.trainer.derive())

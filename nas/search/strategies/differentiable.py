"""Differentiable (DARTS-style) search as an ask/tell strategy: one round is one epoch of bilevel steps.

Shape: ``ask()`` runs one epoch of alternating weight and alpha steps on the injected ``BilevelTrainer`` and
returns ``[argmax(alpha)]``; ``tell`` records that genotype's score (from the run's scorer), which makes it
the current pick. Every cycle end of the alpha schedule adds a candidate: argmax(alpha) fitted to the
budget. After ``epochs`` rounds come the finalist rounds, when a ``FinalistTrainer`` is given: each trains
one distinct candidate briefly and scores it on held-out clips (``ask`` returns it, ``tell`` gets its
supernet score), and ``result()`` is the finalist of best held-out score. Without finalists, ``result()``
derives the final genotype from alpha within the budget. The Gumbel noise comes from the trainer's own
generator, checkpointed with the rest of ``state_dict``, so a run resumes between any two rounds.
"""
from __future__ import annotations

import itertools
from typing import List, Optional, Sequence, Tuple

from nas.core.genotype import Genotype
from nas.search.finalists import Finalist, pick_finalists
from nas.search.strategies.window import Individual

__all__ = ["DifferentiableSearch"]


class DifferentiableSearch:
    """Bilevel search of per-slot alpha with a temperature decayed linearly from ``tau_max`` to ``tau_min``.

    Args:
        space: the space declaration (slots and ops).
        trainer: owns the supernet, both optimizers, the loaders and the noise (``nas.search.bilevel.
            BilevelTrainer``); it answers ``train_epoch``, ``argmax``, ``derive``, ``cost_of`` and
            ``state_dict``/``load_state_dict``.
        epochs, warmup_epochs: search rounds, and leading rounds in which alpha stays fixed.
        tau_max, tau_min: the relaxation temperature at the first and the last epoch.
        on_step: called with the weight loss after every step (progress).
        finalists: trains and scores one candidate (``nas.search.finalists.FinalistTrainer``); None = the
            derived final argmax is the result.
        max_finalists: distinct candidates retrained (the latest; the final derived genotype is one).
    """

    families = ("bilevel",)  # the search families it runs in (it drives a differentiable supernet's trainer)

    def __init__(self, space, *, trainer, epochs: int, warmup_epochs: int = 0, tau_max: float = 2.0,
                 tau_min: float = 0.5, on_step=None, finalists=None, max_finalists: int = 0):
        self.space, self.trainer = space, trainer
        self.epochs, self.warmup_epochs, self.tau_max, self.tau_min = epochs, warmup_epochs, tau_max, tau_min
        self.on_step = on_step or (lambda loss: None)
        self.finalist_trainer = finalists if max_finalists > 0 else None
        self.max_finalists = max_finalists
        self.epoch = 0  # search rounds told so far
        self.candidates: List[str] = []  # budget-fitted argmax(alpha) at every cycle end of the alpha schedule
        self.queue: Optional[List[str]] = None  # the finalists to retrain, fixed when the search rounds end
        self.finalists: List[Finalist] = []  # retrained so far
        self.info: dict = {}  # what the last round logged (losses, temperature, skipped clips)
        self._pick: Optional[Individual] = None
        self._retrained: Optional[float] = None

    @property
    def done(self) -> bool:
        """Return whether all search rounds and finalist rounds have been run."""
        if self.epoch < self.epochs:
            return False
        return self.finalist_trainer is None or (self.queue is not None and len(self.finalists) >= len(self.queue))

    @property
    def total_rounds(self) -> int:
        """Return the number of rounds: epochs, plus the finalists (at most ``max_finalists`` until known)."""
        if self.finalist_trainer is None:
            return self.epochs
        return self.epochs + (self.max_finalists if self.queue is None else len(self.queue))

    def tau(self) -> float:
        """Return this epoch's temperature (linear decay from tau_max to tau_min)."""
        frac = self.epoch / max(1, self.epochs - 1)
        return self.tau_max + (self.tau_min - self.tau_max) * frac

    def ask(self) -> List[Genotype]:
        """Run one epoch of bilevel steps and return ``[argmax(alpha)]``, or retrain the next finalist."""
        if self.epoch >= self.epochs:
            return [self._retrain_next()]
        tau = self.tau()
        logs, skipped = self.trainer.train_epoch(self.epoch, tau, self.epoch >= self.warmup_epochs, self.on_step,
                                                 lambda g: self.candidates.append(str(g)))
        self.info = {"epoch": self.epoch, "tau": tau, "skipped": skipped, **logs}
        return [self.trainer.argmax()]

    def _retrain_next(self) -> Genotype:
        if self.queue is None:
            self.queue = pick_finalists(self.candidates, str(self.trainer.derive()), self.max_finalists)
        g = self.space.parse(self.queue[len(self.finalists)])
        # A round is one epoch of progress units: report every k-th of the finalist's steps.
        every = max(1, round(self.finalist_trainer.steps() / max(1, self.trainer.steps_per_epoch)))
        calls = itertools.count(1)
        self._retrained = self.finalist_trainer(g, lambda loss: self.on_step(loss) if next(calls) % every == 0
                                                else None)
        self.info = {"finalist": len(self.finalists), "retrained": self._retrained}
        return g

    def tell(self, scored: Sequence[Tuple[Genotype, float]]) -> None:
        """Record the score of the round's genotype (a finalist's supernet score beside its retrained one)."""
        ((g, score),) = scored
        cost = self.trainer.cost_of(g)
        if self.epoch < self.epochs:
            self._pick = Individual(g, float(score), cost.madds)
            self.epoch += 1
            return
        self.finalists.append(Finalist(str(g), cost.madds, cost.params, float(self._retrained), float(score)))
        best = self._best_finalist()
        self._pick = Individual(self.space.parse(best.genotype), best.score, best.madds)

    def _best_finalist(self) -> Finalist:
        """Return the finalist of best held-out score (the earliest of equals: the queue's order)."""
        return max(self.finalists, key=lambda f: f.score)

    def best(self) -> Individual:
        """Return the current pick: the latest argmax genotype, then the best finalist so far."""
        assert self._pick is not None, "no round has been told yet"
        return self._pick

    def top(self, k: int) -> List[Individual]:
        """Return the current pick (a differentiable search keeps no population)."""
        return [self.best()][:k]

    def result(self) -> Tuple[Genotype, Optional[float]]:
        """Return the best finalist with its supernet score, or the genotype derived from alpha (unscored)."""
        if self.finalists:
            best = self._best_finalist()
            return self.space.parse(best.genotype), best.supernet_score
        return self.trainer.derive(), None

    def state_dict(self) -> dict:
        """Return the trainer's state, the round count, the candidates, finalists and the current pick."""
        pick = None if self._pick is None else [str(self._pick.genotype), self._pick.score, self._pick.madds]
        return {"trainer": self.trainer.state_dict(), "epoch": self.epoch, "candidates": list(self.candidates),
                "info": dict(self.info), "pick": pick, "queue": self.queue,
                "finalists": [f.as_dict() for f in self.finalists]}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
        self.trainer.load_state_dict(state["trainer"])
        self.epoch, self.candidates, self.info = int(state["epoch"]), list(state["candidates"]), dict(state["info"])
        pick = state["pick"]
        self._pick = None if pick is None else Individual(self.space.parse(pick[0]), float(pick[1]), int(pick[2]))
        self.queue = None if state.get("queue") is None else list(state["queue"])
        self.finalists = [Finalist(**f) for f in state.get("finalists", [])]

"""Differentiable (DARTS-style) search as an ask/tell strategy: one round is one epoch of bilevel steps.

Shape: ``ask()`` runs one epoch of alternating weight and alpha steps on the injected ``BilevelTrainer`` and
returns ``[argmax(alpha)]``; ``tell`` records that genotype's score (from the run's scorer), which makes it
the current pick. After ``epochs`` rounds the strategy is ``done`` and ``result()`` derives the final
genotype from alpha, greedily swapped to cheaper ops until it fits the budget; the run scores it. The Gumbel
noise comes from the trainer's own generator, checkpointed with the rest of ``state_dict``.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from nas.core.genotype import Genotype
from nas.search.strategies import register_strategy
from nas.search.strategies.window import Individual

__all__ = ["DifferentiableSearch"]


@register_strategy("differentiable")
class DifferentiableSearch:
    """Bilevel search of per-slot alpha with a temperature decayed linearly from ``tau_max`` to ``tau_min``.

    Args:
        space: the space declaration (slots and ops).
        trainer: owns the supernet, both optimizers, the loaders and the noise (``nas.search.bilevel.
            BilevelTrainer``); it answers ``train_epoch``, ``argmax``, ``derive``, ``cost_of`` and
            ``state_dict``/``load_state_dict``.
        epochs, warmup_epochs: rounds in all, and leading rounds in which alpha stays fixed.
        tau_max, tau_min: the relaxation temperature at the first and the last epoch.
        on_step: called with the weight loss after every step (progress).
    """

    def __init__(self, space, *, trainer, epochs: int, warmup_epochs: int = 0, tau_max: float = 2.0,
                 tau_min: float = 0.5, on_step=None):
        self.space, self.trainer = space, trainer
        self.epochs, self.warmup_epochs, self.tau_max, self.tau_min = epochs, warmup_epochs, tau_max, tau_min
        self.on_step = on_step or (lambda loss: None)
        self.epoch = 0  # rounds told so far
        self.candidates: List[str] = []  # argmax(alpha) at every cycle end of the alpha schedule
        self.info: dict = {}  # what the last round logged (losses, temperature, skipped clips)
        self._pick: Optional[Individual] = None

    @property
    def done(self) -> bool:
        """Return whether all epochs have been run."""
        return self.epoch >= self.epochs

    @property
    def total_rounds(self) -> int:
        """Return the number of rounds (epochs)."""
        return self.epochs

    def tau(self) -> float:
        """Return this epoch's temperature (linear decay from tau_max to tau_min)."""
        frac = self.epoch / max(1, self.epochs - 1)
        return self.tau_max + (self.tau_min - self.tau_max) * frac

    def ask(self) -> List[Genotype]:
        """Run one epoch of bilevel steps; return ``[argmax(alpha)]``."""
        tau = self.tau()
        logs, skipped = self.trainer.train_epoch(self.epoch, tau, self.epoch >= self.warmup_epochs, self.on_step,
                                                 lambda g: self.candidates.append(str(g)))
        self.info = {"epoch": self.epoch, "tau": tau, "skipped": skipped, **logs}
        return [self.trainer.argmax()]

    def tell(self, scored: Sequence[Tuple[Genotype, float]]) -> None:
        """Record the score of the epoch's argmax genotype."""
        ((g, score),) = scored
        self._pick = Individual(g, float(score), self.trainer.cost_of(g).madds)
        self.epoch += 1

    def best(self) -> Individual:
        """Return the latest argmax genotype with its score (the current pick)."""
        assert self._pick is not None, "no round has been told yet"
        return self._pick

    def top(self, k: int) -> List[Individual]:
        """Return the current pick (a differentiable search keeps no population)."""
        return [self.best()][:k]

    def result(self) -> Tuple[Genotype, Optional[float]]:
        """Return the genotype derived from alpha within the budget, unscored."""
        return self.trainer.derive(), None

    def state_dict(self) -> dict:
        """Return the trainer's state, the round count, the candidates and the current pick."""
        pick = None if self._pick is None else [str(self._pick.genotype), self._pick.score, self._pick.madds]
        return {"trainer": self.trainer.state_dict(), "epoch": self.epoch, "candidates": list(self.candidates),
                "info": dict(self.info), "pick": pick}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
        self.trainer.load_state_dict(state["trainer"])
        self.epoch, self.candidates, self.info = int(state["epoch"]), list(state["candidates"]), dict(state["info"])
        pick = state["pick"]
        self._pick = None if pick is None else Individual(self.space.parse(pick[0]), float(pick[1]), int(pick[2]))

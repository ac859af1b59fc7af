"""Differentiable (DARTS-style) search as an ask/tell strategy: one round is one epoch of bilevel steps.

The strategy trains nothing: the ``bilevel`` search family (``nas.search.families.bilevel``) runs each
epoch's weight and alpha steps on its supernet at the temperature and alpha switch the strategy gives
(``tau()``, ``update_alpha``) and tells the outcome with ``tell_epoch``: argmax(alpha), the epoch's losses, and
the candidates of the cycle ends inside it (argmax(alpha) fitted to the budget). ``ask()`` then returns
``[argmax(alpha)]`` and ``tell`` records its score (from the run's scorer), which makes it the current pick.
After the last epoch the family tells the genotype derived from alpha within the budget (``tell_derived``).
After ``epochs`` rounds come the finalist rounds, when ``max_finalists`` > 0: ``next_finalist()`` names the
next distinct candidate, the family trains it briefly and tells its held-out score (``tell_retrained``),
``ask`` returns it and ``tell`` gets its supernet score; ``result()`` is the finalist of best held-out score.
Without finalists, ``result()`` is the derived genotype. The state is plain data, so a run resumes between
any two rounds.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

from nas.core.cost import Cost
from nas.core.genotype import Genotype
from nas.search.strategies.window import Finalist, Individual, pick_finalists

__all__ = ["DifferentiableSearch"]


class DifferentiableSearch:
    """Bilevel search of per-slot alpha with a temperature decayed linearly from ``tau_max`` to ``tau_min``.

    Args:
        space: the space declaration (slots and ops).
        cost_fn: genotype -> its ``Cost`` at the run's target (MAdds and params of the rows and finalists).
        epochs, warmup_epochs: search rounds, and leading rounds in which alpha stays fixed.
        tau_max, tau_min: the relaxation temperature at the first and the last epoch.
        max_finalists: distinct candidates retrained after the search rounds (the latest; the final derived
            genotype is one); 0 = the derived genotype is the result.

    Example:
        >>> from nas import get_space, cost
        >>> space = get_space("nb201")
        >>> s = DifferentiableSearch(space, cost_fn=lambda g: cost(g, 32, 10), epochs=1)
        >>> g = space.default()
        >>> s.tell_epoch(g, {"loss_w": 2.3}, skipped=0, candidates=[])
        >>> s.tell_derived(g)
        >>> s.tell([(s.ask()[0], 0.5)])
        >>> s.done, s.result() == (g, None)
        (True, True)
    """

    families: Tuple[str, ...] = ("bilevel",)  # the search families it runs in

    def __init__(self, space, *, cost_fn: Callable[[Genotype], Cost], epochs: int, warmup_epochs: int = 0,
                 tau_max: float = 2.0, tau_min: float = 0.5, max_finalists: int = 0):
        self.space, self.cost_fn = space, cost_fn
        self.epochs, self.warmup_epochs, self.tau_max, self.tau_min = epochs, warmup_epochs, tau_max, tau_min
        self.max_finalists = max(0, max_finalists)
        self.epoch = 0  # search rounds told so far
        self.candidates: List[str] = []  # budget-fitted argmax(alpha) at every cycle end of the alpha schedule
        self.derived: Optional[str] = None  # argmax(alpha) fitted to the budget after the last epoch
        self.queue: Optional[List[str]] = None  # the finalists to retrain, fixed when the search rounds end
        self.finalists: List[Finalist] = []  # retrained so far
        self.info: dict = {}  # what the last round logged (losses, temperature, skipped clips)
        self._pick: Optional[Individual] = None
        self._asked: Optional[Genotype] = None  # the genotype the next ask returns
        self._retrained: Optional[float] = None

    @property
    def searching(self) -> bool:
        """Return whether search rounds (epochs of bilevel steps) are left."""
        return self.epoch < self.epochs

    @property
    def final_epoch(self) -> bool:
        """Return whether the epoch now being run is the last search epoch (alpha is final after it)."""
        return self.epoch == self.epochs - 1

    @property
    def update_alpha(self) -> bool:
        """Return whether this epoch moves alpha (past the warm-up)."""
        return self.epoch >= self.warmup_epochs

    @property
    def done(self) -> bool:
        """Return whether all search rounds and finalist rounds have been run."""
        if self.searching:
            return False
        return self.max_finalists == 0 or (self.queue is not None and len(self.finalists) >= len(self.queue))

    @property
    def total_rounds(self) -> int:
        """Return the number of rounds: epochs, plus the finalists (at most ``max_finalists`` until known)."""
        if self.max_finalists == 0:
            return self.epochs
        return self.epochs + (self.max_finalists if self.queue is None else len(self.queue))

    def tau(self) -> float:
        """Return this epoch's temperature (linear decay from tau_max to tau_min)."""
        frac = self.epoch / max(1, self.epochs - 1)
        return self.tau_max + (self.tau_min - self.tau_max) * frac

    def tell_epoch(self, argmax: Genotype, logs: Dict[str, float], skipped: int,
                   candidates: Sequence[Genotype]) -> None:
        """Record a trained epoch: argmax(alpha) after it, its last losses, skipped samples and cycle-end candidates."""
        self.candidates.extend(str(g) for g in candidates)
        self.info = {"epoch": self.epoch, "tau": self.tau(), "skipped": skipped, **logs}
        self._asked = argmax

    def tell_derived(self, g: Genotype) -> None:
        """Record the genotype derived from the final alpha within the budget."""
        self.derived = str(g)

    def next_finalist(self) -> Genotype:
        """Return the next finalist to retrain (the queue is fixed at the first call, from the candidates)."""
        assert self.derived is not None, "the derived genotype is told before the finalist rounds"
        if self.queue is None:
            self.queue = pick_finalists(self.candidates, self.derived, self.max_finalists)
        return self.space.parse(self.queue[len(self.finalists)])

    def tell_retrained(self, g: Genotype, held_out: float) -> None:
        """Record the held-out score of finalist ``g`` after its brief training."""
        self.info = {"finalist": len(self.finalists), "retrained": held_out}
        self._retrained, self._asked = held_out, g

    def ask(self) -> List[Genotype]:
        """Return ``[argmax(alpha)]`` of the epoch just told, or the finalist just retrained."""
        assert self._asked is not None, "tell_epoch or tell_retrained comes before ask"
        return [self._asked]

    def tell(self, scored: Sequence[Tuple[Genotype, float]]) -> None:
        """Record the score of the round's genotype (a finalist's supernet score beside its retrained one)."""
        ((g, score),) = scored
        cost = self.cost_fn(g)
        self._asked = None
        if self.searching:
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
        assert self.derived is not None, "the derived genotype is told after the last epoch"
        return self.space.parse(self.derived), None

    def state_dict(self) -> dict:
        """Return the round count, the candidates, the derived genotype, the finalists and the current pick."""
        pick = None if self._pick is None else [str(self._pick.genotype), self._pick.score, self._pick.madds]
        return {"epoch": self.epoch, "candidates": list(self.candidates), "info": dict(self.info), "pick": pick,
                "derived": self.derived, "queue": self.queue, "finalists": [f.as_dict() for f in self.finalists]}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned (a state without ``derived`` leaves it to be told again)."""
        self.epoch, self.candidates, self.info = int(state["epoch"]), list(state["candidates"]), dict(state["info"])
        pick = state["pick"]
        self._pick = None if pick is None else Individual(self.space.parse(pick[0]), float(pick[1]), int(pick[2]))
        self.derived = state.get("derived")
        self.queue = None if state.get("queue") is None else list(state["queue"])
        self.finalists = [Finalist(**f) for f in state.get("finalists", [])]

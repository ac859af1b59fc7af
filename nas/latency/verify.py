"""The end of a latency-budgeted search: time its best candidates on the target and return one that fits.

A search optimises against the latency predictor, so it seeks out the members the predictor underestimates:
its pick is the member most likely to miss the budget when measured. The guard therefore times the K best
candidates (the search's result first, then the strategy's ranking) with the protocol of the search's table
(clock, memory format, model form), on the budget's device and thread count, in interleaved rounds: every
candidate once per round, so a slow spell of the machine falls on all of them alike. It returns the
best-ranked candidate whose measured latency is within the budget.

A candidate is *within* when its median over the rounds plus half the spread of its round medians is at most
the budget, *over* when the median minus half the spread is above it, and otherwise *undecided*: it is then
timed for as many rounds again, and a candidate still undecided is not returned (this machine is too noisy to
tell). These readings are ours; ``latency_verify_k`` and ``latency_verify_rounds`` set K and the rounds.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable, List, Optional, Sequence, Tuple

__all__ = ["Verdict", "VERIFY_FILE", "decide", "verify", "pick"]

VERIFY_FILE = "latency_verify.json"  # what the guard measured, kept in the run folder whatever it decided


@dataclass(frozen=True)
class Verdict:
    """One candidate's measurement against the budget."""

    genotype: str
    score: Optional[float]  # the search's score of the candidate
    predicted_ms: float
    median_ms: float  # median of the round medians
    spread_ms: float  # max - min of the round medians
    rounds_ms: Tuple[float, ...]  # each round's median
    verdict: str  # within, over or undecided

    def as_dict(self) -> dict:
        """Return the plain form written to the run's files."""
        d = asdict(self)
        d["rounds_ms"] = list(self.rounds_ms)
        return d


def decide(rounds_ms: Sequence[float], budget_ms: float) -> Tuple[float, float, str]:
    """Return ``(median, spread, verdict)`` of one candidate's round medians against ``budget_ms``."""
    median = statistics.median(rounds_ms)
    spread = max(rounds_ms) - min(rounds_ms)
    if median + spread / 2 <= budget_ms:
        return median, spread, "within"
    if median - spread / 2 > budget_ms:
        return median, spread, "over"
    return median, spread, "undecided"


def pick(verdicts: Sequence[Verdict]) -> Optional[int]:
    """Return the index of the first (best-ranked) candidate within the budget, or None."""
    return next((i for i, v in enumerate(verdicts) if v.verdict == "within"), None)


def verify(candidates: Sequence[Tuple[object, Optional[float]]], limit, rounds: int,
           log: Callable[[str], None] = print) -> Tuple[Optional[int], List[Verdict], float]:
    """Time ``candidates`` (``(genotype, score)``, best-ranked first) against ``limit``'s budget.

    ``limit`` is the search's ``LatencyLimit`` (budget, table, target, device, threads). Returns the index of
    the candidate to return (None when none is within the budget), every candidate's verdict, and the seconds
    the guard took.
    """
    import torch

    from nas.latency.measure import measure
    from nas.spaces import create_model

    start = time.perf_counter()
    spec, target = limit.spec(), limit.target
    example = torch.randn(target.input_shape(1))
    models = [create_model(g, num_classes=target.num_classes) for g, _ in candidates]
    times: List[List[float]] = [[] for _ in candidates]

    def time_rounds(which: Sequence[int]) -> None:
        for r in range(rounds):
            for i in which:
                times[i].append(measure(models[i], example, limit.device, spec, limit.threads).median_ms)
            log(f"latency check: round {r + 1}/{rounds} of {len(which)} candidate(s) done")

    def verdicts() -> List[Verdict]:
        out = []
        for (g, score), t in zip(candidates, times):
            median, spread, verdict = decide(t, limit.budget_ms)
            out.append(Verdict(str(g), score, limit.predict(g), median, spread, tuple(t), verdict))
        return out

    time_rounds(range(len(candidates)))
    undecided = [i for i, v in enumerate(verdicts()) if v.verdict == "undecided"]
    if undecided:
        log(f"latency check: {len(undecided)} candidate(s) too close to the budget for the noise; timing again")
        time_rounds(undecided)
    result = verdicts()
    return pick(result), result, time.perf_counter() - start

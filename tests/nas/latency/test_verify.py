"""The latency check at the end of a search: verdicts from interleaved rounds, and which candidate is returned."""
import pytest

from nas.latency.verify import Verdict, decide, pick


@pytest.mark.parametrize("rounds, budget, verdict", [
    ([9.0, 9.2, 9.1], 10.0, "within"),  # median plus half the spread fits
    ([11.0, 11.4, 11.2], 10.0, "over"),  # median minus half the spread is above
    ([9.5, 10.5, 10.0], 10.0, "undecided"),  # the budget lies inside the noise
    ([10.0], 10.0, "within"),  # exactly at the budget, one round, no spread
])
def test_decide(rounds, budget, verdict):
    median, spread, got = decide(rounds, budget)
    assert got == verdict and median == sorted(rounds)[len(rounds) // 2] and spread == max(rounds) - min(rounds)


def _v(verdict):
    return Verdict("g", 0.5, 9.0, 9.0, 0.1, (9.0,), verdict)


def test_pick_returns_the_best_ranked_candidate_within_the_budget():
    assert pick([_v("within"), _v("within")]) == 0
    assert pick([_v("over"), _v("undecided"), _v("within"), _v("within")]) == 2  # undecided is not returned
    assert pick([_v("over"), _v("undecided")]) is None

"""The confidence statistics on hand cases: bootstrap errors, separability, chain stability and the verdict."""
import math
import re

import numpy as np
import pytest

from nas.search.confidence import Confidence, assess, bootstrap_scores, chain_stability, verdict


def _hits(rate: float, k: int = 3, n: int = 400, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((k, n)) < rate


def test_identical_candidates_are_not_separable():
    h = _hits(0.8)
    top = assess(["a", "b", "c"], [h, h.copy(), h.copy()], [3, 2, 1], [1, 1, 1])
    assert [c.separable for c in top] == [None, False, False]
    assert top[0].score == top[1].score and top[0].se == pytest.approx(top[1].se)
    line = verdict(top, 0.95)
    assert re.fullmatch(r"top-3 not separable at 95%: scores (0\.\d{3} ± 0\.0\d\d(, )?){3}", line), line
    assert not Confidence(0.95, top, None, line).separable


def test_far_apart_scores_with_small_errors_are_separable():
    top = assess(["a", "b"], [_hits(0.95, seed=1), _hits(0.55, seed=2)], [2, 1], [1, 1])
    assert top[1].separable is True and top[0].se < 0.02
    assert verdict(top, 0.95).startswith("the returned genotype is separable from the rest of the top-2 at 95%")


def test_mixed_verdict_counts_the_tied_members():
    close, far = _hits(0.9, seed=3), _hits(0.3, seed=4)
    top = assess(["a", "b", "c"], [close, close.copy(), far], [1, 1, 1], [1, 1, 1])
    assert [c.separable for c in top[1:]] == [False, True]
    assert "not separable from 1 of the other top-3" in verdict(top, 0.95)


def test_one_snapshot_se_matches_the_binomial_error():
    h = _hits(0.7, k=1, n=2000, seed=5)
    p = h.mean()
    (cand,) = assess(["a"], [h], [1], [1], resamples=2000)
    assert cand.se == pytest.approx(math.sqrt(p * (1 - p) / 2000), rel=0.15)
    assert verdict([cand], 0.95).startswith("only one candidate scored")


def test_snapshot_disagreement_widens_the_error():
    rng = np.random.default_rng(6)
    steady = np.tile(rng.random(400) < 0.7, (3, 1))  # every snapshot hits the same images
    shaky = np.stack([rng.random(400) < p for p in (0.5, 0.7, 0.9)])  # the snapshots disagree
    a, b = assess(["a", "b"], [steady, shaky], [1, 1], [1, 1])
    assert b.se > 1.5 * a.se


def test_bootstrap_is_seeded_and_paired():
    h = [_hits(0.6, seed=7), _hits(0.6, seed=8)]
    assert np.array_equal(bootstrap_scores(h, resamples=50, seed=1), bootstrap_scores(h, resamples=50, seed=1))
    assert not np.array_equal(bootstrap_scores(h, resamples=50, seed=1), bootstrap_scores(h, resamples=50, seed=2))
    same = bootstrap_scores([h[0], h[0]], resamples=50)
    assert np.array_equal(same[:, 0], same[:, 1])  # one draw of snapshots and images serves every candidate


def test_chain_stability():
    a = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    tau = chain_stability(a, a)
    assert tau.tau == 1.0 and tau.n == 6 and tau.low <= tau.high
    assert chain_stability(a, a[::-1]).tau == -1.0
    assert chain_stability([0.1, 0.2], [0.2, 0.1]) is None
    assert "tau 1.00" in verdict(assess(["a"], [_hits(0.5)], [1], [1]), 0.95, tau)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="level"):
        assess(["a"], [_hits(0.5)], [1], [1], level=1.5)
    with pytest.raises(ValueError, match="equally long"):
        assess(["a", "b"], [_hits(0.5)], [1], [1])
    with pytest.raises(ValueError, match="same shape"):
        assess(["a", "b"], [_hits(0.5, n=10), _hits(0.5, n=20)], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="different numbers"):
        chain_stability([1, 2, 3], [1, 2])

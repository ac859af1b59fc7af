"""The confidence statistics on hand cases: bootstrap errors, separability, chain stability and the verdict."""
import dataclasses
import math
import re

import numpy as np
import pytest

from nas.search.confidence import (Confidence, SupernetSpread, assess, bootstrap_scores, chain_stability, default_block,
                                   effective_snapshots, ranks_in, verdict)
from nas.utils.stats import TauCI


def _hits(rate: float, k: int = 3, n: int = 400, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((k, n)) < rate


def test_identical_candidates_are_not_separable():
    h = _hits(0.8)
    top = assess(["a", "b", "c"], [h, h.copy(), h.copy()], [3, 2, 1], [1, 1, 1])
    assert [c.separable for c in top] == [None, False, False]
    assert top[0].score == top[1].score and top[0].scoring_se == pytest.approx(top[1].scoring_se)
    line = verdict(top, 0.95)
    assert re.fullmatch(r"top-3 not separable at 95% on held-out images: scores (0\.\d{3} ± 0\.0\d\d(, )?){3} "
                        r"\(± scoring-sample SE\); supernet-seed variance not measured \(confidence.supernets=1\)",
                        line), line
    assert not Confidence(0.95, top, None, line).separable


def test_far_apart_scores_with_small_errors_are_separable():
    top = assess(["a", "b"], [_hits(0.95, seed=1), _hits(0.55, seed=2)], [2, 1], [1, 1])
    assert top[1].separable is True and top[0].scoring_se < 0.02
    assert verdict(top, 0.95).startswith("the returned genotype is separable from the rest of the top-2 at 95% on "
                                         "held-out images")


def test_mixed_verdict_counts_the_tied_members():
    close, far = _hits(0.9, seed=3), _hits(0.3, seed=4)
    top = assess(["a", "b", "c"], [close, close.copy(), far], [1, 1, 1], [1, 1, 1])
    assert [c.separable for c in top[1:]] == [False, True]
    assert "not separable from 1 of the other top-3" in verdict(top, 0.95)


def test_one_snapshot_se_matches_the_binomial_error():
    h = _hits(0.7, k=1, n=2000, seed=5)
    p = h.mean()
    (cand,) = assess(["a"], [h], [1], [1], resamples=2000)
    assert cand.scoring_se == pytest.approx(math.sqrt(p * (1 - p) / 2000), rel=0.15)
    assert verdict([cand], 0.95).startswith("only one candidate scored")


def test_snapshot_disagreement_widens_the_error():
    rng = np.random.default_rng(6)
    steady = np.tile(rng.random(400) < 0.7, (3, 1))  # every snapshot hits the same images
    shaky = np.stack([rng.random(400) < p for p in (0.5, 0.7, 0.9)])  # the snapshots disagree
    a, b = assess(["a", "b"], [steady, shaky], [1, 1], [1, 1])
    assert b.scoring_se > 1.5 * a.scoring_se


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


def _drifting(n: int = 400, seed: int = 9) -> np.ndarray:
    """One chain's 12 snapshots that stay near 0.6 for six, then near 0.85: neighbours alike, halves apart."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.random(n) < p for p in [0.6] * 6 + [0.85] * 6])


def test_correlated_snapshots_are_resampled_in_blocks():
    h = _drifting()
    assert default_block(8) == 2 and default_block(1) == 1 and default_block(27) == 3
    one_by_one = bootstrap_scores([h], resamples=3000, block=1)[:, 0].std()
    blocks = bootstrap_scores([h], resamples=3000, block=4)[:, 0].std()
    assert blocks > 1.2 * one_by_one  # the block bootstrap keeps the chain's correlation, so its spread is wider
    assert effective_snapshots(h.mean(axis=1)) < 4  # twelve correlated snapshots count as far fewer
    assert effective_snapshots([0.5, 0.7, 0.5, 0.7, 0.5, 0.7]) == 6.0  # no positive correlation: all count
    with pytest.raises(ValueError, match="block"):
        bootstrap_scores([h], block=0)


def test_separability_is_tested_on_the_held_out_images():
    """A gap that exists only on the images that ranked the candidates does not count as separable."""
    ranked = [_hits(0.9, seed=10), _hits(0.6, seed=11)]
    fresh = [_hits(0.75, seed=12), _hits(0.75, seed=13)]
    biased = assess(["a", "b"], ranked, [1, 1], [1, 1])
    held = assess(["a", "b"], ranked, [1, 1], [1, 1], held_out=fresh)
    assert biased[1].separable is True and held[1].separable is False
    assert held[0].score == pytest.approx(0.9, abs=0.03) and held[0].held_out == pytest.approx(0.75, abs=0.04)
    assert held[0].scoring_se == biased[0].scoring_se  # the SE is the search's own scores'
    with pytest.raises(ValueError, match="one table per candidate"):
        assess(["a", "b"], ranked, [1, 1], [1, 1], held_out=fresh[:1])


def test_verdict_reports_the_supernet_seed_spread():
    assert ranks_in([0.5, 0.9, 0.7, 0.9], [0, 1, 3]) == [4, 1, 1]
    top = [dataclasses.replace(c, supernet_ranks=[1, 4]) for c in assess(["a"], [_hits(0.8)], [1], [1])]
    spread = SupernetSpread(2, [TauCI(0.31, 0.1, 0.5, 20)])
    line = verdict(top, 0.95, spread=spread)
    assert line.endswith("across 2 supernet seeds tau 0.31 [0.10, 0.50] over 20, the returned genotype ranks 1/4")
    assert "not measured" in verdict(top, 0.95, spread=SupernetSpread(1, []))
    assert Confidence(0.95, top, None, line, spread).as_dict()["supernets"] == {
        "supernets": 2, "measured": True, "seconds": 0.0, "tau": [{"tau": 0.31, "ci": [0.1, 0.5], "n": 20}]}

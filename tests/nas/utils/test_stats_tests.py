"""Claims as tests (nas.utils.stats): exact and sampled permutation p-values, bootstrap intervals, Claim."""
import math

import numpy as np
import pytest

from nas.utils.stats import Claim, bootstrap_test, permutation_p


def _diff(a, b):
    return float(a.mean() - b.mean())


def test_exact_permutation_p_counts_every_relabelling():
    # the 3 largest of 11 values labelled "picks": 1 of C(11, 3) = 165 relabellings is as extreme
    assert permutation_p([9, 10, 11], list(range(1, 9)), _diff) == pytest.approx(1 / 165)
    assert permutation_p([1, 2], [3, 4, 5], _diff) == 1.0  # the smallest: every relabelling is at least as large


def test_sampled_permutation_p_approximates_the_exact_one():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.5, 1, 12), rng.normal(0, 1, 12)  # C(24, 12) > 2.7M relabellings: sampled
    sampled = permutation_p(a, b, _diff, resamples=4000, seed=1)
    assert 0 < sampled < 1 and sampled == permutation_p(a, b, _diff, resamples=4000, seed=1)
    exact_small = permutation_p(a[:4], b[:4], _diff)  # C(8, 4) = 70: exact
    assert exact_small == pytest.approx(permutation_p(a[:4], b[:4], _diff, resamples=69, seed=2), abs=0.2)


def test_picks_against_randoms_reproduces_the_stored_figures():
    """The 2-seed embedded benchmark: picks at the 88th, 88th and 75th percentile of 8 randoms, p = 0.061."""
    from experiments.bench_search_vs_random import picks_test

    picks, randoms = [0.9545, 0.9530, 0.9460], [0.9330, 0.9425, 0.9425, 0.9165, 0.9465, 0.9575, 0.9445, 0.9155]
    t = picks_test(picks, randoms)
    assert t.estimate == pytest.approx(250 / 3) and t.p == pytest.approx(10 / 165)
    assert not t.shown and t.as_dict()["verdict"] == "not shown" and t.low <= t.estimate <= t.high
    assert "p = 0.0606, n = 3 picks vs 8 randoms: not shown" in str(t)


def test_bootstrap_test_interval_and_one_sided_p():
    rng = np.random.default_rng(3)
    a = rng.normal(1.0, 1.0, 200)
    est, low, high, p = bootstrap_test(lambda x: float(x.mean()), a, resamples=1000)
    assert low < est < high and p < 0.001 and high - low == pytest.approx(2 * 1.96 / math.sqrt(200), rel=0.25)
    _, _, _, p_null = bootstrap_test(lambda x: float(x.mean()), rng.normal(0.0, 1.0, 200), resamples=1000)
    assert 0.01 < p_null < 0.99
    x, y = rng.normal(0, 1, 50), rng.normal(0, 1, 50)
    paired = bootstrap_test(lambda u, v: float((u - v).mean()), x, x + 0.5, paired=True, resamples=200)
    assert paired[0] == pytest.approx(-0.5) and paired[2] == pytest.approx(-0.5)  # a constant shift has no spread
    assert Claim(0.1, 0.0, 0.2, 0.049, "n").shown and not Claim(0.1, 0.0, 0.2, 0.05, "n").shown


def test_proxy_test_includes_the_supernet_draw():
    """Two supernets, one ranking perfectly and one backwards: their mean beats MAdds' 0 but is not shown."""
    from experiments.bench_search_vs_random import proxy_test

    truth = list(range(12))
    madds = [5, 1, 9, 3, 11, 0, 7, 2, 10, 4, 8, 6]
    one = proxy_test([truth], madds, truth, resamples=300)
    assert one.estimate > 0.8 and one.shown and one.n == "12 genotypes x 1 supernet(s)"
    both = proxy_test([truth, truth[::-1]], madds, truth, resamples=300)
    assert not both.shown and both.low < 0 < both.high


def test_student_t_matches_tabled_values_for_odd_and_even_df():
    from nas.utils.stats import student_t_ppf, student_t_sf
    # two-sided 95% critical values from the standard table, odd and even degrees of freedom
    for df, crit in [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (7, 2.365), (30, 2.042)]:
        assert student_t_sf(crit, df) == pytest.approx(0.025, abs=2e-5)
        assert student_t_ppf(0.975, df) == pytest.approx(crit, abs=1e-3)
    assert student_t_sf(0.0, 5) == pytest.approx(0.5)
    assert student_t_sf(-2.0, 3) == pytest.approx(1 - student_t_sf(2.0, 3))
    with pytest.raises(ValueError, match="positive integer"):
        student_t_sf(1.0, 0)


def test_t_claim_recomputes_a_stored_seed_figure_and_refuses_a_test_without_spread():
    from nas.utils.stats import t_claim
    ious = [0.5733248882365163, 0.5511314626484213, 0.5643994011604242]  # dice_width/metrics_mix_60000_seed*.json
    c = t_claim(ious, null=0.5, n="3 seeds")
    assert (round(c.estimate, 3), round(c.low, 3), round(c.high, 3)) == (0.563, 0.535, 0.591)
    assert c.p == pytest.approx(0.0052, abs=2e-4) and c.shown
    assert not t_claim(ious, null=0.56).shown  # the mean is above 0.56, but not shown at 3 seeds
    assert not t_claim([0.6], null=0.5).shown and not t_claim([0.6, 0.6, 0.6], null=0.5).shown


def test_sign_flip_claim_is_exact_and_cannot_go_below_two_to_the_minus_k():
    from nas.utils.stats import sign_flip_claim

    five = sign_flip_claim([0.1, 0.2, 0.3, 0.4, 0.5], n="5 supernets")
    assert five.p == pytest.approx(1 / 32) and five.shown and five.n == "5 supernets"  # only the all-plus pattern
    assert five.estimate == pytest.approx(0.3) and 0.1 <= five.low <= five.estimate <= five.high <= 0.5
    three = sign_flip_claim([0.43, 0.32, 0.13])
    assert three.p == pytest.approx(1 / 8) and not three.shown  # three units can never show anything
    mixed = sign_flip_claim([0.3, -0.1, 0.2, -0.2])
    # patterns with mean >= 0.05: count them by hand over the 16 sign patterns of (0.3, 0.1, 0.2, 0.2)
    import itertools

    hand = sum(np.mean(np.array([0.3, -0.1, 0.2, -0.2]) * s) >= 0.05 - 1e-12
               for s in itertools.product((1, -1), repeat=4)) / 16
    assert mixed.p == pytest.approx(hand) and mixed.estimate == pytest.approx(0.05)
    with pytest.raises(ValueError):
        sign_flip_claim([])

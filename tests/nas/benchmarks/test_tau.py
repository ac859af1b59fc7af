"""Kendall tau-b (O(n log n)) against the pairwise definition, the data README's figures, and its bootstrap CI."""
import itertools
import math
import random

import pytest

import nas
from nas.benchmarks import load_table
from nas.utils.stats import kendall_tau, kendall_tau_ci


def pairwise_tau_b(a, b):
    c = d = ta = tb = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        da, db = a[i] - a[j], b[i] - b[j]
        if da == 0 and db == 0:
            continue
        if da == 0:
            ta += 1
        elif db == 0:
            tb += 1
        elif (da > 0) == (db > 0):
            c += 1
        else:
            d += 1
    den = math.sqrt((c + d + ta) * (c + d + tb))
    return (c - d) / den if den else 0.0


def test_matches_the_pairwise_definition_with_ties():
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(0, 30)
        a = [rng.randint(0, 4) for _ in range(n)]
        b = [rng.randint(0, 4) if rng.random() < 0.5 else rng.random() for _ in range(n)]
        assert kendall_tau(a, b) == pytest.approx(pairwise_tau_b(a, b), abs=1e-12)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0 and kendall_tau([1, 1], [1, 2]) == 0.0
    with pytest.raises(ValueError):
        kendall_tau([1], [1, 2])


def test_reproduces_the_data_readme_on_all_cells():
    plugin = nas.get_plugin("nb201")
    t = load_table(plugin.space, plugin.table_source())
    valid, test12, test200 = (list(t.column(c).values()) for c in ("c10_valid_12ep", "c10_test_12ep",
                                                                   "c10_test_200ep_analog"))
    assert round(kendall_tau(valid, test200), 4) == 0.6059
    assert round(kendall_tau(test12, test200), 4) == 0.7114
    assert round(kendall_tau(valid, test12), 4) == 0.8421


def test_bootstrap_interval_is_seeded_and_brackets_tau():
    rng = random.Random(1)
    a = [rng.random() for _ in range(60)]
    b = [x + rng.gauss(0, 0.3) for x in a]
    ci = kendall_tau_ci(a, b, resamples=300, seed=5)
    assert ci.low < ci.tau < ci.high and ci.n == 60
    assert ci == kendall_tau_ci(a, b, resamples=300, seed=5)
    more = [rng.random() for _ in range(600)]
    wide = kendall_tau_ci(more, [x + rng.gauss(0, 0.3) for x in more], resamples=300, seed=5)
    assert wide.high - wide.low < ci.high - ci.low  # ten times the items: a narrower interval

"""Hand cases for nas.forgery.metrics."""
import numpy as np
import pytest

from nas.forgery import metrics as M


def pairwise_auc(s, y):
    pos, neg = s[y == 1], s[y == 0]
    return np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])


def test_auc_hand_cases():
    assert M.auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert M.auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert M.auc([0.5, 0.5, 0.5], [0, 1, 1]) == 0.5
    # one inverted pair of four: 3/4
    assert M.auc([0.1, 0.6, 0.5, 0.9], [0, 0, 1, 1]) == 0.75
    assert np.isnan(M.auc([0.1, 0.2], [1, 1]))


def test_auc_equals_pairwise_reference_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(5):
        s = rng.integers(0, 6, 80) / 5.0  # many ties
        y = rng.integers(0, 2, 80)
        assert M.auc(s, y) == pytest.approx(pairwise_auc(s, y), abs=1e-12)


def test_eer_ap_acc():
    s, y = [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]
    assert M.eer([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 0.0
    assert M.eer(s, y) == 0.5
    # ranking 0.8(+) 0.4(-) 0.35(+) 0.1(-): AP = 0.5*1 + 0.5*(2/3)
    assert M.average_precision(s, y) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert M.average_precision([0.5, 0.5], [0, 1]) == 0.5
    assert M.accuracy_at(s, y) == 0.75
    assert M.accuracy_at([0.5], [1]) == 1.0  # >= 0.5 is fake


def test_balanced_accuracy_is_mean_recall():
    # class 0: 3/4 right, class 1: 1/1, class 2: 0/1 -> (0.75 + 1 + 0) / 3
    assert M.balanced_accuracy([0, 0, 0, 1, 1, 0], [0, 0, 0, 0, 1, 2]) == pytest.approx(1.75 / 3)


def test_spatial_metrics_hand_case():
    g = np.array([[0.0, 0.0], [0.3, 1.0]])
    p = np.array([[0.0, 0.15], [0.25, 0.4]])
    m = M.spatial_metrics(p, g)
    assert m["l1"] == pytest.approx((0 + 0.15 + 0.05 + 0.6) / 4)
    assert m["iou_0.1"] == 0.75  # pixel (0,1) disagrees at 0.1
    assert m["iou_0.2"] == 1.0
    assert m["iou_diff_0.01"] == 0.25 and m["iou_diff_0.05"] == 0.5 and m["iou_diff_0.1"] == 0.5
    assert m["bin_iou"] == 0.0 and m["bin_f1"] == 0.0
    same = M.spatial_metrics(g, g)
    assert same["l1"] == 0.0 and same["iou_0.1"] == 1.0 and same["bin_iou"] == 1.0


def test_spatial_sums_add_up_over_batches():
    rng = np.random.default_rng(1)
    p, g = rng.random((6, 8, 8)), rng.random((6, 8, 8))
    a, b = M.spatial_sums(p[:2], g[:2]), M.spatial_sums(p[2:], g[2:])
    total = M.finish_spatial({k: a[k] + b[k] for k in a})
    assert total == pytest.approx(M.spatial_metrics(p, g))

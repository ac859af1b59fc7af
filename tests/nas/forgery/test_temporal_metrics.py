"""Hand cases for the temporal localization metrics in nas.forgery.metrics."""
import numpy as np
import pytest

from nas.forgery import metrics as M


def test_tiou_hand_cases():
    assert M.tiou((0, 10), (5, 15)) == pytest.approx(1 / 3)
    assert M.tiou((0, 10), (0, 10)) == 1.0
    assert M.tiou((0, 10), (10, 20)) == 0.0
    assert M.tiou((0, 10), (20, 30)) == 0.0
    assert M.tiou((2, 4), (0, 10)) == pytest.approx(0.2)


def test_perfect_predictions_give_ap_one_everywhere():
    gt = {"a": [(0, 10), (20, 30)], "b": [(5, 9)], "c": []}
    pred = {"a": [(0, 10, 0.9), (20, 30, 0.8)], "b": [(5, 9, 0.7)], "c": []}
    ap = M.temporal_ap(pred, gt)
    assert set(ap) == {0.5, 0.75, 0.9, 0.95, "mAP"}
    assert all(v == 1.0 for v in ap.values())


def test_tiou_06_counts_at_05_not_075():
    gt = {"a": [(0, 10)]}
    pred = {"a": [(0, 6, 0.9)]}  # tIoU 0.6
    ap = M.temporal_ap(pred, gt, thresholds=(0.5, 0.6, 0.75))
    assert ap[0.5] == 1.0 and ap[0.6] == 1.0 and ap[0.75] == 0.0
    assert M.temporal_ap(pred, gt, thresholds=(0.6,), strict=True)[0.6] == 0.0  # LAV-DF: strictly above
    assert ap["mAP"] == pytest.approx(0.3)  # counts at 0.5, 0.55 and 0.6 of the ten thresholds


def test_duplicate_is_one_tp_and_one_fp():
    gt = {"a": [(0, 10)]}
    tp, n_gt = M._match({"a": [(0, 10, 0.9), (0, 10, 0.8)]}, gt, 0.5, False)
    assert tp.tolist() == [1.0, 0.0] and n_gt == 1
    # the TP comes first, so the envelope keeps precision 1 at recall 1: AP 1 ...
    assert M.temporal_ap({"a": [(0, 10, 0.9), (0, 10, 0.8)]}, gt)[0.5] == 1.0
    # ... but a duplicate ranked above a second true segment costs precision
    gt2 = {"a": [(0, 10), (20, 30)]}
    ap = M.temporal_ap({"a": [(0, 10, 0.9), (0, 10, 0.8), (20, 30, 0.7)]}, gt2)[0.5]
    assert ap == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)


def test_all_point_interpolation_and_ranking_across_videos():
    gt = {"a": [(0, 10)], "b": [(0, 10)]}
    # ranks: FP (0.9), TP (0.8), TP (0.7): precision 0, 1/2, 2/3 at recall 0, .5, 1 -> envelope 2/3 everywhere
    pred = {"a": [(50, 60, 0.9), (0, 10, 0.8)], "b": [(0, 10, 0.7)]}
    assert M.temporal_ap(pred, gt)[0.5] == pytest.approx(2 / 3)
    assert M.temporal_ap({}, gt)[0.5] == 0.0
    assert np.isnan(M.temporal_ap({"a": [(0, 1, 0.5)]}, {"a": []})[0.5])


def test_average_recall_top_n():
    gt = {"a": [(0, 10), (20, 30), (40, 50)]}
    pred = {"a": [(0, 10, 0.9), (100, 110, 0.8), (20, 30, 0.7), (40, 50, 0.1)]}
    assert M.average_recall(pred, gt, 2) == pytest.approx(1 / 3)
    assert M.average_recall(pred, gt, 5) == 1.0
    row = M.temporal_metrics(pred, gt)
    assert {"ap_0.5", "ap_0.75", "ap_0.9", "ap_0.95", "mAP", "ar_2", "ar_5", "ar_100"} <= set(row)

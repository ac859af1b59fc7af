"""Trivial baselines: exact against brute force, the beats flags, NaN refused; region metrics; losses; classes."""
import numpy as np
import pytest
import torch

from nas.errors import NasError
from nas.forgery import baselines as B
from nas.forgery import metrics as M


def _maps(rng, n=12, side=6):
    g = np.zeros((n, side, side))
    fake = np.arange(n) % 2 == 0
    for i in np.flatnonzero(fake):
        g[i, 1:4, 2:5] = rng.integers(0, 256, (3, 3)) / 255.0  # a region of random grey levels
    return g, fake


def test_spatial_baselines_equal_brute_force():
    rng = np.random.default_rng(0)
    g, fake = _maps(rng)
    sums = B.map_sums(g[:5], fake[:5], 0.05)  # two batches, summed as the trainer sums them
    more = B.map_sums(g[5:], fake[5:], 0.05)
    sums = {k: sums[k] + more[k] for k in sums}
    got = B.spatial_baselines(sums)
    mean = g.mean(0)
    assert got["base_zero_l1"] == pytest.approx(np.abs(g).mean())
    assert got["base_mean_l1"] == pytest.approx(np.abs(g - mean).mean())
    region = (g[fake] >= 0.05).mean(0) >= 0.5  # the mean map's region over the fakes
    want = M.finish_region(M.region_sums(np.broadcast_to(region, g.shape).astype(float), g, fake, 0.05))
    assert got["base_mean_bin_iou"] == pytest.approx(want["bin_iou"])
    assert got["base_mean_bin_f1"] == pytest.approx(want["bin_f1"])
    assert got["base_zero_bin_iou"] == 0.0 and got["base_zero_bin_f1"] == 0.0


def test_region_metrics_pool_fakes_only_and_count_alarms_on_reals():
    g = np.zeros((2, 4, 4))
    g[0, :2, :2] = 0.2  # the fake's region: 4 pixels
    p = np.zeros((2, 4, 4))
    p[0, :2, :1] = 1.0  # 2 of them found
    p[1, 0, 0] = 1.0  # one false alarm on the real image
    out = M.finish_region(M.region_sums(p, g, np.array([True, False]), 0.05))
    assert out["bin_iou"] == pytest.approx(0.5) and out["bin_f1"] == pytest.approx(2 * 2 / 6)
    assert out["real_alarm"] == pytest.approx(1 / 16)


def test_classification_and_video_baselines():
    got = B.classification_baselines([0, 0, 0, 1], {2: [0, 0, 0, 1], 16: [0, 0, 0, 7]})
    assert got["base_majority_acc"] == 0.75 and got["base_chance_auc"] == 0.5 and got["base_chance_ap"] == 0.25
    assert got["base_majority_bacc_2"] == 0.5 and got["base_majority_acc_16"] == 0.75
    v = B.video_baselines([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1])
    assert v["base_framediff_auc"] == 1.0


def test_frame_difference_is_the_mean_absolute_change():
    f = np.zeros((3, 2, 2, 3), np.uint8)
    f[1] = 255
    assert B.frame_difference(f) == pytest.approx(1.0)
    assert B.frame_difference(f[:1]) == 0.0


def test_temporal_baselines_by_hand():
    frames = [10.0, 10.0, 10.0]
    gts = {0: [(0.0, 10.0)], 1: [(0.0, 5.0)], 2: []}  # a whole-video fake, a half fake, a real video
    got = B.temporal_baselines(frames, gts, scores=[0.9, 0.2, 0.1], labels=[1, 1, 0])
    # whole: 3 proposals at score 1, one hit (video 0) at tIoU 1; video 1's is at tIoU 0.5
    assert got["base_whole_ap_0.5"] == pytest.approx(M.temporal_ap({i: [(0, 10, 1.0)] for i in range(3)}, gts)[0.5])
    assert got["base_whole_called_ap_0.75"] == pytest.approx(0.5)  # only video 0 is called fake: 1 of 2 GTs
    assert got["base_whole_true_ap_0.5"] == pytest.approx(1.0)  # tIoU 0.5 counts at 0.5
    assert got["base_whole_true_ap_0.75"] == pytest.approx(0.5)


def test_compare_flags_and_lower_is_better():
    row = {"auc": 0.7, "l1": 0.01, "bin_iou": 0.3}
    out = B.compare(row, {"base_chance_auc": 0.5, "base_zero_l1": 0.008, "base_mean_bin_iou": 0.3})
    assert out["beats_chance_auc"] == 1.0 and out["beats_zero_l1"] == 0.0 and out["beats_mean_bin_iou"] == 0.0
    assert B.beside({**row, **out}, {"auc": ("chance",)}) == "auc 0.7000 (chance 0.5000)"


def test_nan_never_passes():
    B.check_finite({"auc": 0.5, "n": 3})
    with pytest.raises(NasError, match="auc is nan"):
        B.check_finite({"auc": float("nan")})


def test_region_loss_prefers_finding_the_region_to_an_empty_map():
    from nas.forgery.losses import region_loss

    target = torch.zeros(4, 8, 8)
    target[:2, 2:4, 2:4] = 1.0
    empty = torch.full_like(target, 0.01)
    found = torch.where(target > 0, 0.9, 0.01)
    assert float(region_loss(found, target)) < float(region_loss(empty, target))
    assert float(torch.nn.functional.l1_loss(empty, target)) < 0.07  # what plain L1 would settle for


@pytest.mark.parametrize("classes,want", [(2, (2,)), ((2, 3, 16), (2, 3, 16)), ("16,2", (2, 16)), ("", ()),
                                          ([3], (3,))])
def test_label_sets_of(classes, want):
    from nas.forgery.spec import label_sets_of

    assert label_sets_of(classes) == want


def test_create_detector_takes_an_int_or_a_tuple_of_classes():
    from nas.forgery import create_detector

    det = create_detector("st_topo:mobilenetv2", task="forgery_image", classes=2, resolution=32).eval()
    assert sorted(det(torch.randn(1, 3, 32, 32))) == ["logits_2"]
    with pytest.raises(NasError, match="--classes"):
        create_detector("st_topo:mobilenetv2", classes=5, resolution=32)

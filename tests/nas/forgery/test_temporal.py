"""Pooling, boundary targets, proposals and Soft-NMS of nas.forgery.temporal."""
import numpy as np
import pytest
import torch

from nas.errors import NasError
from nas.forgery import temporal as T


def test_pool_scores():
    x = torch.tensor([[0.0, 1.0, 5.0, 2.0]])
    assert T.pool_scores(x, "mean").item() == 2.0
    assert T.pool_scores(x, "max").item() == 5.0
    assert T.pool_scores(x, "topk", 2).item() == 3.5
    with pytest.raises(NasError, match="median"):
        T.pool_scores(x, "median")


def test_boundary_targets():
    slots = torch.tensor([[0, 0, 1, 1, 1, 0, 0, 0]], dtype=torch.float32)
    s, e = T.boundary_targets(slots, width=0)
    assert s[0].tolist() == [0, 0, 1, 0, 0, 0, 0, 0] and e[0].tolist() == [0, 0, 0, 0, 1, 0, 0, 0]
    s, _ = T.boundary_targets(slots, width=1)
    assert s[0].tolist() == [0, 1, 1, 1, 0, 0, 0, 0]


def test_proposals_find_a_clean_segment_from_grouping_and_from_boundaries():
    fake = np.array([0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1])
    best = T.proposals(fake)[0]
    assert best[:2] == (2, 5)
    start = np.array([0.0, 0.0, 0.9, 0.1, 0.0, 0.0, 0.0, 0.0])
    end = np.array([0.0, 0.0, 0.0, 0.1, 0.9, 0.0, 0.0, 0.0])
    cands = T.proposals(fake, start, end, thresholds=())  # start/end pairs only
    assert cands[0][:2] == (2, 5) and cands[0][2] == pytest.approx(0.9 * 0.9 * 0.9)


def test_soft_nms_decays_overlaps_and_keeps_disjoint_segments():
    segs = [(0, 10, 0.9), (1, 10, 0.8), (20, 30, 0.7)]
    kept = T.soft_nms(segs, sigma=0.4)
    assert kept[0] == (0, 10, 0.9) and kept[1] == (20, 30, 0.7)  # the disjoint one is untouched
    assert kept[2][2] == pytest.approx(0.8 * np.exp(-0.9 ** 2 / 0.4))
    assert len(T.soft_nms(segs, top=1)) == 1


def test_load_backbone_accepts_prefixed_states_and_refuses_misfits():
    import nas

    g = nas.load_genotype("pv_st_tiny:tsn")
    src = T.VideoScorer(nas.create_backbone(g), True, 4, "mean", 2)
    dst = T.TemporalLocalizer(nas.create_backbone(g), True, hidden=8)
    dst.load_backbone_state(src.state_dict())
    for k, v in src.backbone.state_dict().items():
        assert torch.equal(v, dst.features.backbone.state_dict()[k]), k
    with pytest.raises(NasError, match="do not fit"):
        dst.load_backbone_state({"backbone.stem.0.weight": torch.zeros(1)})


def test_one_slot_per_frame_lifts_the_resampling_cap_on_tight_tiou():
    import numpy as np

    from nas.data.forgery_video import pack_target, split_video_target
    from nas.forgery.metrics import temporal_ap
    from nas.tasks.forgery_temporal import localize

    gts = {0: [(3, 11)], 1: [(5, 6), (17, 30)], 2: [(1, 2), (9, 20)]}  # odd starts: between two 16-slot edges
    for length, want in ((32, 1.0), (16, None)):
        preds = {}
        for vid, segs in gts.items():
            slots = split_video_target(pack_target((1, 1, 1), segs, 32, length)[None])["slots"][0].numpy()
            preds[vid] = localize(slots, None, None, 32, 0.4)  # perfect per-slot labels, grouping proposals
        ap = temporal_ap(preds, gts)[0.95]
        assert ap == 1.0 if want else ap < 0.5


def test_frame_changes_see_flicker():
    import torch

    from nas.forgery.temporal import TemporalLocalizer, frame_changes

    x = torch.zeros(1, 3, 6, 8, 8)
    x[:, :, 3] = 1.0  # one frame flickers
    c = frame_changes(x)
    assert c.shape == (1, 10, 6)
    assert float(c[0, 0, 3]) == 1.0 and float(c[0, 5, 3]) == 1.0 and float(c[0, 0, 1]) == 0.0  # prev, next
    from nas.spaces import create_backbone

    model = TemporalLocalizer(create_backbone("pv_st:tsm_r50", width=0.125), True, hidden=8, changes=True).eval()
    out = model(torch.randn(2, 3, 8, 16, 16))
    assert out["fake"].shape == (2, 8) and out["start"].shape == (2, 8)


def test_temporal_scorer_pools_per_frame_logits_and_sees_a_flicker_step():
    import torch

    from nas.forgery.temporal import TemporalScorer
    from nas.spaces import create_backbone

    model = TemporalScorer(create_backbone("pv_st:tsm_r50", width=0.125), True, "topk", 2, hidden=8).eval()
    x = torch.randn(2, 3, 8, 16, 16)
    out = model(x)
    assert out["parts"].shape == (2, 8) and out["logit"].shape == (2,) and out["start"].shape == (2, 8)
    assert torch.allclose(out["logit"], out["parts"].topk(2, 1).values.mean(1))
    x2 = x.clone()
    x2[:, :, 4:] += 1.0  # a step at frame 4: the change features, hence the per-frame logits, move there
    y = model(x2)["parts"] - out["parts"]
    assert float(y[:, 3:6].abs().sum()) > 0


def test_localization_loss_adds_boundaries_only_when_given():
    import torch

    from nas.forgery.temporal import boundary_targets, localization_loss, weighted_bce

    slots = torch.tensor([[0.0, 0, 1, 1, 1, 0, 0, 0]])
    fake, start, end = torch.randn(3, 1, 8).unbind(0)
    assert torch.equal(localization_loss(fake, slots), weighted_bce(fake, slots))
    s, e = boundary_targets(slots, 0)
    assert s.tolist() == [[0, 0, 1, 0, 0, 0, 0, 0]] and e.tolist() == [[0, 0, 0, 0, 1, 0, 0, 0]]
    want = weighted_bce(fake, slots) + weighted_bce(start, s) + weighted_bce(end, e)
    assert torch.allclose(localization_loss(fake, slots, start, end, width=0), want)

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.config import build_config, from_dict
from nas.config.retrain import RetrainConfig
from nas.config.video import ClipSamplingConfig
from nas.data.video import VideoListDataset, VideoRecord, dense_indices, segment_indices, write_video
from nas.data.video_augment import TSM_SCALES, TrainAugment, fixed_offsets, multiscale_box, train_view
from nas.errors import NasError

RECIPES = Path(__file__).resolve().parents[3] / "recipes" / "retrain"


def test_multiscale_crop_draws_tsm_sizes_at_the_13_fixed_positions():
    rng, sides, seen = random.Random(0), [256, 224, 192, 168], set()
    for _ in range(2000):
        top, left, ch, cw = multiscale_box(256, 340, 224, TSM_SCALES, 1, rng)
        assert ch in sides and cw in sides and abs(sides.index(ch) - sides.index(cw)) <= 1
        assert (top, left) in fixed_offsets(256, 340, ch, cw) and top + ch <= 256 and left + cw <= 340
        seen.add((ch, cw, top, left))
    pairs = {(h, w) for h, w, _, _ in seen}
    assert len(pairs) == 10  # 4 square + 2 x 3 one-step aspect jitters
    assert len({(t, l) for h, w, t, l in seen if (h, w) == (168, 192)}) == 13
    assert {multiscale_box(256, 340, 224, TSM_SCALES, 0, rng)[2:] for _ in range(200)} <= {(s, s) for s in sides}


def test_multiscale_crop_snaps_near_sizes_to_the_output():
    assert {multiscale_box(100, 100, 99, (1.0,), 1, random.Random(i))[2:] for i in range(5)} == {(99, 99)}


def test_flip_is_off_on_or_swaps_the_listed_pairs():
    x = torch.rand(4, 3, 32, 48)
    draws = [train_view(x, 3, 32, TrainAugment(flip="pairs", flip_pairs=((3, 4),)), random.Random(i))
             for i in range(40)]
    plain = [train_view(x, 3, 32, TrainAugment(), random.Random(i))[0] for i in range(40)]
    flipped = [label == 4 for _, label in draws]
    assert 5 < sum(flipped) < 35
    for (v, label), p, f in zip(draws, plain, flipped):  # the crop is drawn before the flip: same box
        assert torch.equal(v, p.flip(-1) if f else p)
    assert {train_view(x, 5, 32, TrainAugment(flip="pairs", flip_pairs=((3, 4),)), random.Random(i))[1]
            for i in range(20)} == {5}
    on = [train_view(x, 3, 32, TrainAugment(flip="on"), random.Random(i)) for i in range(20)]
    assert {label for _, label in on} == {3} and any(not torch.equal(v, p) for (v, _), p in zip(on, plain))
    assert all(torch.equal(train_view(x, 3, 32, TrainAugment(), random.Random(i))[0], p)
               for i, p in enumerate(plain))


def test_multi_clip_test_spreads_clips_over_the_video():
    rng = random.Random(0)
    clips = [segment_indices(80, 8, False, rng, c, 3) for c in range(3)]
    assert clips[1] == segment_indices(80, 8, False, rng)  # the middle clip is the single-view clip
    assert [c[0] for c in clips] == [1, 5, 8] and all(a < b < c for a, b, c in zip(*clips))
    starts = [dense_indices(200, 8, 2, False, rng, c, 4)[0] for c in range(4)]
    assert starts == sorted(starts) and min(np.diff(starts)) >= 40


def test_config_keys_are_typed_and_checked():
    cfg = from_dict(ClipSamplingConfig, {"short_side": 256, "scales": [1, 0.875, 0.75, 0.66], "flip": "pairs",
                                         "flip_pairs": [[3, 4], [10, 11]]})
    assert cfg.scales == TSM_SCALES and cfg.flip_pairs == ((3, 4), (10, 11))
    bad = [({"flip": "yes"}, "video.flip must be off, on or pairs"),
           ({"flip": "pairs"}, "flip_pairs is given exactly when"),
           ({"flip_pairs": [[1, 2]]}, "flip_pairs is given exactly when"),
           ({"flip": "pairs", "flip_pairs": [[1, 1]]}, "two distinct class indices"),
           ({"flip": "pairs", "flip_pairs": [[1, 2], [2, 3]]}, "each class in one pair"),
           ({"scales": [1.5]}, r"video.scales must lie in \[0.1, 1\]"),
           ({"short_side": 0}, "video.short_side must be in 1..4096"),
           ({"max_distort": -1}, "video.max_distort must be in 0..8")]
    for data, match in bad:
        with pytest.raises(NasError, match=match):
            from_dict(ClipSamplingConfig, data)
    tsm = build_config(RetrainConfig, recipe=RECIPES / "kinetics_tsm_protocol.yaml")
    assert tsm.video.scales == TSM_SCALES and tsm.video.short_side == 256 and tsm.video.flip == "on"


def test_training_clips_get_the_multiscale_crop_and_pair_flip(tmp_path):
    frames = np.broadcast_to(np.linspace(0, 255, 96).astype(np.uint8)[None, None, :, None], (16, 64, 96, 3))
    frames = np.ascontiguousarray(frames)  # dark to bright, left to right: a flip turns it round
    write_video(tmp_path / "v.mp4", frames)
    rec = [VideoRecord("v.mp4", 1)]
    aug = TrainAugment(TSM_SCALES, 1, "pairs", ((0, 1),))
    data = VideoListDataset(rec, tmp_path, frames=4, size=28, short_side=32, augment=aug, seed=2)
    labels = []
    for key in range(12):
        data.set_epoch(key)
        x, label = data[0]
        assert x.shape == (3, 4, 28, 28)
        left, right = x[..., :, :6].mean().item(), x[..., :, -6:].mean().item()
        assert (left > right) == (label == 0)  # flipped (bright side left) exactly when the label was swapped
        labels.append(label)
    assert set(labels) == {0, 1}
    with pytest.raises(NasError, match="short_side .* must be at least the crop size"):
        VideoListDataset(rec, tmp_path, size=40, short_side=32)


def test_retraining_config_reaches_the_list_datasets(tmp_path):
    import nas
    from nas.tasks import get_task

    for i in range(2):
        write_video(tmp_path / f"v{i}.mp4", np.zeros((8, 32, 48, 3), np.uint8))
    (tmp_path / "list.txt").write_text("v0.mp4 0\nv1.mp4 1\n")
    data = {"root": str(tmp_path), "train_list": str(tmp_path / "list.txt"), "val_list": str(tmp_path / "list.txt"),
            "frames": 4}
    video = {"short_side": 20, "scales": [1, 0.875], "flip": "pairs", "flip_pairs": [[0, 1]]}
    task, genotype = get_task("video_classification"), nas.load_genotype("pv_st_tiny:tsn")
    sets = task.datasets(from_dict(RetrainConfig, {"resolution": 16, "data": data, "video": video}), genotype)
    assert sets.train.augment == TrainAugment((1.0, 0.875), 1, "pairs", ((0, 1),)) and sets.train.short_side == 20
    assert sets.val.augment == TrainAugment() and sets.val.short_side == 20 and sets.train[0][0].shape == (3, 4, 16, 16)
    video["flip_pairs"] = [[0, 2]]
    with pytest.raises(NasError, match="flip_pairs names a class >= the 2 classes"):
        task.datasets(from_dict(RetrainConfig, {"resolution": 16, "data": data, "video": video}), genotype)

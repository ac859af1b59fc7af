"""Video face crops from per-video or per-frame boxes, the whole-frame fallback, and input paths made absolute."""
import os

import numpy as np
import pytest

from nas.data.forgery_crops import boxes_for, crop_frames, read_video_boxes
from nas.errors import NasError


def _frames(t=3, h=40, w=60):
    f = np.zeros((t, h, w, 3), np.uint8)
    f[:, 10:20, 30:40] = 255  # a white "face" at x 30-40, y 10-20
    return f


def test_per_video_box_crops_every_frame_to_the_face(tmp_path):
    video = tmp_path / "v.mp4"
    # the face box in 224-normalised units: x 30/60*224, y 10/40*224, w 10/60*224, h 10/40*224
    (tmp_path / "v_BB.txt").write_text(f"{30 / 60 * 224} {10 / 40 * 224} {10 / 60 * 224} {10 / 40 * 224} 0.9\n")
    boxes = read_video_boxes(video)
    crops = crop_frames(_frames(), boxes_for(boxes, [0, 1, 2]), 1.0, 8)
    assert crops.shape == (3, 8, 8, 3) and crops.mean() > 200  # the crop is (nearly) all face
    whole = crop_frames(_frames(), None, 1.3, 8)  # the fallback: the whole frame, mostly background
    assert whole.mean() < 60


def test_per_frame_boxes_follow_the_frame_and_repeat_the_last(tmp_path):
    (tmp_path / "v_BB.txt").write_text("0 0 10 10\n100 100 10 10\n")
    boxes = read_video_boxes(tmp_path / "v.mp4")
    assert boxes_for(boxes, [0, 1, 5]).tolist() == [[0, 0, 10, 10], [100, 100, 10, 10], [100, 100, 10, 10]]
    assert read_video_boxes(tmp_path / "none.mp4") is None
    (tmp_path / "b_BB.txt").write_text("1 2 x\n")
    with pytest.raises(NasError, match="b_BB.txt:1: expected 'x y w h"):
        read_video_boxes(tmp_path / "b.mp4")


def test_input_paths_resolve_against_the_directory_the_command_ran_in(tmp_path, monkeypatch):
    # Ray workers run in another working directory: the config carries absolute input paths
    from nas.config import build_config
    from nas.config.retrain import RetrainConfig

    monkeypatch.chdir(tmp_path)
    cfg = build_config(RetrainConfig, opts=["data.root=data", "data.train_list=lists/t.txt",
                                            "forgery.map_root=sl"])
    assert cfg.data.root == os.path.join(str(tmp_path), "data")
    assert cfg.data.train_list == os.path.join(str(tmp_path), "lists/t.txt")
    assert cfg.forgery.map_root == os.path.join(str(tmp_path), "sl")

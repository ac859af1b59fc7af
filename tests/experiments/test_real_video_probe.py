"""experiments.real_video_probe: clips cut from a real MP4, each forged and then as its real source, bad input."""
from dataclasses import replace

import numpy as np

from experiments.real_video_probe import build_videos, main, read_clips, write_list
from nas.data.forgery_video import parse_video_list
from nas.data.forgery_video_synthetic import VideoForgerySpec
from nas.data.video import write_video


def _clips(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 0.8, (n, 32, 32, 32, 3)).astype(np.float32)


def test_read_clips_cuts_non_overlapping_clips_of_the_face_box(tmp_path):
    frames = (np.random.default_rng(0).uniform(0, 255, (70, 48, 64, 3))).astype(np.uint8)
    write_video(tmp_path / "ann_1.mp4", frames, fps=8)
    clips = read_clips(tmp_path / "ann_1.mp4", (8, 4, 40, 36), frames=32, step=2, size=32)
    assert clips.shape == (1, 32, 32, 32, 3) and 0 <= clips.min() and clips.max() <= 1  # 35 kept frames: one clip


def test_every_clip_is_forged_then_shown_as_its_source_and_the_list_reads_back(tmp_path):
    spec = replace(VideoForgerySpec(paired=True), seed=0)
    videos, labels, segments = build_videos({"ann": _clips(3, 1), "bob": _clips(2, 2)}, spec, seed=0)
    assert videos.shape == (10, 32, 32, 32, 3)
    assert labels[0::2, 0].tolist() == [1] * 5 and labels[1::2].tolist() == [[0, 0, 0]] * 5
    assert all(segments[i] for i in range(0, 10, 2)) and not any(segments[i] for i in range(1, 10, 2))
    for i in range(0, 10, 2):  # outside its forged segments a fake equals its source, frame for frame
        forged = np.zeros(32, bool)
        for s, e in segments[i]:
            forged[s:e] = True
        assert np.array_equal(videos[i][~forged], videos[i + 1][~forged])
        assert not np.array_equal(videos[i][forged], videos[i + 1][forged])
    lst = write_list(tmp_path, videos, labels, segments)
    records = parse_video_list(str(lst), str(tmp_path))
    assert len(records) == 10


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "o")]) == 2
    assert main(["--checkpoint", "a=x.pt", "--video", f"{tmp_path / 'none.mp4'}=1,2,3,4", "--out",
                 str(tmp_path / "o")]) == 2
    assert main(["--checkpoint", "a=x.pt", "--video", "v.mp4=1,2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("real_video_probe: ") for line in err)

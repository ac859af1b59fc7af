"""ForgeryNet video lists, resampling, packed targets and the embedded face-video set."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from nas.data import forgery_video as V
from nas.data.forgery_video_synthetic import VideoForgerySpec, make_video_forgeries
from nas.errors import NasError


def _list(tmp_path, text):
    p = tmp_path / "list.txt"
    p.write_text(text)
    return str(p)


def test_parse_lengths_zero_and_three_folder_wins_and_whole_video_folders(tmp_path):
    text = ("0 train_release/17/a.mp4 0 0 0\n"
            "3 train_release/5/b.mp4 0 4 real 4 6 fake 20 3 fake 1 2 9\n"  # 16cls column disagrees: folder 5 wins
            "0 train_release/2/c.mp4 1 1 2\n"
            "1 train_release/8/d.mp4 0 10 fake 1 2 8\n")
    real, partial, fsgan, atvg = V.parse_video_list(_list(tmp_path, text), str(tmp_path))
    assert real.labels == (0, 0, 0) and real.segments == ()
    assert partial.labels == (1, 1, 5) and partial.segments == ((4, 10), (20, 23))  # real segments are not GT
    assert fsgan.segments is None and atvg.segments is None  # whole video, once its length is known
    assert V.fake_segments(None, 32, "x") == ((0, 32),)


@pytest.mark.parametrize("line,want", [
    ("1 train_release/5/b.mp4 0 4 fake 1 1\n", "L = 1 needs 2 + 3L + 3 = 8 fields, got 7"),
    ("2 train_release/5/b.mp4 0 8 fake 4 8 fake 1 1 5\n", "overlap"),
    ("1 train_release/5/b.mp4 0 0 fake 1 1 5\n", "n_frames >= 1"),
    ("x train_release/5/b.mp4 1 1 5\n", "must be an integer"),
    ("\n", "has no videos"),
])
def test_bad_lines_are_one_line_errors(tmp_path, line, want):
    with pytest.raises(NasError, match=want.replace("+", r"\+")) as err:
        V.parse_video_list(_list(tmp_path, line), str(tmp_path))
    assert "\n" not in str(err.value)


def test_segment_past_the_end_raises():
    with pytest.raises(NasError, match=r"\[20, 40\) runs past the end of the video \(32 frames\)"):
        V.fake_segments(((20, 40),), 32, "v.mp4")


def test_resampling_and_mapping_back_to_frames():
    assert V.resample_indices(32, 8) == [2, 6, 10, 14, 18, 22, 26, 30]
    assert V.resample_indices(4, 8) == [0, 0, 1, 1, 2, 2, 3, 3]  # short videos repeat frames
    assert V.slots_to_frames(2, 5, 32, 8) == (8.0, 20.0)
    y = V.pack_target((1, 1, 5), [(8, 20)], 32, 8)
    t = V.split_video_target(y[None])
    assert t["segments"] == [[(8.0, 20.0)]] and float(t["frames"][0]) == 32
    assert t["slots"][0].tolist() == [0, 0, 1, 1, 1, 0, 0, 0]


def test_embedded_set_is_deterministic_and_follows_the_spec():
    from nas.data.forgery_video_synthetic import _plan

    spec = VideoForgerySpec(resolution=16, seed=3)
    a = make_video_forgeries(6, spec, np.random.default_rng(3))
    b = make_video_forgeries(6, spec, np.random.default_rng(3))
    assert np.array_equal(a[0], b[0]) and a[2] == b[2] and np.array_equal(a[1], b[1])
    videos, labels, segments = a
    assert videos.shape == (6, 32, 16, 16, 3) and videos.dtype == np.uint8
    for (binary, _, method), segs in zip(labels, segments):
        assert binary == int(method > 0) and (binary == 1) == bool(segs)
    kinds = set()
    for method, segs in _plan(200, spec, np.random.default_rng(0)):  # the draw of methods and segments alone
        if segs == [(0, 32)]:
            kinds.add("whole")
        elif segs:
            kinds.add("partial")
            assert method not in (2, 8)  # ForgeryNet's folders 2 and 8 are fake throughout
            assert 1 <= len(segs) <= 3 and all(4 <= e - s <= 16 for s, e in segs)
            assert all(b0 > a1 for (_, a1), (b0, _) in zip(segs, segs[1:]))
        else:
            kinds.add("real")
    assert kinds == {"real", "whole", "partial"}
    # faces move and talk: consecutive frames of a real video differ
    real = videos[int(np.flatnonzero(labels[:, 0] == 0)[0])].astype(float)
    assert np.abs(np.diff(real, axis=0)).mean() > 0.5


def test_paired_set_follows_each_fake_with_its_source():
    spec = VideoForgerySpec(resolution=16, seed=3, paired=True)
    videos, labels, segments = make_video_forgeries(12, spec, np.random.default_rng(3))
    assert videos.shape == (12, 32, 16, 16, 3)
    fakes = [i for i in range(11) if labels[i, 0] == 1]
    assert fakes and all(labels[i + 1, 0] == 0 and segments[i + 1] == [] for i in fakes)
    for i in fakes:
        forged = np.zeros(32, bool)
        for a, b in segments[i]:
            forged[a:b] = True
        fake, src = videos[i].astype(int), videos[i + 1].astype(int)
        assert np.array_equal(fake[~forged], src[~forged])  # same face, motion, camera and final JPEG
        assert np.abs(fake[forged] - src[forged]).mean() > 0.5  # only the manipulation differs
    # the fakes are the unpaired set's fakes, in order: pairing inserts sources and draws nothing else
    plain = make_video_forgeries(12, VideoForgerySpec(resolution=16, seed=3), np.random.default_rng(3))
    first = int(np.flatnonzero(plain[1][:, 0] == 1)[0])
    assert segments[fakes[0]] == plain[2][first] and np.array_equal(videos[fakes[0]], plain[0][first])


def _edge_changes(videos, labels, segments):
    """Return the mean absolute change into each partial segment's first frame and out of its last, for every
    paired fake and for its real source at the same frames."""
    fake, src = [], []
    for i in np.flatnonzero(labels[:-1, 0] == 1):
        for t in (t for s, e in segments[i] for t in (s, e) if 0 < t < videos.shape[1]):
            for out, v in ((fake, videos[i]), (src, videos[i + 1])):
                out.append(np.abs(v[t].astype(float) - v[t - 1]).mean())
    return np.mean(fake), np.mean(src)


def test_fake_flickers_at_its_segment_edges_more_than_its_real_source():
    spec = VideoForgerySpec(resolution=32, seed=5, paired=True)
    fake, src = _edge_changes(*make_video_forgeries(24, spec, np.random.default_rng(5)))
    assert fake > 1.3 * src
    # the artefacts draw from the same stream at any scale: the same videos without them step less at the edges
    plain = _edge_changes(*make_video_forgeries(24, replace(spec, artefacts=0.0), np.random.default_rng(5)))
    assert plain[1] == src and plain[0] < fake


def test_bad_artefacts_is_one_line():
    with pytest.raises(NasError, match="artefacts >= 0"):
        make_video_forgeries(2, VideoForgerySpec(artefacts=-1.0), np.random.default_rng(0))


def test_written_mp4s_and_lists_read_back_as_the_embedded_arrays(tmp_path):
    from nas.data.forgery_video_synthetic import write_embedded

    spec = VideoForgerySpec(resolution=16, seed=5)
    train, _ = write_embedded(tmp_path, 4, 1, spec)
    videos, labels, segments = make_video_forgeries(4, spec, np.random.default_rng(5))  # the same first draw
    records = V.parse_video_list(str(train), str(tmp_path))
    files = V.FileVideoForgeries(records, 32, 16)
    arrays = V.ArrayVideoForgeries(videos, labels, segments, 32, 16)
    for i in range(4):
        (xf, yf), (xa, ya) = files[i], arrays[i]
        keep = torch.arange(len(ya)) != 4  # the frame-difference score (index 4) sees the codec's loss
        assert torch.equal(yf[keep], ya[keep])  # labels, frame count, segments (folders 2/8: whole) and slot labels
        assert abs(float(yf[4] - ya[4])) < 0.05
        assert (xf - xa).abs().mean() < 0.25  # H.264 at 16 px is lossy; normalised units (1 = 0.225 * 255)

import random
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nas.data.video import VideoListDataset, VideoRecord, segment_indices, write_video
from nas.data.video_augment import eval_views
from nas.data.video_decode import VideoReader, decode_all, decode_clip, frame_index, scaled_shape
from nas.utils.seeds import seeded_random

av = pytest.importorskip("av")


def _frames(n, h=48, w=80):
    """Return frames that differ from each other everywhere (a moving bar, a row and a per-frame level)."""
    x = np.zeros((n, h, w, 3), np.uint8)
    for i in range(n):
        x[i, :, (3 * i) % w:(3 * i) % w + 8] = 255
        x[i, (2 * i) % h, :, 1] = 200
        x[i, ..., 2] = (7 * i) % 256
    return x


def _write(path, frames, pts_ms=None, fmt=None, options=None):
    """Write ``frames`` with libx264 (B-frames, GOP 12); ``pts_ms`` gives uneven timestamps (a VFR file)."""
    with av.open(str(path), "w", format=fmt, container_options=options or {}) as c:
        s = c.add_stream("libx264", rate=25)
        s.height, s.width, s.pix_fmt = frames.shape[1], frames.shape[2], "yuv420p"
        s.codec_context.gop_size = 12
        if pts_ms is not None:
            s.codec_context.time_base = Fraction(1, 1000)
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts_ms is not None:
                f.pts, f.time_base = pts_ms[i], Fraction(1, 1000)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _uneven_pts(n, seed=0):
    rng, t, out = random.Random(seed), 0, []
    for _ in range(n):
        out.append(t)
        t += rng.choice([20, 33, 40, 40, 80])
    return out


def _index_sets(n):
    rng = random.Random(1)
    return [sorted(rng.sample(range(n), 8)), rng.sample(range(n), 8), [0, 0, 5, 5, n - 1], [n + 10, 3, n * 2],
            segment_indices(n, 8, False, rng, 1, 3)]


@pytest.mark.parametrize("name, pts", [("cfr.mp4", None), ("vfr.mp4", "uneven"), ("vfr.mkv", "uneven"),
                                       ("cfr.mkv", None), ("cfr.ts", None)])
def test_seeking_reader_gives_decode_all_frames_exactly(tmp_path, name, pts):
    n = 90
    path = tmp_path / name
    _write(path, _frames(n), pts_ms=_uneven_pts(n) if pts else None)
    ref = decode_all(path)
    assert frame_index(path).frames == len(ref) == n  # also where the container's frame count is 0 (Matroska)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an indexed file never falls back
        with VideoReader(path) as reader:
            for idx in _index_sets(n):
                assert np.array_equal(reader.read(idx), ref[[min(i, n - 1) for i in idx]])


def test_frames_are_scaled_as_decoded_within_codec_tolerance(tmp_path):
    path = tmp_path / "v.mp4"
    write_video(path, _frames(40, 96, 160))
    idx = [1, 9, 17, 33]
    got = decode_clip(path, idx, short_side=48)
    assert got.shape == (4, *scaled_shape(96, 160, 48), 3) == (4, 48, 80, 3)
    ref = torch.from_numpy(decode_all(path, idx)).permute(0, 3, 1, 2).float()
    ref = F.interpolate(ref, size=(48, 80), mode="bilinear", align_corners=False, antialias=True)
    err = (torch.from_numpy(got).permute(0, 3, 1, 2).float() - ref).abs().mean().item()
    assert err < 4.0, err  # two bilinear scalers (FFmpeg's in YUV, torch's in RGB) on sharp edges
    assert decode_clip(path, idx, shape=(32, 32)).shape == (4, 32, 32, 3)


def test_a_stream_without_timestamps_is_read_sequentially_and_said_once(tmp_path):
    path = tmp_path / "raw.h264"  # an elementary stream: no container, no timestamps, no index
    _write(path, _frames(50), fmt="h264")
    ref = decode_all(path)
    assert frame_index(path).pts is None and frame_index(path).frames == len(ref) == 50
    with pytest.warns(RuntimeWarning, match="decoding it from the start") as caught:
        for idx in _index_sets(50):
            assert np.array_equal(decode_clip(path, idx), ref[[min(i, 49) for i in idx]])
    assert len(caught) == 1


def test_a_torn_file_is_read_up_to_its_tear_or_skipped(tmp_path):
    whole = tmp_path / "whole.mkv"
    _write(whole, _frames(90))
    data = whole.read_bytes()
    torn = tmp_path / "torn.mkv"  # Matroska lists what is there: the torn file is a shorter video
    torn.write_bytes(data[: len(data) * 2 // 3])
    ref = decode_all(torn)
    assert 0 < frame_index(torn).frames == len(ref) < 90
    assert np.array_equal(decode_clip(torn, [2, 40, 89]), ref[[2, 40, len(ref) - 1]])
    whole = tmp_path / "whole.mp4"
    _write(whole, _frames(90), options={"movflags": "faststart"})  # the index first: a tear leaves it whole
    data, full = whole.read_bytes(), decode_all(whole)
    torn = tmp_path / "torn.mp4"
    torn.write_bytes(data[: len(data) // 3])
    n = frame_index(torn).frames  # the demux pass stops where the data stops
    assert 0 < n < 90
    with pytest.warns(RuntimeWarning, match="torn.mp4: cannot seek") as caught:
        for _ in range(2):  # the last listed packet is cut: the seek fails and the sequential read stops there
            got = decode_clip(torn, [2, n - 3, 89])
    assert len(caught) == 1
    assert np.array_equal(got[0], full[2])  # frames past the decodable end are the last decoded one
    assert all(any(np.array_equal(g, f) for f in full[n - 6:n]) for g in got[1:]) and np.array_equal(got[1], got[2])


def test_unreadable_files_are_skipped(tmp_path):
    _write(tmp_path / "v.mp4", _frames(30))  # index at the end: cut, nothing can be read
    data = (tmp_path / "v.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.mp4").write_bytes(b"")
    records = [VideoRecord(p, 0) for p in ("cut.mp4", "empty.mp4", "missing.mp4", "v.mp4")]
    data = VideoListDataset(records, tmp_path, frames=4, size=32)
    assert [data[i] is None for i in range(4)] == [True, True, True, False]


@pytest.mark.parametrize("train, sampling", [(True, "segment"), (False, "segment"), (True, "dense")])
def test_dataset_samples_the_same_frames_as_decode_all(tmp_path, train, sampling):
    """At the stored size (no scaling) a clip is exactly decode-all's frames at the same seeded draws."""
    _write(tmp_path / "v.mp4", _frames(70))
    kw = dict(frames=4, size=48, train=train, sampling=sampling, stride=3, seed=5, num_clips=1 if train else 3)
    data = VideoListDataset([VideoRecord("v.mp4", 2)], tmp_path, **kw)
    data.set_epoch(4)
    x, label = data[0]
    rng, video, views = seeded_random(5, 4, 0), decode_all(tmp_path / "v.mp4"), []
    for clip in range(kw["num_clips"]):
        idx = data._indices(len(video), clip, rng)
        frames = torch.from_numpy(video[idx]).permute(0, 3, 1, 2).float() / 255.0
        if train:
            top, left = rng.randint(0, 0), rng.randint(0, 80 - 48)
            views.append(frames[..., top:top + 48, left:left + 48])
        else:
            views += eval_views(frames, 48, 1)
    views = [((v - 0.45) / 0.225).permute(1, 0, 2, 3) for v in views]
    if not train:
        views.insert(0, views.pop(1))
    assert label == 2 and torch.equal(x, views[0] if train else torch.stack(views))

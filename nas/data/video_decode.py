"""Decode only the frames a clip needs: a packet index, keyframe-aware seeks, frames scaled as they are decoded.

``decode_all`` (every frame at full resolution, then indexed) is the reference the fast path must agree with;
:class:`VideoReader` gives the same frames for the same indices while holding at most the wanted frames:

- **Index.** One demux pass (packets only, no decoding) lists every frame's presentation timestamp and the
  keyframes, so frame ``i`` is the ``i``-th timestamp in presentation order, for constant and variable frame
  rates alike, and the frame count is exact even where the container's ``frames`` field is 0 (WebM, MPEG-TS).
  The index is cached per process by (path, size, mtime).
- **Seek.** The wanted timestamps are visited in order. The reader seeks (backward, to a keyframe) only when a
  keyframe lies between the last decoded frame and the next wanted one; otherwise it decodes forward, which
  never decodes more frames than a seek would. A seek that lands past the wanted frame is retried up to two
  keyframes earlier (MPEG-TS lands one group late).
- **Scale.** Each wanted frame is converted to RGB at the requested size by the decoder's scaler
  (``to_ndarray(width=, height=)``); no full-resolution RGB frame is kept.
- **Fallback.** A file whose seek fails, lands past the wanted frame, skips it, or whose packets carry no
  timestamps is decoded sequentially from its start up to the last wanted frame (frames counted as they come
  out of the decoder, as ``decode_all`` counts them), keeping only the wanted ones; this is said once per file
  and process. A wanted frame past the last decodable one (a truncated file) gets the last decoded frame, as
  ``decode_all``'s clamp does.
"""
from __future__ import annotations

import bisect
import itertools
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np

from nas.utils.readers import show_path

__all__ = ["FrameIndex", "frame_index", "scaled_shape", "VideoReader", "decode_all", "decode_clip"]

_WARNED: set = set()  # files whose seek fallback this process has already reported


@dataclass(frozen=True)
class FrameIndex:
    """The frames of a video stream: presentation timestamps in order (None: the packets carry none) and keyframes."""

    frames: int
    pts: Optional[Tuple[int, ...]]
    keyframes: Tuple[int, ...]


def _build_index(path: str) -> FrameIndex:
    """Demux every packet of the first video stream (nothing is decoded) and list its timestamps."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.size > 0]
    if not packets:
        raise ValueError(f"no video packets in {show_path(path)}")
    if any(pts is None for pts, _ in packets):
        return FrameIndex(len(packets), None, ())
    pts = tuple(sorted(p for p, _ in packets))
    return FrameIndex(len(pts), pts, tuple(sorted(p for p, key in packets if key)))


@lru_cache(maxsize=4096)
def _cached_index(path: str, size: int, mtime_ns: int) -> FrameIndex:
    return _build_index(path)


def frame_index(path: str | Path) -> FrameIndex:
    """Return the cached :class:`FrameIndex` of ``path`` (rebuilt when the file's size or mtime changes)."""
    st = os.stat(path)
    return _cached_index(str(path), st.st_size, st.st_mtime_ns)


def scaled_shape(h: int, w: int, short_side: int) -> Tuple[int, int]:
    """Return ``(H, W)`` with the short side at ``short_side`` and the aspect ratio kept (rounded)."""
    scale = short_side / min(h, w)
    return max(short_side, round(h * scale)), max(short_side, round(w * scale))


class _SeekFailed(Exception):
    """The index and the decoded timestamps disagree; decode sequentially instead."""


class VideoReader:
    """Read frames by index from one video file, decoding only what the wanted frames need.

    Example:
        >>> with VideoReader("clip.mp4") as r:  # doctest: +SKIP
        ...     clip = r.read([0, 10, 20], short_side=128)  # [3, 128, W, 3] uint8
    """

    def __init__(self, path: str | Path, *, threads: int = 0):
        import av

        self.path = str(path)
        self.index = frame_index(self.path)
        self.threads = threads
        self.container = av.open(self.path)
        self.stream = self._open_stream(self.container)
        self._fresh = True  # nothing decoded yet: the first group of pictures needs no seek

    def _reopen(self) -> None:
        """Put the reader back at the file's start (a fresh container; no seek, which some demuxers land late)."""
        import av

        if not self._fresh:
            self.container.close()
            self.container = av.open(self.path)
            self.stream = self._open_stream(self.container)

    def _open_stream(self, container):
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame and slice threads
        stream.codec_context.thread_count = self.threads  # 0: FFmpeg picks one per core
        return stream

    @property
    def frames(self) -> int:
        """Return the number of frames (from the packet index)."""
        return self.index.frames

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self.container.close()

    def read(self, indices: Sequence[int], *, short_side: Optional[int] = None,
             shape: Optional[Tuple[int, int]] = None) -> np.ndarray:
        """Return frames ``indices`` as ``[len, H, W, 3]`` uint8, scaled to ``short_side`` or to ``shape`` (H, W).

        Indices past the end are clamped to the last frame; ``None`` for both sizes keeps the stored size.
        """
        if not len(indices):
            raise ValueError("no frames asked for")
        h, w = self.stream.codec_context.height, self.stream.codec_context.width
        out_hw = shape or (scaled_shape(h, w, short_side) if short_side else (h, w))
        wanted = [min(max(int(i), 0), self.frames - 1) for i in indices]
        got = None
        if self.index.pts is None:
            _warn_once(self.path, "its packets carry no timestamps")
        else:
            got = self._read_by_pts(wanted, out_hw)
        if got is None:
            got = self._read_sequential(wanted, out_hw)
        return np.stack([got[i] for i in wanted])

    def _read_by_pts(self, wanted: Sequence[int], out_hw: Tuple[int, int]) -> Optional[Dict[int, np.ndarray]]:
        import av

        try:
            return self._seek_and_decode(sorted(set(wanted)), out_hw)
        except (_SeekFailed, av.FFmpegError, OSError, ValueError, EOFError) as exc:
            _warn_once(self.path, str(exc) or type(exc).__name__)
            return None

    def _seek_and_decode(self, wanted: Sequence[int], out_hw: Tuple[int, int]) -> Dict[int, np.ndarray]:
        """Visit the wanted frames in order, seeking only when a keyframe lies ahead of the last decoded frame."""
        pts, out, frames, last = self.index.pts, {}, None, None
        for i in wanted:
            target = pts[i]
            if frames is None or self._keyframe_between(last, target):
                frames = self._seek(target)
            frame = _advance(frames, target)
            last = frame.pts
            out[i] = _rgb(frame, out_hw)
        return out

    def _keyframe_between(self, last: Optional[int], target: int) -> bool:
        """Return whether a keyframe lies in ``(last, target]`` (a seek would then skip decoding)."""
        keys = self.index.keyframes
        k = bisect.bisect_right(keys, target)
        return last is None or (k > 0 and keys[k - 1] > last)

    def _seek(self, target: int) -> Iterator:
        """Return the decoded frames from the keyframe at or before ``target`` on.

        A demuxer that lands a keyframe late (MPEG-TS does) is asked again one and two keyframes earlier; a
        target in the first group of pictures is read from the file's start (opened afresh unless untouched).
        """
        keys = self.index.keyframes
        k = max(bisect.bisect_right(keys, target) - 1, 0)
        for j in range(k, max(k - 3, -1), -1):
            if j == 0:
                self._reopen()
            else:
                self.container.seek(keys[j], stream=self.stream, backward=True, any_frame=False)
            self._fresh = False
            frames = self.container.decode(self.stream)
            first = next(frames, None)
            if first is not None and first.pts is not None and first.pts <= target:
                return itertools.chain([first], frames)
        raise _SeekFailed("the seek landed past the wanted frame")

    def _read_sequential(self, wanted: Sequence[int], out_hw: Tuple[int, int]) -> Dict[int, np.ndarray]:
        """Decode from the start up to the last wanted frame; frames past the decodable end get the last one."""
        import av

        need, out, prev, n = set(wanted), {}, None, 0
        with av.open(self.path) as container:
            for frame in container.decode(self._open_stream(container)):
                if n in need:
                    out[n] = _rgb(frame, out_hw)
                prev, n = frame, n + 1
                if n > max(need):
                    break
        if prev is None:
            raise ValueError(f"no decodable video frames in {show_path(self.path)}")
        tail = [i for i in need if i >= n]
        if tail:
            last = _rgb(prev, out_hw)
            out.update({i: last for i in tail})
        return out


def _advance(frames, target: int):
    """Decode forward to the frame at ``target``; raise _SeekFailed when the stream does not reach it exactly."""
    for frame in frames:
        if frame.pts is None:
            raise _SeekFailed("decoded frames carry no timestamps")
        if frame.pts >= target:
            if frame.pts != target:
                raise _SeekFailed("a listed frame was not decoded")
            return frame
    raise _SeekFailed("the stream ended before a listed frame")


def _rgb(frame, out_hw: Tuple[int, int]) -> np.ndarray:
    """Return ``frame`` as ``[H, W, 3]`` uint8 RGB at ``out_hw``, scaled by FFmpeg's bilinear scaler."""
    h, w = out_hw
    if (frame.height, frame.width) == (h, w):
        return frame.to_ndarray(format="rgb24")
    return frame.to_ndarray(width=w, height=h, format="rgb24", interpolation="BILINEAR")


def _warn_once(path: str, reason: str) -> None:
    if path in _WARNED:
        return
    _WARNED.add(path)
    warnings.warn(f"{show_path(path)}: cannot seek ({reason[:80]}); decoding it from the start instead",
                  RuntimeWarning, stacklevel=4)


def decode_clip(path: str | Path, indices: Sequence[int], *, short_side: Optional[int] = None,
                shape: Optional[Tuple[int, int]] = None, threads: int = 0) -> np.ndarray:
    """Return frames ``indices`` of ``path`` as ``[T, H, W, 3]`` uint8 (see :meth:`VideoReader.read`)."""
    with VideoReader(path, threads=threads) as reader:
        return reader.read(indices, short_side=short_side, shape=shape)


def decode_all(path: str | Path, indices: Sequence[int] | None = None) -> np.ndarray:
    """Decode every frame at full resolution, then pick ``indices`` (all when None): the slow reference."""
    import av

    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if not frames:
        raise ValueError(f"no video frames in {show_path(path)}")
    if indices is None:
        return np.stack(frames)
    return np.stack([frames[min(i, len(frames) - 1)] for i in indices])

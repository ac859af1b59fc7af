"""ForgeryNet video lists, videos resampled to a fixed length (only those frames decoded), and the packed target.

A list line is ``<L> <relpath> (<start> <n_frames> <fake|real>)xL <binary> <triple> <16cls>``: 2 + 3L + 3
fields, counted strictly. Our reading: ``start`` is a 0-based frame index and ``n_frames`` the segment's length,
so a segment covers the half-open frames ``[start, start + n_frames)``; only ``fake`` segments are ground truth.
A fake video that lists no fake segment (ForgeryNet's folders 2 and 8, FS-GAN and ATVG-Net, are fake in every
frame) gets one segment covering the whole video once its length is known. The folder id in the relpath wins
over the 16-class column, as for the image lists.

Every video is resampled to ``T`` frames: slot ``t`` shows frame ``floor((t + 0.5) * n / T)`` of an ``n``-frame
video and stands for the frames ``[t n / T, (t + 1) n / T)``; :func:`slots_to_frames` maps a segment in slot
units back to frame indices. A video that cannot be decoded yields ``None`` and is skipped and counted by
``collate_skip``; a listed segment past the decoded end is a label error and stops the run with one line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from nas.data.forgery_labels import LabelAudit, folder_id
from nas.data.video import MEAN, STD
from nas.data.video_decode import VideoReader
from nas.errors import NasError
from nas.forgery.baselines import frame_difference

__all__ = ["VideoForgeryRecord", "parse_video_list", "resample_indices", "slots_to_frames", "pack_target",
           "split_video_target", "fake_segments", "frame_count", "FileVideoForgeries", "ArrayVideoForgeries",
           "MAX_SEGMENTS", "WHOLE_VIDEO_FOLDERS"]

MAX_SEGMENTS = 16  # forged segments a packed target holds (ForgeryNet videos list a handful)
WHOLE_VIDEO_FOLDERS = (2, 8)  # FS-GAN and ATVG-Net: no segments listed, every frame fake (ForgeryNet #27)
_HEAD = 5  # packed target: binary, triple, 16cls, frame count, frame-difference score, then 2 x MAX_SEGMENTS
#           bounds, then T frame labels


@dataclass(frozen=True)
class VideoForgeryRecord:
    """One listed video: path, labels and forged segments ``(start, end)`` (end exclusive; None: whole video)."""

    path: Path
    labels: Tuple[int, int, int]  # binary, triple, 16-class
    segments: Optional[Tuple[Tuple[int, int], ...]]
    frames: Optional[int] = None  # the video's frame count when the list was read (None: not readable then)


def _segments(fields: List[str], where: str) -> List[Tuple[int, int]]:
    """Return the fake segments of a line's ``(start n_frames fake|real)`` triples, checked for order and overlap."""
    out, spans = [], []
    for i in range(0, len(fields), 3):
        start, length, kind = fields[i:i + 3]
        try:
            s, n = int(start), int(length)
        except ValueError:
            raise NasError(f"{where}: segment {i // 3 + 1} start and n_frames must be integers") from None
        if s < 0 or n < 1 or kind not in ("fake", "real"):
            raise NasError(f"{where}: segment {i // 3 + 1} needs start >= 0, n_frames >= 1 and fake|real")
        spans.append((s, s + n))
        if kind == "fake":
            out.append((s, s + n))
    spans.sort()
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        if b0 < a1:
            raise NasError(f"{where}: segments [{a0}, {a1}) and [{b0}, {b1}) overlap")
    if len(out) > MAX_SEGMENTS:
        raise NasError(f"{where}: {len(out)} fake segments, at most {MAX_SEGMENTS} are supported")
    return sorted(out)


def _parse_line(fields: List[str], root: Path, where: str, audit: LabelAudit) -> VideoForgeryRecord:
    try:
        n_seg = int(fields[0])
    except ValueError:
        raise NasError(f"{where}: the first field (L, the segment count) must be an integer") from None
    if n_seg < 0 or len(fields) != 2 + 3 * n_seg + 3:
        raise NasError(f"{where}: L = {n_seg} needs 2 + 3L + 3 = {2 + 3 * max(n_seg, 0) + 3} fields, "
                       f"got {len(fields)}")
    rel = fields[1]
    try:
        columns = tuple(int(c) for c in fields[-3:])
    except ValueError:
        raise NasError(f"{where}: the last three fields (binary triple 16cls) must be integers") from None
    labels = audit.labels(rel, columns, where)
    segs = _segments(fields[2:-3], where)
    whole = labels[0] == 1 and (not segs or folder_id(rel) in WHOLE_VIDEO_FOLDERS)
    return VideoForgeryRecord(root / rel, labels, None if whole else tuple(segs))


def parse_video_list(path: str, root: str, replaced_label: int = 1, labels: str = "auto",
                     count_frames: bool = True) -> List[VideoForgeryRecord]:
    """Parse a ForgeryNet video list (blank lines skipped); every malformed line is a one-line NasError.

    ``labels`` picks the list's columns or the folder ids, as for image lists (:mod:`nas.data.forgery_labels`).
    With ``count_frames``, each video's frame count is read from its container when the list is read, and a
    segment past the end is an error naming the list line; a video that cannot be opened is left to be skipped
    and counted when it is decoded.
    """
    p = Path(path)
    if not p.is_file():
        raise NasError(f"video list not found: {str(path)[:200]}")
    audit = LabelAudit(labels, replaced_label)
    records = []
    for n, line in enumerate(p.read_text().splitlines(), 1):
        fields = line.split()
        if fields:
            rec = _parse_line(fields, Path(root), f"{p.name}:{n}", audit)
            records.append(_with_frames(rec, f"{p.name}:{n}") if count_frames else rec)
    if not records:
        raise NasError(f"video list {p.name} has no videos")
    audit.warn(p.name)
    return records


def frame_count(path: Path) -> Optional[int]:
    """Return a video's frame count as the reader sees it (``VideoReader.frames``); None when the file cannot be
    opened or PyAV is not installed (the video is then skipped and counted at decode time)."""
    try:
        with VideoReader(path) as reader:
            return int(reader.frames)
    except Exception:  # noqa: BLE001 - any container failure: decided when the video is decoded
        return None


def _with_frames(rec: VideoForgeryRecord, where: str) -> VideoForgeryRecord:
    """Return ``rec`` with its frame count; a listed segment past the end is a one-line NasError naming ``where``."""
    n = frame_count(rec.path)
    if n is None:
        return rec
    for s, e in rec.segments or ():
        if e > n:
            raise NasError(f"{where}: segment [{s}, {e}) runs past the end of {rec.path.name[-60:]} ({n} frames)")
    return VideoForgeryRecord(rec.path, rec.labels, rec.segments, n)


def resample_indices(n: int, length: int) -> List[int]:
    """Return the frame shown in each of ``length`` slots of an ``n``-frame video (the centre of its bin)."""
    return [min(n - 1, int((t + 0.5) * n / length)) for t in range(length)]


def slots_to_frames(start: float, end: float, n: int, length: int) -> Tuple[float, float]:
    """Map a segment ``[start, end)`` in slot units of a ``length``-slot resampling back to frames of ``n``."""
    scale = n / length
    return start * scale, end * scale


def fake_segments(record_segments, n: int, where: str) -> Tuple[Tuple[int, int], ...]:
    """Return the record's segments for an ``n``-frame video (None: the whole video); past the end raises."""
    if record_segments is None:
        return ((0, n),)
    for s, e in record_segments:
        if e > n:
            raise NasError(f"{where}: segment [{s}, {e}) runs past the end of the video ({n} frames)")
    return tuple(record_segments)


def pack_target(labels: Sequence[int], segments: Sequence[Tuple[int, int]], n: int, length: int,
                framediff: float = 0.0) -> torch.Tensor:
    """Return the float target: labels, frame count, the video's frame-difference score (the trivial temporal
    baseline, :func:`nas.forgery.baselines.frame_difference`), padded segment bounds and the slot labels."""
    bounds = np.full(2 * MAX_SEGMENTS, -1.0, np.float32)
    frame_fake = np.zeros(n, np.float32)
    for i, (s, e) in enumerate(segments):
        bounds[2 * i:2 * i + 2] = (s, e)
        frame_fake[s:e] = 1.0
    slots = frame_fake[resample_indices(n, length)]
    head = np.float32([*labels, n, framediff])
    return torch.from_numpy(np.r_[head, bounds, slots].astype(np.float32))


def split_video_target(y: torch.Tensor) -> Dict[str, object]:
    """Unpack a batch of targets: ``binary`` (N,), ``frames`` (N,), ``framediff`` (N,), ``segments`` (lists) and
    ``slots`` (N, T)."""
    bounds = y[:, _HEAD:_HEAD + 2 * MAX_SEGMENTS].view(len(y), MAX_SEGMENTS, 2)
    segs = [[(float(s), float(e)) for s, e in b.tolist() if s >= 0] for b in bounds]
    return {"binary": y[:, 0].long(), "frames": y[:, 3], "framediff": y[:, 4], "segments": segs,
            "slots": y[:, _HEAD + 2 * MAX_SEGMENTS:]}


def face_crops(reader: VideoReader, idx: Sequence[int], path: Path, scale: float, size: int):
    """Return ``(frames, crops)``: frames ``idx`` of an open video and their ``size`` px square face crops from its
    ``_BB.txt`` boxes. Without a sidecar each frame is scaled to ``size`` x ``size`` as it is decoded (frames and
    crops are then the same); with one, frames come at the stored size, whose coordinates the boxes use."""
    from nas.data.forgery_crops import boxes_for, crop_frames, read_video_boxes

    boxes = read_video_boxes(path)
    if boxes is None:
        frames = reader.read(idx, shape=(size, size))
        return frames, frames
    frames = reader.read(idx)
    return frames, crop_frames(frames, boxes_for(boxes, idx), scale, size)


def _to_clip(frames: np.ndarray, size: int) -> torch.Tensor:
    """Return ``[T, H, W, 3]`` uint8 frames as a normalised ``[3, T, size, size]`` float tensor."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return ((x - MEAN) / STD).permute(1, 0, 2, 3).contiguous()


class FileVideoForgeries(Dataset):
    """Decode listed videos with PyAV, resampled to ``length`` frames and face-cropped from their ``_BB.txt``
    boxes (:mod:`nas.data.forgery_crops`; whole frames without one): ``(clip [3, T, S, S], packed target)``."""

    def __init__(self, records: Sequence[VideoForgeryRecord], length: int, size: int, crop_scale: float = 1.3):
        from nas.utils.extras import require

        require("av", purpose="reading video files")  # else every video would fail to decode and be skipped
        self.records, self.length, self.size, self.crop_scale = list(records), length, size, crop_scale

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        rec = self.records[i]
        try:  # only the resampled frames are decoded
            with VideoReader(rec.path) as reader:
                n = reader.frames
                frames, crops = face_crops(reader, resample_indices(n, self.length), rec.path, self.crop_scale,
                                           self.size)
        except Exception:  # noqa: BLE001 - any decoder failure (missing, truncated, bad codec) skips the video
            return None
        segs = fake_segments(rec.segments, n, str(rec.path)[-120:])
        clip = _to_clip(crops, self.size)
        return clip, pack_target(rec.labels, segs, n, self.length, frame_difference(frames))


class ArrayVideoForgeries(Dataset):
    """The embedded set in memory: ``videos`` uint8 (N, n, R, R, 3), labels (N, 3) and segments per video."""

    def __init__(self, videos: np.ndarray, labels: np.ndarray, segments: Sequence, length: int, size: int):
        self.videos, self.labels, self.segments = videos, labels, list(segments)
        self.length, self.size = length, size

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int):
        n = self.videos.shape[1]
        clip = _to_clip(self.videos[i][resample_indices(n, self.length)], self.size)
        return clip, pack_target(self.labels[i], self.segments[i], n, self.length, frame_difference(self.videos[i]))

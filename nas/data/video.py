"""Video lists (mmaction2/PySlowFast, Kinetics CSV, SSv2 JSON), TSN/dense sampling, multi-view test clips.

Our reading of the usual toolboxes (mmaction2, PySlowFast, TSM), not a copy of any: a list yields
``VideoRecord(path, label)``; a dataset reads only the sampled frames, scaled to the clip's short side as they
are decoded (:mod:`nas.data.video_decode`), and returns ``None`` for a corrupt or missing file, and
``collate_skip`` (from :mod:`nas.data.collate`, re-exported here) drops those and reports how many it dropped,
so an epoch never stops on a bad video (the runner sums the count and warns once per epoch). Frame, crop and
flip draws come from a ``random.Random`` seeded by (dataset seed, epoch key, sample index). The training crop
and flip are in :mod:`nas.data.video_augment`; flip is off unless asked for, since it swaps "left" and "right"
classes (SSv2, the embedded set).

A Kinetics CSV row names its clip file ``<youtube_id>_<start:06d>_<end:06d>.mp4``: the clip as the usual
downloaders cut it, so the whole file is the labelled time range and no further trimming is done.
"""
from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from nas.data.collate import collate_skip
from nas.data.video_augment import TrainAugment, eval_views, train_view
from nas.data.video_decode import VideoReader, decode_all, decode_clip
from nas.errors import NasError
from nas.utils.seeds import seeded_random

__all__ = ["VideoRecord", "LIST_FORMATS", "parse_list", "align_labels", "segment_indices", "dense_indices",
           "decode_all", "decode_clip", "write_video", "VideoListDataset", "collate_skip", "multiview_logits"]

LIST_FORMATS = {".txt": "pathlabel", ".csv": "kinetics", ".json": "ssv2"}
MEAN, STD = 0.45, 0.225  # Kinetics pixel statistics as used by PySlowFast, one value for all channels


@dataclass(frozen=True)
class VideoRecord:
    """One labelled video: a path relative to the data root and an integer class."""

    path: str
    label: int


def parse_list(path: str | Path, fmt: Optional[str] = None, num_classes: Optional[int] = None,
               labels_file: Optional[str | Path] = None) -> Tuple[List[VideoRecord], List[str]]:
    """Parse a video list into records and class names; ``fmt`` defaults from the extension."""
    path = Path(path)
    if not path.is_file():
        raise NasError(f"video list not found: {path}")
    fmt = fmt or LIST_FORMATS.get(path.suffix.lower())
    if fmt == "pathlabel":
        records, names = _parse_pathlabel(path, num_classes)
    elif fmt == "kinetics":
        records, names = _parse_kinetics(path)
    elif fmt == "ssv2":
        records, names = _parse_ssv2(path, labels_file)
    else:
        raise NasError(f"cannot tell the format of {path.name}: pass one of {', '.join(LIST_FORMATS.values())}")
    if not records:
        raise NasError(f"video list {path} is empty")
    return records, names


def align_labels(records, names: List[str], train_names: List[str], where: str) -> list:
    """Re-index records labelled by ``names`` onto ``train_names`` (Kinetics CSVs index each file's own classes)."""
    if names == train_names[: len(names)]:
        return records
    index = {n: i for i, n in enumerate(train_names)}
    unknown = sorted(set(names) - set(index))
    if unknown:
        raise NasError(f"{where} has classes missing from the training list, e.g. {unknown[0]!r}")
    return [type(r)(r.path, index[names[r.label]]) for r in records]


def _parse_pathlabel(path: Path, num_classes: Optional[int]) -> Tuple[List[VideoRecord], List[str]]:
    """Parse ``relpath label`` lines (space separated, exactly two fields; blank and # lines skipped)."""
    records = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 2:
            raise NasError(f"{path}:{n}: expected 'path label' (2 fields), got {len(fields)}")
        try:
            label = int(fields[1])
        except ValueError:
            raise NasError(f"{path}:{n}: label {fields[1]!r} is not an integer") from None
        if label < 0 or (num_classes is not None and label >= num_classes):
            raise NasError(f"{path}:{n}: label {label} outside the class range [0, {num_classes})")
        records.append(VideoRecord(fields[0], label))
    n_cls = num_classes or (max((r.label for r in records), default=-1) + 1)
    return records, [str(i) for i in range(n_cls)]


def _parse_kinetics(path: Path) -> Tuple[List[VideoRecord], List[str]]:
    """Parse the official ``label,youtube_id,time_start,time_end,split`` CSV; class index = sorted names."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"label", "youtube_id", "time_start", "time_end"}
    if rows and not need <= set(rows[0]):
        raise NasError(f"{path}: Kinetics CSV needs columns {', '.join(sorted(need))}")
    names = sorted({r["label"] for r in rows})
    index = {c: i for i, c in enumerate(names)}
    records = []
    for n, r in enumerate(rows, 2):
        try:
            start, end = int(float(r["time_start"])), int(float(r["time_end"]))
        except (TypeError, ValueError):
            raise NasError(f"{path}:{n}: bad time_start/time_end") from None
        records.append(VideoRecord(f"{r['youtube_id']}_{start:06d}_{end:06d}.mp4", index[r["label"]]))
    return records, names


def _parse_ssv2(path: Path, labels_file: Optional[str | Path]) -> Tuple[List[VideoRecord], List[str]]:
    """Parse an SSv2 list (``[{id, template|label}]``) against the ``{name: index}`` labels JSON."""
    labels_path = Path(labels_file) if labels_file else path.with_name("something-something-v2-labels.json")
    if not labels_path.is_file():
        labels_path = path.with_name("labels.json")
    if not labels_path.is_file():
        raise NasError(f"SSv2 labels JSON not found beside {path} (pass labels_file)")
    mapping = {k: int(v) for k, v in _load_json(labels_path).items()}
    names = [k for k, _ in sorted(mapping.items(), key=lambda kv: kv[1])]
    records = []
    for n, item in enumerate(_load_json(path)):
        text = str(item.get("template", item.get("label", ""))).replace("[", "").replace("]", "")
        if text not in mapping:
            raise NasError(f"{path}: entry {n} (id {item.get('id')}) has unknown label {text!r}")
        records.append(VideoRecord(f"{item['id']}.webm", mapping[text]))
    return records, names


def _load_json(path: Path):
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise NasError(f"malformed JSON in {path} at line {exc.lineno}") from None


def segment_indices(n: int, frames: int, train: bool, rng: random.Random, clip: int = 0,
                    num_clips: int = 1) -> List[int]:
    """Return TSN segment sampling: one frame per equal segment, random offset (train) or fixed (test).

    Test clip ``clip`` of ``num_clips`` takes offset ``(clip + 0.5) / num_clips`` of every segment, so one clip
    is the segments' centres and several spread evenly over the video (our reading of TSM's and mmaction2's
    multi-clip test, which use offsets 0.5 and 0 for two clips).
    """
    seg = n / frames
    if train:
        return [min(n - 1, int(seg * i + rng.random() * seg)) for i in range(frames)]
    return [min(n - 1, int(seg * (i + (clip + 0.5) / num_clips))) for i in range(frames)]


def dense_indices(n: int, frames: int, stride: int, train: bool, rng: random.Random, clip: int = 0,
                  num_clips: int = 1) -> List[int]:
    """Return a dense ``frames x stride`` clip: random start (train) or clip ``clip`` of evenly spaced ones."""
    span = max(0, n - (frames - 1) * stride - 1)
    start = rng.randint(0, span) if train else (span * (2 * clip + 1)) // (2 * num_clips)
    return [min(n - 1, start + i * stride) for i in range(frames)]


def write_video(path: str | Path, frames: np.ndarray, fps: int = 8, codec: str = "libx264") -> None:
    """Write ``[T, H, W, 3]`` uint8 frames (even H and W) as a video file with PyAV."""
    from nas.utils.extras import require

    require("av", purpose="writing video files")
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


class VideoListDataset(Dataset):
    """Decode clips of a video list: ``(clip [3, T, S, S], label)``, or ``[V, 3, T, S, S]`` for V > 1 views.

    Frames are decoded with their short side at ``short_side`` (default: ``size``). Training takes one view
    through ``augment`` (a random ``size`` crop by default, or TSM's multi-scale crop, and a flip if asked).
    Test views are the ``num_clips`` clips spread evenly over the video times ``num_crops`` crops, with the
    middle clip's centre crop first (the single-view clip).

    A video that cannot be read yields ``None`` (see :func:`nas.data.collate.collate_skip`); draws for sample
    ``i`` come from ``seeded_random(seed, key, i)`` with the key set by :meth:`set_epoch`.
    """

    def __init__(self, records: Sequence[VideoRecord], root: str | Path, *, frames: int = 8, size: int = 32,
                 train: bool = True, sampling: str = "segment", stride: int = 2, num_clips: int = 1,
                 num_crops: int = 1, seed: int = 0, short_side: Optional[int] = None,
                 augment: TrainAugment = TrainAugment(), threads: int = 0):
        from nas.utils.extras import require

        require("av", purpose="reading video files")  # else every clip would fail to decode and be skipped
        root = Path(root)
        if not root.is_dir():
            raise NasError(f"video data root not found: {root}")
        if sampling not in ("segment", "dense"):
            raise NasError(f"unknown sampling {sampling!r} (known: segment, dense)")
        if short_side is not None and short_side < size:
            raise NasError(f"video.short_side ({short_side}) must be at least the crop size ({size})")
        self.records, self.root = list(records), root
        self.frames, self.size, self.train, self.sampling, self.stride = frames, size, train, sampling, stride
        self.num_clips, self.num_crops = num_clips, num_crops
        self.short_side, self.augment, self.threads = short_side or size, augment, threads
        self.seed, self.key = seed, 0

    def set_epoch(self, key: object) -> None:
        """Draw the coming epoch's frame offsets and crops from ``key`` (e.g. the epoch number)."""
        self.key = key

    def __len__(self) -> int:
        return len(self.records)

    def _indices(self, n: int, clip: int, rng: random.Random) -> List[int]:
        if self.sampling == "segment":
            return segment_indices(n, self.frames, self.train, rng, clip, self.num_clips)
        return dense_indices(n, self.frames, self.stride, self.train, rng, clip, self.num_clips)

    def _read(self, path: Path, rng: random.Random) -> List[torch.Tensor]:
        """Return each clip's frames as ``[T, 3, H, W]`` floats in [0, 1], short side ``short_side``."""
        with VideoReader(path, threads=self.threads) as reader:
            picks = [self._indices(reader.frames, c, rng) for c in range(1 if self.train else self.num_clips)]
            video = reader.read([j for p in picks for j in p], short_side=self.short_side)
        x = torch.from_numpy(video).permute(0, 3, 1, 2).float() / 255.0
        return list(x.split(self.frames))

    def __getitem__(self, i: int) -> Optional[Tuple[torch.Tensor, int]]:
        rec, rng = self.records[i], seeded_random(self.seed, self.key, i)
        try:
            clips = self._read(self.root / rec.path, rng)
        except Exception:  # noqa: BLE001 - any decoder failure (missing, truncated, bad codec) skips the video
            return None
        label = rec.label
        if self.train:
            view, label = train_view(clips[0], label, self.size, self.augment, rng)
            views = [view]
        else:
            views = [v for x in clips for v in eval_views(x, self.size, self.num_crops)]
        views = [((v - MEAN) / STD).permute(1, 0, 2, 3).contiguous() for v in views]  # -> [3, T, S, S]
        if len(views) == 1:
            return views[0], label
        centre = (self.num_clips // 2) * self.num_crops + self.num_crops // 2
        views.insert(0, views.pop(centre))  # view 0: the single-view test clip (middle clip, centre crop)
        return torch.stack(views), label


@torch.no_grad()
def multiview_logits(model: torch.nn.Module, clips: torch.Tensor) -> torch.Tensor:
    """Return logits averaged over views: ``clips`` is ``[N, V, 3, T, H, W]`` (or ``[N, 3, T, H, W]``)."""
    if clips.dim() == 5:
        return model(clips)
    n, v = clips.shape[:2]
    return model(clips.flatten(0, 1)).view(n, v, -1).mean(1)

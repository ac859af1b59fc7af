"""Face-forgery datasets: the embedded set, ForgeryNet image lists and plain real/fake folders.

Every sample is ``(image tensor, target)``. The target packs the three nested labels (binary, 3-way, 16-way) and,
for the spatial task, the grey map: a float tensor ``[binary, triple, 16cls, map (R*R values in [0, 1])]``, or
an int64 ``[binary, triple, 16cls]`` without maps (see :func:`split_target`). Images are resized to R x R
(face-cropped first when a ForgeryNet box is given) and normalised with mean 0.5 / std 0.5 as DeepfakeBench does.
Unreadable files yield ``None`` and are counted by the skipping collate, as for classification folders.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from nas.data.folders import IMAGE_EXTENSIONS
from nas.data.forgery_labels import LabelAudit
from nas.data.forgery_methods import triple_label
from nas.errors import NasError
from nas.utils.seeds import seeded_random

__all__ = ["Record", "ArrayForgeries", "FileForgeries", "split_target", "parse_image_list", "folder_records",
           "read_box", "crop_box", "split_records", "map_candidates"]

_BAD = (OSError, UnidentifiedImageError, SyntaxError, ValueError)


@dataclass(frozen=True)
class Record:
    """One file sample: image path, optional grey-map path and the three labels."""

    path: Path
    labels: Tuple[int, int, int]  # binary, triple, 16-class
    map_path: Optional[Path] = None


def split_target(y: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Return ``(labels int64 (N, 3), maps (N, R, R) or None)`` of a batch of packed targets."""
    labels = y[:, :3].long()
    if y.shape[1] == 3:
        return labels, None
    side = int(round((y.shape[1] - 3) ** 0.5))
    return labels, y[:, 3:].view(-1, side, side)


def _pack(labels, img: np.ndarray, mp: Optional[np.ndarray], flip: bool) -> tuple:
    if flip:
        img = img[:, ::-1]
        mp = mp[:, ::-1] if mp is not None else None
    x = torch.from_numpy((np.ascontiguousarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0 - 0.5) / 0.5)
    lab = torch.tensor(labels, dtype=torch.int64)
    if mp is None:
        return x, lab
    return x, torch.cat([lab.float(), torch.from_numpy(np.ascontiguousarray(mp, dtype=np.float32) / 255.0).flatten()])


class ArrayForgeries(Dataset):
    """In-memory images (uint8 NHWC), maps (uint8 NHW) and method ids (0 real); flips when ``train``."""

    def __init__(self, images: np.ndarray, maps: np.ndarray, methods: np.ndarray, train: bool, seed: int,
                 with_maps: bool, replaced_label: int = 1):
        self.images, self.maps, self.methods = images, maps, methods
        self.train, self.seed, self.key, self.with_maps = train, seed, 0, with_maps
        self.labels = [(int(m > 0), triple_label(int(m), replaced_label, 3 - replaced_label), int(m))
                       for m in methods]

    def set_epoch(self, key: object) -> None:
        """Draw the coming epoch's flips from ``key``."""
        self.key = key

    def __len__(self) -> int:
        return len(self.methods)

    def __getitem__(self, i: int):
        flip = self.train and seeded_random(self.seed, self.key, i).random() < 0.5
        return _pack(self.labels[i], self.images[i], self.maps[i] if self.with_maps else None, flip)


def read_box(path: Path) -> Optional[Tuple[float, float, float, float]]:
    """Return the ``x y w h`` face box of ForgeryNet's ``X_BB.txt`` sidecar of image X (224-normalised), if any."""
    side = path.with_name(path.stem + "_BB.txt")
    if not side.is_file():
        return None
    fields = side.read_text().split()
    if len(fields) < 4:
        raise NasError(f"{side}: expected 'x y w h score', got {len(fields)} fields")
    return tuple(float(v) for v in fields[:4])


def crop_box(img: Image.Image, box, scale: float) -> Image.Image:
    """Crop ``img`` to ``box`` (224-normalised x y w h, rescaled by W/224 and H/224) enlarged ``scale`` times."""
    w, h = img.size
    x, y, bw, bh = box[0] * w / 224, box[1] * h / 224, box[2] * w / 224, box[3] * h / 224
    cx, cy, half = x + bw / 2, y + bh / 2, max(bw, bh) * scale / 2
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(w, int(cx + half)), min(h, int(cy + half))
    return img.crop((x0, y0, x1, y1)) if x1 > x0 and y1 > y0 else img


class FileForgeries(Dataset):
    """Image files (ForgeryNet lists or folders), optional grey maps and face boxes, resized to ``size``."""

    def __init__(self, records: List[Record], size: int, train: bool, seed: int, with_maps: bool,
                 crop_scale: float = 1.3):
        self.records, self.size, self.train, self.seed = records, size, train, seed
        self.with_maps, self.crop_scale, self.key = with_maps, crop_scale, 0

    def set_epoch(self, key: object) -> None:
        """Draw the coming epoch's flips from ``key``."""
        self.key = key

    def __len__(self) -> int:
        return len(self.records)

    def _load(self, path: Path, mode: str, box) -> np.ndarray:
        with Image.open(path) as im:
            im = im.convert(mode)
        if box is not None:
            im = crop_box(im, box, self.crop_scale)
        return np.asarray(im.resize((self.size, self.size), Image.BILINEAR))

    def __getitem__(self, i: int):
        r = self.records[i]
        try:
            box = read_box(r.path)
            img = self._load(r.path, "RGB", box)
            mp = None
            if self.with_maps:
                mp = self._load(r.map_path, "L", box) if r.map_path is not None else np.zeros(img.shape[:2], np.uint8)
        except _BAD:
            return None
        flip = self.train and seeded_random(self.seed, self.key, i).random() < 0.5
        return _pack(r.labels, img, mp, flip)


def map_candidates(map_root: str, rel: str) -> List[Path]:
    """Return where a fake image's grey map may be, in the order tried.

    Two layouts are found: ours, ``MAP_ROOT/<relpath>``, and the release's, where the maps of
    ``train_release/...`` sit under ``MAP_ROOT/train_mask_release/...`` (``MAP_ROOT`` is ``spatial_localize/``).
    Each is tried as ``.png`` first, then with the image's own extension.
    """
    parts = Path(rel).parts
    release = [p[: -len("_release")] + "_mask_release" if p.endswith("_release") else p for p in parts]
    out = []
    for layout in (Path(*parts), Path(*release)):
        p = Path(map_root) / layout
        out += [p.with_suffix(".png"), p]
    return list(dict.fromkeys(out))


def _map_path(map_root: Optional[str], rel: str, fake: bool) -> Optional[Path]:
    """Return a fake image's map (the first candidate that exists, else the first, read later and counted as
    unreadable); None for a real image, whose map is all zeros with no file needed, or without ``map_root``."""
    if map_root is None or not fake:
        return None
    found = map_candidates(map_root, rel)
    return next((p for p in found if p.is_file()), found[0])


def parse_image_list(path: str, root: str, map_root: Optional[str] = None, replaced_label: int = 1,
                     labels: str = "auto") -> List[Record]:
    """Parse a ForgeryNet image list ``<relpath> <binary> <triple> <16cls>`` (optional header line).

    ``labels`` picks the list's columns or the folder ids (see :mod:`nas.data.forgery_labels`; the 3-way label of
    a folder follows its method's group with ID-replaced = ``replaced_label``, the released encoding of 1 vs 2
    being undocumented); disagreements are counted and warned about. A real image needs no map file.
    """
    p = Path(path)
    if not p.is_file():
        raise NasError(f"list file not found: {str(path)[:200]}")
    audit = LabelAudit(labels, replaced_label)
    records = []
    for n, line in enumerate(p.read_text().splitlines(), 1):
        fields = line.split()
        if not fields or (n == 1 and not fields[-1].lstrip("-").isdigit()):
            continue  # blank line or the header (image_name binary_cls_label triple_cls_label 16cls_label)
        where = f"{p.name}:{n}"
        if len(fields) != 4:
            raise NasError(f"{where}: expected 4 fields '<relpath> <binary> <triple> <16cls>', got {len(fields)}")
        rel, *cols = fields
        try:
            columns = tuple(int(c) for c in cols)
        except ValueError:
            raise NasError(f"{where}: labels must be integers") from None
        chosen = audit.labels(rel, columns, where)
        records.append(Record(Path(root) / rel, chosen, _map_path(map_root, rel, chosen[0] == 1)))
    if not records:
        raise NasError(f"list file {p.name} has no samples")
    audit.warn(p.name)
    return records


def folder_records(split: Path) -> List[Record]:
    """Return the records of ``split/real/*`` and ``split/fake/*`` (maps from ``split/masks/<stem>.png``).

    Plain folders carry no method: fakes are 3-way class 1 / 16-way class 1 only in name, so use them 2-way.
    """
    out = []
    for label, name in ((0, "real"), (1, "fake")):
        d = split / name
        if not d.is_dir():
            raise NasError(f"forgery folder {split} has no {name}/ sub-folder")
        for f in sorted(q for q in d.iterdir() if q.suffix.lower() in IMAGE_EXTENSIONS):
            mask = split / "masks" / f"{f.stem}.png"
            out.append(Record(f, (label, label, label), mask if label and mask.is_file() else None))
    if not out:
        raise NasError(f"forgery folder {split} has no images")
    return out


def split_records(records: Sequence[Record], val_fraction: float, seed: int) -> Tuple[List[Record], List[Record]]:
    """Split records by a seeded shuffle per binary label."""
    rng = random.Random(seed)
    train, val = [], []
    for label in (0, 1):
        items = [r for r in records if r.labels[0] == label]
        rng.shuffle(items)
        k = max(1, int(round(len(items) * val_fraction))) if len(items) > 1 else 0
        val += items[:k]
        train += items[k:]
    return train, val

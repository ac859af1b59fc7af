"""ImageNet-style folders (``train/<class>/*``, ``val/<class>/*``) read with Pillow.

Unreadable images are skipped and counted (see :func:`nas.data.collate.collate_skip`) instead of stopping an
epoch; a class folder without a single readable image is a one-line error up front. Augmentation draws come
from a ``random.Random`` seeded by (dataset seed, epoch key, sample index), so they do not depend on the
loader's worker count or on any global RNG; call :meth:`ImageFolderDataset.set_epoch` once per epoch.
"""
from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from nas.data.collate import collate_skip, warn_skipped
from nas.errors import NasError
from nas.utils.seeds import seeded_random

__all__ = ["IMAGE_EXTENSIONS", "IMAGE_ERRORS", "scan_folder", "split_samples", "ImageFolderDataset", "train_transform",
           "eval_transform", "collate_skip", "warn_skipped", "image_folder_datasets", "MEAN", "STD"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# What Pillow raises for a torn, foreign or hostile file (a header claiming gigapixels is a DecompressionBombError).
IMAGE_ERRORS = (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError)
Sample = Tuple[Path, int]
Transform = Callable[[Image.Image, random.Random], torch.Tensor]


def _readable(path: Path) -> bool:
    try:
        with Image.open(path) as im:
            im.verify()
        return True
    except IMAGE_ERRORS:
        return False


def scan_folder(root: Path, classes: Optional[Sequence[str]] = None) -> Tuple[List[str], List[Sample]]:
    """Return ``(class names, [(path, label)])`` of ``root/<class>/*``; errors name the offending folder."""
    root = Path(root)
    if not root.is_dir():
        raise NasError(f"data folder not found: {root}")
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        raise NasError(f"data folder {root} has no class sub-folders")
    classes = list(classes) if classes is not None else found
    samples: List[Sample] = []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).glob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        # One readable header per class is cheap even on ImageNet; corrupt files are caught at load time.
        if not any(_readable(p) for p in files):
            raise NasError(f"class folder {root / name} has no readable image")
        samples += [(p, label) for p in files]
    return classes, samples


def split_samples(samples: List[Sample], val_fraction: float, seed: int) -> Tuple[List[Sample], List[Sample]]:
    """Split samples into train/val by a seeded shuffle, keeping at least one val image per class."""
    rng = random.Random(seed)
    by_class: dict = {}
    for s in samples:
        by_class.setdefault(s[1], []).append(s)
    train, val = [], []
    for label in sorted(by_class):
        items = by_class[label][:]
        rng.shuffle(items)
        n_val = max(1, int(round(len(items) * val_fraction))) if len(items) > 1 else 0
        val += items[:n_val]
        train += items[n_val:]
    return train, val


def _to_tensor(img: Image.Image) -> torch.Tensor:
    arr = (np.asarray(img, dtype=np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(arr.transpose(2, 0, 1).copy())


def train_transform(size: int, scale: Tuple[float, float] = (0.08, 1.0)) -> Transform:
    """Return random-resized-crop + horizontal flip + normalisation (the standard ImageNet train view)."""

    def apply(img: Image.Image, rng: random.Random) -> torch.Tensor:
        w, h = img.size
        for _ in range(10):
            area = w * h * rng.uniform(*scale)
            ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
            cw, ch = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
            if 0 < cw <= w and 0 < ch <= h:
                x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
                break
        else:
            cw = ch = min(w, h)
            x0, y0 = (w - cw) // 2, (h - ch) // 2
        img = img.resize((size, size), Image.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
        if rng.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return _to_tensor(img)

    return apply


def eval_transform(size: int, crop_fraction: float = 0.875) -> Transform:
    """Return resize-shorter-side + centre crop + normalisation (the standard ImageNet eval view; no draws)."""

    def apply(img: Image.Image, rng: Optional[random.Random] = None) -> torch.Tensor:
        w, h = img.size
        short = int(round(size / crop_fraction))
        s = short / min(w, h)
        img = img.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
        w, h = img.size
        x0, y0 = (w - size) // 2, (h - size) // 2
        return _to_tensor(img.crop((x0, y0, x0 + size, y0 + size)))

    return apply


class ImageFolderDataset(Dataset):
    """Samples ``(path, label)`` decoded with Pillow; an unreadable file yields ``None`` and is counted.

    Sample ``i`` in epoch key ``k`` is augmented with ``seeded_random(seed, k, i)``: the same view for the same
    (seed, key, index) in any process, so a resumed run sees the augmentations the uninterrupted one saw.
    """

    def __init__(self, samples: List[Sample], classes: List[str], transform: Transform, seed: int = 0):
        self.samples, self.classes, self.transform = samples, classes, transform
        self.seed, self.key = seed, 0

    def set_epoch(self, key: object) -> None:
        """Draw the augmentations of the coming epoch from ``key`` (e.g. the epoch number)."""
        self.key = key

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, label = self.samples[i]
        try:
            with Image.open(path) as im:
                img = im.convert("RGB")
        except IMAGE_ERRORS:
            return None
        return self.transform(img, seeded_random(self.seed, self.key, i)), label


def image_folder_datasets(root: str | Path, size: int, val_fraction: float = 0.1, seed: int = 0,
                          eval_size: Optional[int] = None):
    """Return ``(train, val, class names)`` for ``root/train`` and ``root/val`` (or a seeded split)."""
    root = Path(root)
    if not root.is_dir():
        raise NasError(f"data folder not found: {root}")
    train_dir = root / "train" if (root / "train").is_dir() else root
    classes, train = scan_folder(train_dir)
    if len(classes) < 2:
        raise NasError(f"data folder {str(train_dir)[:120]} has one class ({classes[0][:40]!r}); telling classes "
                       "apart needs at least 2 class sub-folders")
    if (root / "val").is_dir():
        _, val = scan_folder(root / "val", classes)
    else:
        train, val = split_samples(train, val_fraction, seed)
    if not train:
        raise NasError(f"data folder {root} has no training images")
    return (ImageFolderDataset(train, classes, train_transform(size), seed),
            ImageFolderDataset(val, classes, eval_transform(eval_size or size), seed), classes)

"""Convert the Fashion-MNIST idx files into an ImageNet-style folder that ``nas-search --data`` reads.

The Debian package ``dataset-fashion-mnist`` (``apt-get install -y dataset-fashion-mnist``) installs the four
standard gzipped idx files under ``/usr/share/datasets/fashion-mnist/``. This writes ``OUT/train/<class>/*.png``
from the 60,000 training images and ``OUT/val/<class>/*.png`` from the 10,000 test images, optionally only the
first ``--train-per-class`` / ``--val-per-class`` of each class (in file order, so a subset is reproducible).
The images stay 28x28 grayscale; the search's folder loader converts them to RGB at its proxy resolution.

Usage: python tools/fashion_mnist_to_folder.py OUT [--src DIR] [--train-per-class N] [--val-per-class N]
"""
from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from nas.cli.common import cli_main
from nas.errors import NasError

SRC = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt_top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"]
SPLITS = {"train": "train", "val": "t10k"}  # our folder name -> the idx file prefix


def read_idx(path: Path) -> np.ndarray:
    """Return the array stored in a (gzipped) idx file: magic 0x0000 08 <ndim>, big-endian sizes, uint8 data."""
    if not path.is_file():
        raise NasError(f"{str(path)[:160]} not found (apt-get install -y dataset-fashion-mnist, or pass --src)")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise NasError(f"{str(path)[:160]} is not a uint8 idx file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise NasError(f"{str(path)[:160]}: {data.size} values for shape {dims} (truncated file?)")
    return data.reshape(dims)


def load_split(src: Path, prefix: str) -> Tuple[np.ndarray, np.ndarray]:
    """Return the images (n x 28 x 28) and labels of one split."""
    images = read_idx(src / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(src / f"{prefix}-labels-idx1-ubyte.gz")
    if images.ndim != 3 or len(images) != len(labels):
        raise NasError(f"{prefix}: {len(images)} images but {len(labels)} labels")
    return images, labels


def pick(labels: np.ndarray, per_class: Optional[int]) -> List[int]:
    """Return the indices kept: all, or the first ``per_class`` of every class in file order."""
    if per_class is None:
        return list(range(len(labels)))
    return sorted(i for c in range(len(CLASSES)) for i in np.flatnonzero(labels == c)[:per_class].tolist())


def write_split(images: np.ndarray, labels: np.ndarray, keep: List[int], out: Path) -> int:
    """Write ``out/<class>/<index>.png`` for the kept images; return how many were written."""
    from PIL import Image

    for name in CLASSES:
        (out / name).mkdir(parents=True, exist_ok=True)
    for i in keep:
        Image.fromarray(images[i], mode="L").save(out / CLASSES[int(labels[i])] / f"{i:05d}.png")
    return len(keep)


@cli_main("fashion_mnist_to_folder")
def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="folder to create (must not hold a train/ or val/ yet)")
    p.add_argument("--src", default=SRC, help=f"folder with the idx files (default {SRC})")
    p.add_argument("--train-per-class", type=int, help="keep only the first N training images of each class")
    p.add_argument("--val-per-class", type=int, help="keep only the first N test images of each class")
    args = p.parse_args(argv)
    out = Path(args.out)
    for n, flag in ((args.train_per_class, "--train-per-class"), (args.val_per_class, "--val-per-class")):
        if n is not None and n < 1:
            raise NasError(f"{flag} must be at least 1, got {n}")
    if any((out / s).exists() for s in SPLITS):
        raise NasError(f"{str(out)[:160]} already holds train/ or val/; choose a new folder")
    counts = {}
    for split, prefix in SPLITS.items():
        images, labels = load_split(Path(args.src), prefix)
        per = args.train_per_class if split == "train" else args.val_per_class
        counts[split] = write_split(images, labels, pick(labels, per), out / split)
    print(f"wrote {counts['train']} training and {counts['val']} validation images in {len(CLASSES)} classes "
          f"to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

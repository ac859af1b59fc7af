"""Image folders: augmentation drawn per sample from (seed, epoch key, index), never from the global RNG."""
import random

import numpy as np
import torch
from PIL import Image

from nas.data.collate import collate_skip
from nas.data.folders import image_folder_datasets


def _folder(root):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        d = root / "train" / c
        d.mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (24, 30, 3), dtype=np.uint8)).save(d / f"{i}.png")
    return root


def test_augmentation_is_keyed_by_seed_epoch_and_index(tmp_path):
    train, _, _ = image_folder_datasets(_folder(tmp_path / "d"), 16, val_fraction=0.34, seed=1)
    train.set_epoch(5)
    first = train[0][0]
    random.seed(123)  # the global RNG plays no part
    torch.manual_seed(123)
    assert torch.equal(train[0][0], first)
    train.set_epoch(6)
    assert not torch.equal(train[0][0], first)
    again, _, _ = image_folder_datasets(tmp_path / "d", 16, val_fraction=0.34, seed=1)
    again.set_epoch(5)
    assert torch.equal(again[0][0], first)  # a fresh process (a resumed run) sees the same view


def test_folders_use_the_one_skipping_collate(tmp_path):
    train, val, classes = image_folder_datasets(_folder(tmp_path / "d"), 16, val_fraction=0.34)
    x, y, skipped = collate_skip([train[0], None, train[1]])
    assert x.shape == (2, 3, 16, 16) and y.dtype == torch.int64 and skipped == 1


def _png_claiming(path, width, height):
    """Write a PNG whose header claims ``width x height`` pixels (a decompression bomb's header)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_bomb_headers_are_skipped_not_raised(tmp_path):
    """A header claiming 100000² pixels is an unreadable image, at scan time and when loaded in val/."""
    import pytest

    from nas.errors import NasError

    root = _folder(tmp_path / "d")
    (root / "val" / "a").mkdir(parents=True)
    (root / "val" / "b").mkdir(parents=True)
    for c in ("a", "b"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "val" / c / "ok.png")
        _png_claiming(root / "val" / c / "bomb.png", 100_000, 100_000)
    train, val, _ = image_folder_datasets(root, 16)
    loaded = [val[i] for i in range(len(val))]
    assert sum(x is None for x in loaded) == 2 and sum(x is not None for x in loaded) == 2
    only_bombs = tmp_path / "e" / "train" / "a"
    only_bombs.mkdir(parents=True)
    _png_claiming(only_bombs / "bomb.png", 100_000, 100_000)
    with pytest.raises(NasError, match="no readable image"):
        image_folder_datasets(tmp_path / "e", 16)

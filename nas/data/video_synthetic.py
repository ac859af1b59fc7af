"""The embedded video set: procedurally generated clips whose classes differ only by motion direction.

Our construction (not from any paper): one Gaussian blob of a random colour, size and speed moves over a
noisy background on a torus (it wraps at the borders), so every single frame has the same distribution in
every class: the blob sits at a uniformly random position. Classes are the direction: 0 right, 1 left,
2 down, 3 up. Right/left (and down/up) clips are exact time reversals of each other, so any model that
averages per-frame predictions (TSN, the all-``t_id`` genotype) cannot beat chance on those pairs; only
the trail orientation could separate the two axes, and a frame-averaging net gets that only through
its pooled features, so it stays near chance (<= 50% even if it learnt the axis perfectly).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["CLASS_NAMES", "make_motion_clips", "SyntheticMotion"]

CLASS_NAMES = ("right", "left", "down", "up")
_DIRS = np.array([(1, 0), (-1, 0), (0, 1), (0, -1)], dtype=np.float32)  # (dx, dy) per class


def make_motion_clips(n: int, frames: int = 8, size: int = 32, seed: int = 0,
                      noise: float = 0.15) -> Tuple[np.ndarray, np.ndarray]:
    """Return ``(clips float32 [n, 3, T, H, W] in about [-1, 1], labels int64 [n])``, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASS_NAMES), n)
    start = rng.uniform(0, size, (n, 2)).astype(np.float32)
    speed = rng.uniform(0.06, 0.1, n).astype(np.float32) * size  # pixels per frame
    sigma = rng.uniform(0.06, 0.1, n).astype(np.float32) * size
    color = rng.uniform(0.5, 1.0, (n, 3)).astype(np.float32) * rng.choice([-1.0, 1.0], (n, 1))
    t = np.arange(frames, dtype=np.float32)
    centre = start[:, None, :] + (speed[:, None] * t[None, :])[..., None] * _DIRS[labels][:, None, :]  # n,T,2
    grid = np.arange(size, dtype=np.float32)

    def wrap(d: np.ndarray) -> np.ndarray:
        return (d + size / 2) % size - size / 2

    dx = wrap(grid[None, None, :] - centre[..., 0:1])  # n,T,W
    dy = wrap(grid[None, None, :] - centre[..., 1:2])  # n,T,H
    s2 = 2 * sigma[:, None, None] ** 2
    blob = np.exp(-dy[..., :, None] ** 2 / s2[..., None]) * np.exp(-dx[..., None, :] ** 2 / s2[..., None])
    clips = color[:, :, None, None, None] * blob[:, None]  # n,3,T,H,W
    clips += noise * rng.standard_normal(clips.shape, dtype=np.float32)
    return clips.astype(np.float32), labels.astype(np.int64)


class SyntheticMotion(Dataset):
    """The embedded motion-direction video set as a map-style dataset of ``(clip [3, T, H, W], label)``."""

    classes = CLASS_NAMES

    def __init__(self, n: int = 512, frames: int = 8, size: int = 32, seed: int = 0):
        clips, labels = make_motion_clips(n, frames, size, seed)
        self.clips, self.labels = torch.from_numpy(clips), torch.from_numpy(labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> Tuple[torch.Tensor, int]:
        return self.clips[i], int(self.labels[i])

    def to_uint8(self, i: int) -> np.ndarray:
        """Return clip ``i`` as ``[T, H, W, 3]`` uint8 frames (for writing real video files)."""
        x = self.clips[i].permute(1, 2, 3, 0).numpy()
        return np.clip((x + 1.0) * 127.5, 0, 255).astype(np.uint8)

"""The embedded video set: procedural clips whose classes need long-range order, short motion or only texture.

Our construction (not from any paper), seven classes in three groups, over a noisy background:
- **order** (``red_first``, ``green_first``, ``blue_first``): three one-frame colour flashes at random places,
  one in each third of the clip; the class is the colour of the first. Every clip shows all three colours,
  so a frame-averaging net (TSN, the all-``t_id`` genotype) is at chance (1/3) among them, and the
  evidence is about T/3 frames apart: an op must carry information across the clip to see it.
- **motion** (``right``, ``left``): a Gaussian blob moving on a torus (it wraps at the borders), so every
  frame has the same distribution in both classes; the two are exact time reversals of each other. A
  frame-averaging net is at chance (1/2); a one-frame temporal reach (one shift) is enough.
- **texture** (``stripes_h``, ``stripes_v``): a static grating of random phase and frequency; 2-D is enough.

A frame-averaging net is therefore bounded by (3 * 1/3 + 2 * 1/2 + 2) / 7 = 4/7 (57%) top-1.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["CLASS_NAMES", "GROUPS", "make_motion_clips", "make_clips", "SyntheticMotion"]

CLASS_NAMES = ("red_first", "green_first", "blue_first", "right", "left", "stripes_h", "stripes_v")
GROUPS = {"order": (0, 1, 2), "motion": (3, 4), "texture": (5, 6)}  # class indices per group
_COLOURS = np.array([(1, -1, -1), (-1, 1, -1), (-1, -1, 1)], dtype=np.float32)  # red, green, blue


def _order(clips: np.ndarray, idx: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> None:
    """Paint three colour flashes, one per third of the clip, the label's colour first."""
    _, t, h, w = clips.shape[1:]
    side = max(2, h // 4)
    for j, i in enumerate(idx):
        others = [c for c in range(3) if c != labels[i]]
        order = [labels[i]] + list(rng.permutation(others))
        for k, colour in enumerate(order):
            lo, hi = k * t // 3, (k + 1) * t // 3  # disjoint thirds of the clip (they overlap only when T < 3)
            f = min(t - 1, int(rng.integers(lo, max(lo + 1, hi))))
            y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
            clips[i, :, f, y : y + side, x : x + side] += 0.9 * _COLOURS[colour][:, None, None]


def _motion(clips: np.ndarray, idx: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> None:
    """Paint a blob moving right (label 3) or left (label 4), wrapping at the borders."""
    _, t, h, w = clips.shape[1:]
    n = len(idx)
    start = rng.uniform(0, w, (n, 2)).astype(np.float32)
    speed = rng.uniform(0.06, 0.1, n).astype(np.float32) * w * np.where(labels[idx] == 3, 1.0, -1.0)
    sigma = rng.uniform(0.06, 0.1, n).astype(np.float32) * w
    colour = rng.uniform(0.5, 1.0, (n, 3)).astype(np.float32) * rng.choice([-1.0, 1.0], (n, 1))
    cx = start[:, None, 0] + speed[:, None] * np.arange(t, dtype=np.float32)[None]  # n, T
    gx, gy = np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)
    dx = (gx[None, None] - cx[..., None] + w / 2) % w - w / 2  # n, T, W
    dy = (gy[None] - start[:, 1:2] + h / 2) % h - h / 2  # n, H
    s2 = 2 * sigma[:, None, None] ** 2
    blob = np.exp(-dy[:, None, :, None] ** 2 / s2[..., None]) * np.exp(-dx[:, :, None, :] ** 2 / s2[..., None])
    clips[idx] += colour[:, :, None, None, None] * blob[:, None]


def _texture(clips: np.ndarray, idx: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> None:
    """Paint a static grating: horizontal stripes (label 5) or vertical ones (label 6)."""
    _, t, h, w = clips.shape[1:]
    n = len(idx)
    freq = rng.uniform(2.0, 4.0, n) * 2 * np.pi / h
    phase = rng.uniform(0, 2 * np.pi, n)
    amp = rng.uniform(0.5, 0.8, n) * rng.choice([-1.0, 1.0], n)
    g = np.arange(h, dtype=np.float32)
    wave = (amp[:, None] * np.sin(freq[:, None] * g[None] + phase[:, None])).astype(np.float32)  # n, H
    horizontal = labels[idx] == 5
    img = np.where(horizontal[:, None, None], wave[:, :, None], wave[:, None, :w])  # n, H, W
    clips[idx] += img[:, None, None]


def make_clips(n: int, frames: int = 8, size: int = 32, seed: int = 0,
               noise: float = 0.15) -> Tuple[np.ndarray, np.ndarray]:
    """Return ``(clips float32 [n, 3, T, H, W] in about [-1, 1], labels int64 [n])``, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASS_NAMES), n)
    clips = noise * rng.standard_normal((n, 3, frames, size, size), dtype=np.float32)
    for paint, group in ((_order, "order"), (_motion, "motion"), (_texture, "texture")):
        idx = np.flatnonzero(np.isin(labels, GROUPS[group]))
        if len(idx):
            paint(clips, idx, labels, rng)
    return clips.astype(np.float32), labels.astype(np.int64)


make_motion_clips = make_clips  # the earlier name, kept for callers


class SyntheticMotion(Dataset):
    """The embedded video set as a map-style dataset of ``(clip [3, T, H, W], label)``."""

    classes = CLASS_NAMES

    def __init__(self, n: int = 512, frames: int = 8, size: int = 32, seed: int = 0):
        clips, labels = make_clips(n, frames, size, seed)
        self.clips, self.labels = torch.from_numpy(clips), torch.from_numpy(labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> Tuple[torch.Tensor, int]:
        return self.clips[i], int(self.labels[i])

    def to_uint8(self, i: int) -> np.ndarray:
        """Return clip ``i`` as ``[T, H, W, 3]`` uint8 frames (for writing real video files)."""
        x = self.clips[i].permute(1, 2, 3, 0).numpy()
        return np.clip((x + 1.0) * 127.5, 0, 255).astype(np.uint8)

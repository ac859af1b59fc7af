"""Spatial views of a clip: TSM's multi-scale crop, a plain random crop, test crops, and an optional flip.

Every function takes frames already scaled to the clip's short side (``[T, 3, H, W]`` floats) and draws from
the ``random.Random`` it is given, so a sample's views depend only on (seed, epoch key, index).

**Multi-scale crop**, our reading of TSM's ``GroupMultiScaleCrop`` (mit-han-lab/temporal-shift-module,
``ops/transforms.py``; recalled, not re-verified), which mmaction2's ``MultiScaleCrop`` also follows: the crop's
height and width are each ``int(short_side * s)`` for a scale ``s`` in (1, .875, .75, .66), snapped to the
output size when within 2 px; the two scales' positions in that list differ by at most ``max_distort`` (1: an
aspect jitter of one step). The crop sits at one of 13 fixed positions (corners, centre, edge middles and
quarter points, TSM's ``more_fix_crop``), chosen uniformly, and is resized to ``size x size``. One box serves
every frame of the clip.

**Flip** (TSM's ``GroupRandomHorizontalFlip``, probability 1/2) is ``off``, ``on``, or ``pairs``: flipped clips
swap the labels of each listed class pair (Something-Something's "left to right" and "right to left"); a class
in no pair keeps its label. Where direction is the label, plain ``on`` teaches the wrong class, so it is off by
default.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F

__all__ = ["TSM_SCALES", "FLIP_MODES", "TrainAugment", "multiscale_box", "fixed_offsets", "train_view",
           "eval_views"]

TSM_SCALES = (1.0, 0.875, 0.75, 0.66)
FLIP_MODES = ("off", "on", "pairs")


@dataclass(frozen=True)
class TrainAugment:
    """The training crop and flip: ``scales`` empty means a plain random ``size`` crop of the scaled frames."""

    scales: Tuple[float, ...] = ()
    max_distort: int = 1
    flip: str = "off"
    flip_pairs: Tuple[Tuple[int, int], ...] = ()

    def swapped(self) -> Dict[int, int]:
        """Return the label each class takes when its clip is flipped (only the classes that change)."""
        out: Dict[int, int] = {}
        for a, b in self.flip_pairs:
            out[a], out[b] = b, a
        return out


def fixed_offsets(h: int, w: int, ch: int, cw: int) -> List[Tuple[int, int]]:
    """Return TSM's 13 ``(top, left)`` crop positions of a ``ch x cw`` box in an ``h x w`` frame."""
    hs, ws = (h - ch) // 4, (w - cw) // 4
    grid = [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2),  # corners and centre
            (2, 0), (2, 4), (4, 2), (0, 2),  # edge middles
            (1, 1), (1, 3), (3, 1), (3, 3)]  # quarter points
    return [(i * hs, j * ws) for i, j in grid]


def multiscale_box(h: int, w: int, size: int, scales: Sequence[float], max_distort: int,
                   rng: random.Random) -> Tuple[int, int, int, int]:
    """Draw TSM's multi-scale crop ``(top, left, height, width)`` from an ``h x w`` frame (see the module doc)."""
    sides = [int(min(h, w) * s) for s in scales]
    sides = [size if abs(x - size) < 3 else x for x in sides]
    pairs = [(ch, cw) for i, ch in enumerate(sides) for j, cw in enumerate(sides) if abs(i - j) <= max_distort]
    ch, cw = rng.choice(pairs)
    ch, cw = min(ch, h), min(cw, w)
    top, left = rng.choice(fixed_offsets(h, w, ch, cw))
    return top, left, ch, cw


def train_view(x: torch.Tensor, label: int, size: int, aug: TrainAugment,
               rng: random.Random) -> Tuple[torch.Tensor, int]:
    """Return one training view ``[T, 3, size, size]`` of scaled frames ``x`` and its (possibly swapped) label."""
    h, w = x.shape[-2:]
    if aug.scales:
        top, left, ch, cw = multiscale_box(h, w, size, aug.scales, aug.max_distort, rng)
        x = x[..., top:top + ch, left:left + cw]
        if (ch, cw) != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    else:
        top, left = rng.randint(0, h - size), rng.randint(0, w - size)
        x = x[..., top:top + size, left:left + size]
    if aug.flip != "off" and rng.random() < 0.5:
        x = x.flip(-1)
        label = aug.swapped().get(label, label) if aug.flip == "pairs" else label
    return x, label


def eval_views(x: torch.Tensor, size: int, num_crops: int) -> List[torch.Tensor]:
    """Return the centre crop, or 3 crops along the long side (left/centre/right or top/centre/bottom)."""
    h, w = x.shape[-2:]
    if num_crops == 1:
        offs = [((h - size) // 2, (w - size) // 2)]
    else:  # as PySlowFast's 3-crop testing
        offs = [((h - size) * i // (num_crops - 1) if h > w else (h - size) // 2,
                 (w - size) * i // (num_crops - 1) if w >= h else (w - size) // 2) for i in range(num_crops)]
    return [x[..., i:i + size, j:j + size] for i, j in offs]

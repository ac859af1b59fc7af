"""The embedded default image set: procedurally drawn shapes with textures, clutter and noise.

Ten classes = five shapes (disc, ring, square, triangle, cross) x two fill textures (vertical or horizontal
stripes). ``ShapesSpec.shapes`` up to 10 adds five more shapes that differ from the first ones only in fine
outline (ellipse, hexagon, star, half disc, tee): 2 x shapes classes, a harder set whose extra difficulty is in
the images' content rather than in pixel noise. With the default 5 the images are exactly those of the five-shape
set. Every image has a random position, size, rotation, colours, stripe period and phase, a distractor
bar and pixel noise, so telling classes apart needs both global shape (a large receptive field) and local
texture orientation: small, deep and wide networks score differently on it. It is generated from a seed in
about a second, with no download.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ShapesSpec", "SHAPES", "TEXTURES", "make_shapes", "shapes_datasets"]

SHAPES = ("disc", "ring", "square", "triangle", "cross", "ellipse", "hexagon", "star", "half_disc", "tee")
TEXTURES = ("vertical", "horizontal")
DEFAULT_SHAPES = 5  # the default set uses the first five shapes
NUM_CLASSES = DEFAULT_SHAPES * len(TEXTURES)


@dataclass(frozen=True)
class ShapesSpec:
    """Size and difficulty of the embedded set."""

    train: int = 6000  # training images
    val: int = 1000  # validation images
    resolution: int = 32  # square image side in pixels
    noise: float = 0.05  # std of additive Gaussian pixel noise (images are in [0, 1])
    shapes: int = DEFAULT_SHAPES  # shape kinds, the first ``shapes`` of SHAPES (2..10): 2 x shapes classes
    seed: int = 0  # generator seed; the same seed gives the same images


def _shape_mask(shape: np.ndarray, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    d = np.sqrt(u**2 + v**2)
    masks = {
        0: d < r,
        1: np.abs(d - 0.75 * r) < 0.25 * r,
        2: np.maximum(np.abs(u), np.abs(v)) < 0.8 * r,
        3: (v > -0.5 * r) & (v < r - np.sqrt(3) * np.abs(u)),
        4: ((np.abs(u) < 0.28 * r) & (np.abs(v) < r)) | ((np.abs(v) < 0.28 * r) & (np.abs(u) < r)),
    }
    if shape.max(initial=0) >= 5:
        phi = np.arctan2(v, u)
        hexagon = np.max([u * np.cos(a) + v * np.sin(a) for a in np.arange(6) * np.pi / 3], axis=0)
        masks.update({
            5: (u / r) ** 2 + (v / (0.55 * r)) ** 2 < 1,
            6: hexagon < 0.87 * r,
            7: d < r * (0.6 + 0.4 * np.cos(5 * phi)),
            8: (d < r) & (v > -0.15 * r),
            9: ((np.abs(u) < r) & (np.abs(v - 0.65 * r) < 0.3 * r)) | ((np.abs(u) < 0.3 * r) & (v < 0.65 * r)
                                                                       & (v > -r)),
        })
    out = np.zeros(u.shape, dtype=bool)
    for k, m in masks.items():
        out |= (shape == k) & m
    return out


def make_shapes(n: int, resolution: int, noise: float, rng: np.random.Generator,  # noqa: C901
                shapes: int = DEFAULT_SHAPES):
    """Return ``(images float32 (n, 3, R, R) in [0, 1], labels int64 (n,))`` over ``2 * shapes`` classes."""
    if not 2 <= shapes <= len(SHAPES):
        raise ValueError(f"shapes must be in 2..{len(SHAPES)}")
    labels = rng.integers(0, shapes * len(TEXTURES), n)
    shape, texture = labels // len(TEXTURES), labels % len(TEXTURES)

    def col(*lo_hi):
        return rng.uniform(*lo_hi, size=(n, 1, 1)).astype(np.float32)

    ys, xs = np.meshgrid(np.arange(resolution), np.arange(resolution), indexing="ij")
    ys, xs = ys[None].astype(np.float32), xs[None].astype(np.float32)
    cx, cy = col(0.3 * resolution, 0.7 * resolution), col(0.3 * resolution, 0.7 * resolution)
    r = col(0.3 * resolution, 0.45 * resolution)
    theta = col(0, 2 * np.pi)
    u = (xs - cx) * np.cos(theta) + (ys - cy) * np.sin(theta)
    v = -(xs - cx) * np.sin(theta) + (ys - cy) * np.cos(theta)
    mask = _shape_mask(shape[:, None, None], u, v, r)
    period = col(4.0, 6.0) * resolution / 32
    phase = col(0, 2 * np.pi)
    # Stripe orientation is fixed in the image frame (not the shape's), so it is a local cue.
    vertical = np.sin(2 * np.pi * xs / period + phase) > 0
    horizontal = np.sin(2 * np.pi * ys / period + phase) > 0
    fill = np.where((texture == 0)[:, None, None], vertical, horizontal)
    # Distractor: a thin bar at a random place and angle, in a random colour, under the shape.
    bx, by, bt = col(0, resolution), col(0, resolution), col(0, np.pi)
    bar = np.abs((xs - bx) * np.sin(bt) - (ys - by) * np.cos(bt)) < 1.0
    bg, fg1, fg2, barc = (rng.uniform(0, 1, size=(n, 3, 1, 1)).astype(np.float32) for _ in range(4))
    img = np.broadcast_to(bg, (n, 3, resolution, resolution)).copy()
    img = np.where(bar[:, None], barc, img)
    img = np.where((mask & fill)[:, None], fg1, img)
    img = np.where((mask & ~fill)[:, None], fg2, img)
    img += rng.normal(0, noise, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32), labels.astype(np.int64)


def shapes_datasets(spec: ShapesSpec = ShapesSpec()):
    """Return ``(train, val, num_classes)`` as normalised ``TensorDataset``s."""
    import torch
    from torch.utils.data import TensorDataset

    rng = np.random.default_rng(spec.seed)
    out = []
    for n in (spec.train, spec.val):
        x, y = make_shapes(n, spec.resolution, spec.noise, rng, spec.shapes)
        x = (torch.from_numpy(x) - 0.5) / 0.25
        out.append(TensorDataset(x, torch.from_numpy(y)))
    return out[0], out[1], spec.shapes * len(TEXTURES)

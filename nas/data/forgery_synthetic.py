"""The embedded face-forgery set: procedural faces, 15 manipulations, grey difference maps, a final JPEG.

Half the images are real (a rendered face after a camera-quality JPEG); the other half apply one of the 15
methods of :mod:`nas.data.forgery_methods`, drawn uniformly, to such an image. The ground-truth map is the
per-pixel grey difference (mean over colours of |fake - source|, in [0, 1]) as ForgeryNet defines it, taken
before the final JPEG; real images have an all-zero map. Every image, real or fake, then gets a final JPEG at a
``hq`` or ``lq`` quality range, so compression alone gives nothing away. Everything is drawn from ``seed``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Tuple

import numpy as np

from nas.data.forgery_faces import LOOKS, donor_of, jpeg, random_face, region_masks, render, skin_texture
from nas.data.forgery_methods import ID_REPLACED, METHODS
from nas.errors import NasError

__all__ = ["ForgerySpec", "QUALITY", "CAMERA_QUALITY", "make_forgeries"]

QUALITY = {"hq": (75, 95), "lq": (30, 50)}  # final JPEG quality range per setting (FF++ c23 / c40 in spirit)
CAMERA_QUALITY = (85, 98)  # the JPEG every source image has before any manipulation
BATCH = 256  # faces rendered per vectorised pass


@dataclass(frozen=True)
class ForgerySpec:
    """Size and difficulty of the embedded face-forgery set."""

    train: int = 4000  # training images
    val: int = 1000  # validation images
    resolution: int = 64  # image side in pixels (faces are drawn at twice this and downsampled)
    quality: str = "hq"  # final JPEG range: hq or lq
    strength: float = 1.0  # scales every manipulation's amplitude; lower is harder
    look: str = "v1"  # the faces' rendering: v1 (the measured set) or v2 (closer to photographs; forgery_faces)
    fake_share: float = 0.5  # share of manipulated images
    seed: int = 0  # generator seed; the same seed gives the same images

    def validate(self) -> None:
        """Raise a one-line NasError on an impossible value."""
        if self.look not in LOOKS:
            raise NasError(f"forgery.look must be one of {'|'.join(LOOKS)}, got {str(self.look)[:20]!r}")
        if self.quality not in QUALITY:
            raise NasError(f"forgery.quality must be hq or lq, got {str(self.quality)[:20]!r}")
        if not 0.0 < self.fake_share < 1.0 or self.strength <= 0:
            raise NasError("forgery.fake_share must be in (0, 1) and forgery.strength > 0")
        if self.resolution < 16:
            raise NasError(f"the embedded forgery set needs a resolution of at least 16, got {self.resolution}")


def _methods(n: int, fake_share: float, rng: np.random.Generator) -> np.ndarray:
    n_fake = int(round(n * fake_share))
    ids = np.r_[np.zeros(n - n_fake, np.int64), 1 + np.arange(n_fake) % len(METHODS)]
    return rng.permutation(ids)


def _batch(methods: np.ndarray, spec: ForgerySpec, rng: np.random.Generator,
           source_rng: Optional[np.random.Generator] = None):
    """Return one batch's images and maps. ``source_rng`` (default ``rng``) redraws the real faces' skin texture
    and sensor noise, the fine detail a manipulation hides, and nothing else (``experiments.spatial_ceiling``)."""
    r, n = spec.resolution, len(methods)
    faces = random_face(rng, n, r)
    if source_rng is not None:
        faces = replace(faces, tex=skin_texture(source_rng, n, r))
    real = render(faces, r, rng if source_rng is None else source_rng, look=spec.look)
    swap = np.flatnonzero(np.isin(methods, ID_REPLACED))
    donors = np.zeros_like(real)
    if swap.size:
        donors[swap] = render(donor_of(faces.take(swap), rng, r, spec.look), r, rng, look=spec.look)
    parts = region_masks(faces, r)
    lo, hi = QUALITY[spec.quality]
    images = np.empty((n, r, r, 3), np.uint8)
    maps = np.zeros((n, r, r), np.uint8)
    for i, m in enumerate(methods):
        source = jpeg(real[i], int(rng.integers(*CAMERA_QUALITY, endpoint=True)))
        img = source
        if m:
            own = {k: v[i] for k, v in parts.items()}
            img = np.clip(METHODS[int(m)].apply(source, donors[i], own, rng, spec.strength), 0, 1)
            maps[i] = np.round(np.abs(img - source).mean(-1) * 255).astype(np.uint8)
        images[i] = np.round(jpeg(img, int(rng.integers(lo, hi, endpoint=True))) * 255).astype(np.uint8)
    return images, maps


def make_forgeries(n: int, spec: ForgerySpec, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(images uint8 (n, R, R, 3), maps uint8 (n, R, R), method ids int64 (n,))``; id 0 is real."""
    spec.validate()
    methods = _methods(n, spec.fake_share, rng)
    images, maps = [], []
    for start in range(0, n, BATCH):
        im, mp = _batch(methods[start:start + BATCH], spec, rng)
        images.append(im)
        maps.append(mp)
    return np.concatenate(images), np.concatenate(maps), methods

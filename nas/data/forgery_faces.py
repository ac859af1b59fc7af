"""Procedural faces for the embedded face-forgery set: head, hair, eyes, brows, nose, mouth, textured
background, directional lighting and sensor noise, drawn at twice the output size and box-downsampled.

Two looks (``look``): ``v1``, the set every figure before 2026-12-08 was measured on, and ``v2``, closer to
camera photographs of real faces (our reading of what a photograph has that v1 lacks): skin texture at several
scales (pores, blotches), a head shaded as a lit ellipsoid with an ambient term and a specular highlight, a
per-photo white balance, a smooth random background instead of stripes, a lens blur and signal-dependent sensor
noise; a swap's donor (:func:`donor_of`) is lit from a slightly different direction than its target.

:class:`Face` holds a *batch* of faces (every field an array of shape (n, 1, 1), colours (n, 1, 1, 3)), so a
whole set renders in a few vectorised passes. Face swaps in the wild align the donor to the target's
landmarks, so :func:`donor_of` keeps the target's geometry and draws a new identity's appearance.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Dict

import numpy as np
from PIL import Image

__all__ = ["LOOKS", "Face", "random_face", "donor_of", "skin_texture", "render", "jpeg", "region_masks"]

LOOKS = ("v1", "v2")


@dataclass(frozen=True)
class Face:
    """A batch of faces: geometry (in units of the image side) and appearance, one array entry per face."""

    cx: np.ndarray
    cy: np.ndarray
    a: np.ndarray  # head half-width
    b: np.ndarray  # head half-height
    eye_dx: np.ndarray  # eye offset from the centre line, in units of a
    eye_r: np.ndarray  # eye radius, in units of a
    mouth_w: np.ndarray  # mouth half-width, in units of a
    skin: np.ndarray
    hair: np.ndarray
    iris: np.ndarray
    lips: np.ndarray
    bg1: np.ndarray
    bg2: np.ndarray
    bg_freq: np.ndarray
    light: np.ndarray  # lighting direction (radians)
    light_gain: np.ndarray
    hair_freq: np.ndarray
    tex: np.ndarray  # skin texture, (n, s/4, s/4) at the 2x drawing size

    def __len__(self) -> int:
        return self.cx.shape[0]

    def take(self, idx) -> "Face":
        """Return the faces at ``idx``."""
        return Face(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})


def _u(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    return rng.uniform(lo, hi, (n, 1, 1)).astype(np.float32)


def _colour(rng: np.random.Generator, n: int, lo, hi) -> np.ndarray:
    return rng.uniform(lo, hi, (n, 1, 1, 3)).astype(np.float32)


def skin_texture(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Return ``n`` skin textures for ``size`` px images: white noise, (n, size/2, size/2), 4x4 px cells at 2x."""
    return rng.normal(0, 0.025, (n, size // 2, size // 2)).astype(np.float32)


def _appearance(rng: np.random.Generator, n: int, size: int) -> Dict[str, np.ndarray]:
    tone = rng.uniform(0.25, 0.95, (n, 1, 1, 1))
    skin = np.clip(np.array([0.95, 0.72, 0.58]) * tone + rng.normal(0, 0.04, (n, 1, 1, 3)), 0.05, 1.0)
    return dict(skin=skin.astype(np.float32), hair=_colour(rng, n, (0.02, 0.02, 0.02), (0.55, 0.4, 0.3)),
                iris=_colour(rng, n, (0.05, 0.05, 0.05), (0.4, 0.5, 0.6)),
                lips=_colour(rng, n, (0.5, 0.15, 0.2), (0.85, 0.4, 0.45)),
                eye_r=_u(rng, n, 0.13, 0.19), mouth_w=_u(rng, n, 0.35, 0.5), hair_freq=_u(rng, n, 20, 45),
                tex=skin_texture(rng, n, size))


def random_face(rng: np.random.Generator, n: int, size: int) -> Face:
    """Draw ``n`` faces for ``size`` px images: position, size, feature layout, colours, background, lighting."""
    a = _u(rng, n, 0.24, 0.31)
    return Face(cx=_u(rng, n, 0.45, 0.55), cy=_u(rng, n, 0.5, 0.58), a=a, b=a * _u(rng, n, 1.2, 1.4),
                eye_dx=_u(rng, n, 0.33, 0.43), bg1=_colour(rng, n, (0, 0, 0), (1, 1, 1)),
                bg2=_colour(rng, n, (0, 0, 0), (1, 1, 1)), bg_freq=_u(rng, n, 2, 9),
                light=_u(rng, n, 0, 2 * np.pi), light_gain=_u(rng, n, 0.1, 0.35), **_appearance(rng, n, size))


def donor_of(face: Face, rng: np.random.Generator, size: int, look: str = "v1") -> Face:
    """Return other identities aligned to ``face``: same geometry, new appearance; same light (``v1``) or a light
    turned by up to +-0.6 rad (``v2``: the donor was filmed elsewhere)."""
    donor = replace(face, **_appearance(rng, len(face), size))
    if look == "v2":
        donor = replace(donor, light=face.light + _u(rng, len(face), -0.6, 0.6))
    return donor


def _ellipse(x, y, cx, cy, rx, ry, edge):
    """Return a soft ellipse mask: a linear ramp about ``edge`` wide across the rim (1 - t ~ 2 (1 - d) there)."""
    t = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2
    return np.clip((1.0 - t) * (np.minimum(rx, ry) / (2.0 * edge)) + 0.5, 0.0, 1.0)


def _paint(img, alpha, colour):
    img *= 1.0 - alpha[..., None]
    img += alpha[..., None] * colour


def _box(c, r, s: int):
    """Return the pixel slice covering ``c +- r`` (in image units) for every face of the batch."""
    lo = max(int(np.floor(float(np.min(c - r)) * s)) - 2, 0)
    hi = min(int(np.ceil(float(np.max(c + r)) * s)) + 2, s)
    return slice(lo, max(hi, lo))


def _paint_ellipse(img, x, y, cx, cy, rx, ry, edge, colour):
    """Paint soft ellipses, computing them only inside the batch's bounding box (eyes cover ~1% of the image)."""
    s = img.shape[1]
    ys, xs = _box(cy, ry, s), _box(cx, rx, s)
    alpha = _ellipse(x[:, ys, xs], y[:, ys, xs], cx, cy, rx, ry, edge)
    _paint(img[:, ys, xs], alpha, colour)


def _smooth_noise(rng: np.random.Generator, n: int, s: int, cells: int) -> np.ndarray:
    """Return (n, s, s) noise in about [-1, 1]: a ``cells`` x ``cells`` grid of normal values, bilinearly upsampled."""
    grid = rng.normal(0, 1, (n, cells + 1, cells + 1)).astype(np.float32)
    t = np.linspace(0, cells, s, dtype=np.float32)
    i = np.minimum(t.astype(np.int64), cells - 1)
    w = (t - i)[None, :, None]
    rows = grid[:, i] * (1 - w) + grid[:, i + 1] * w  # (n, s, cells + 1)
    w = (t - i)[None, None, :]
    return rows[:, :, i] * (1 - w) + rows[:, :, i + 1] * w


def _background(face: Face, x, y, rng: np.random.Generator, look: str) -> np.ndarray:
    f = face
    if look == "v1":
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * f.bg_freq * (x * np.cos(f.light) + y * np.sin(f.light * 1.7)))
    else:  # a smooth random scene: three octaves of value noise, coarse ones strongest (about 1/f)
        n, s = x.shape[:2]
        field = sum(_smooth_noise(rng, n, s, c) / c ** 0.5 for c in (2, 5, 12))
        wave = 1 / (1 + np.exp(-1.5 * field))
    return f.bg1 * wave[..., None] + f.bg2 * (1 - wave[..., None])


def _lit(img, face: Face, x, y, head, rng: np.random.Generator) -> np.ndarray:
    """v2 lighting: the head as a lit ellipsoid (ambient + Lambert + a specular spot), a softer ramp on the rest,
    and a per-photo white balance."""
    f, n = face, len(face)
    nx, ny = (x - f.cx) / f.a, (y - f.cy) / f.b
    nz = np.sqrt(np.clip(1 - nx ** 2 - ny ** 2, 0, 1))
    elev = 0.35 + 1.2 * f.light_gain  # light elevation above the image plane, radians
    lx, ly, lz = np.cos(f.light) * np.cos(elev), np.sin(f.light) * np.cos(elev), np.sin(elev)
    lambert = np.clip(nx * lx + ny * ly + nz * lz, 0, 1)
    ambient = _u(rng, n, 0.35, 0.6)
    shade = head * (ambient + (1 - ambient) * lambert) + (1 - head) * (
        1.0 + 0.5 * f.light_gain * ((x - f.cx) * np.cos(f.light) + (y - f.cy) * np.sin(f.light)) / f.a)
    hx, hy, hz = lx, ly, lz + 1.0  # the half vector towards a viewer on the z axis
    norm = np.sqrt(hx ** 2 + hy ** 2 + hz ** 2)
    spec = head * _u(rng, n, 0.0, 0.12) * np.clip((nx * hx + ny * hy + nz * hz) / norm, 0, 1) ** 24
    balance = 1 + _u(rng, n, -0.07, 0.07)[..., None] * np.float32([1, 0, -1])
    return (img * np.clip(shade, 0.25, 1.6)[..., None] + spec[..., None]) * balance


def _lens(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian lens blur of sigma 0.3-0.9 px per image (separable, edge-padded)."""
    out = np.empty_like(img)
    for i, sigma in enumerate(rng.uniform(0.3, 0.9, len(img))):
        k = np.exp(-0.5 * (np.arange(-3, 4) / sigma) ** 2).astype(np.float32)
        k /= k.sum()
        pad = np.pad(img[i], ((3, 3), (3, 3), (0, 0)), mode="edge")
        rows = sum(k[j] * pad[j:j + img.shape[1]] for j in range(7))
        out[i] = sum(k[j] * rows[:, j:j + img.shape[2]] for j in range(7))
    return out


def render(face: Face, size: int, rng: np.random.Generator, noise: float = 0.02, look: str = "v1") -> np.ndarray:
    """Return the faces as float32 (n, size, size, 3) in [0, 1]: drawn at 2x, box-downsampled, sensor noise
    (``look``: see the module's docstring)."""
    s = 2 * size
    y, x = (np.broadcast_to(g[None], (len(face), s, s)) for g in np.mgrid[0:s, 0:s].astype(np.float32) / s)
    f, px = face, 1.0 / s
    img = _background(face, x, y, rng, look)
    hair = _ellipse(x, y, f.cx, f.cy - 0.25 * f.b, 1.12 * f.a, 0.95 * f.b, 1.5 * px)
    strands = 0.85 + 0.15 * np.sin(2 * np.pi * f.hair_freq * (x + 0.3 * np.sin(9 * y)))
    _paint(img, hair, f.hair)
    img *= np.where(hair[..., None] > 0.5, strands[..., None], 1.0)
    head = _ellipse(x, y, f.cx, f.cy, f.a, f.b, 1.5 * px)
    tex = f.tex.repeat(4, 1).repeat(4, 2)
    _paint(img, head, f.skin)
    img += (head * tex)[..., None]
    if look == "v2":  # pores (one drawing pixel) and blotches (smooth, about an eighth of the face)
        fine = rng.normal(0, 0.012, (len(face), s, s)).astype(np.float32)
        img += (head * (fine + 0.02 * _smooth_noise(rng, len(face), s, 14)))[..., None]
    for side in (-1, 1):
        ex, ey = f.cx + side * f.eye_dx * f.a, f.cy - 0.12 * f.b
        er = f.eye_r * f.a
        _paint_ellipse(img, x, y, ex, ey - 1.9 * er, 1.5 * er, 0.35 * er, px, f.hair * 0.8)
        _paint_ellipse(img, x, y, ex, ey, 1.3 * er, 0.75 * er, px, np.float32([0.93, 0.93, 0.9]))
        _paint_ellipse(img, x, y, ex, ey, 0.55 * er, 0.55 * er, px, f.iris)
        _paint_ellipse(img, x, y, ex, ey, 0.22 * er, 0.22 * er, px, np.float32([0.02, 0.02, 0.02]))
    nose = _ellipse(x, y, f.cx + 0.03 * f.a, f.cy + 0.18 * f.b, 0.12 * f.a, 0.2 * f.b, 2 * px)
    img *= 1.0 - 0.18 * nose[..., None]
    _paint_ellipse(img, x, y, f.cx, f.cy + 0.52 * f.b, f.mouth_w * f.a, 0.09 * f.b, px, f.lips)
    if look == "v1":
        shade = 1.0 + f.light_gain * ((x - f.cx) * np.cos(f.light) + (y - f.cy) * np.sin(f.light)) / f.a
        img *= np.clip(shade, 0.4, 1.6)[..., None]
    else:
        img = _lit(img, face, x, y, head, rng)
    img = img.reshape(-1, size, 2, size, 2, 3).mean((2, 4))
    if look == "v1":
        img += rng.normal(0, noise, img.shape).astype(np.float32)
    else:  # a lens blur, then shot noise that grows with the signal over a read-noise floor
        img = _lens(np.clip(img, 0, 1), rng)
        img += rng.normal(0, 1, img.shape).astype(np.float32) * noise * (0.4 + 0.9 * np.sqrt(np.clip(img, 0, 1)))
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def region_masks(face: Face, size: int) -> Dict[str, np.ndarray]:
    """Return soft float32 (n, size, size) masks of the face parts manipulations act on."""
    y, x = (g[None] for g in np.mgrid[0:size, 0:size].astype(np.float32) / size)
    f, px = face, 1.0 / size
    eyes = np.maximum(*(_ellipse(x, y, f.cx + s * f.eye_dx * f.a, f.cy - 0.18 * f.b, 2.2 * f.eye_r * f.a,
                                 2.0 * f.eye_r * f.a, px) for s in (-1, 1)))
    return {"inner": _ellipse(x, y, f.cx, f.cy + 0.12 * f.b, 0.78 * f.a, 0.78 * f.b, px),
            "face": _ellipse(x, y, f.cx, f.cy, 0.98 * f.a, 0.98 * f.b, px),
            "mouth": _ellipse(x, y, f.cx, f.cy + 0.52 * f.b, 1.35 * f.mouth_w * f.a, 0.3 * f.b, px),
            "eyes": eyes,
            "hair": np.clip(_ellipse(x, y, f.cx, f.cy - 0.25 * f.b, 1.12 * f.a, 0.95 * f.b, px)
                            - _ellipse(x, y, f.cx, f.cy, f.a, f.b, px), 0, 1)}


def jpeg(img: np.ndarray, quality: int, shift: tuple = (0, 0)) -> np.ndarray:
    """Return ``img`` (float [0, 1] HxWx3) after a JPEG round trip at ``quality``, optionally on a shifted grid."""
    u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    dy, dx = shift
    if dy or dx:
        u8 = np.pad(u8, ((dy, 0), (dx, 0), (0, 0)), mode="edge")
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=int(quality))
    out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), dtype=np.float32) / 255.0
    return out[dy:, dx:]

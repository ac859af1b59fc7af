"""The 15 manipulations of the embedded face-forgery set, with ForgeryNet's id numbering and grouping.

Each method maps (real image, face batch entry, donor image, part masks, rng, strength) to a fake image. The ids,
names and groups follow ForgeryNet's approaches (1-6 and 9 ID-replaced, 7-8 and 10-15 ID-remained); the operations
imitate each approach's typical artefact, they are not the published generators. docs/forgery.md describes each.
"""
from __future__ import annotations

from typing import Callable, Dict, NamedTuple

import numpy as np
from PIL import Image, ImageFilter

from nas.data.forgery_faces import jpeg

__all__ = ["Method", "METHODS", "ID_REPLACED", "ID_REMAINED", "triple_label"]


class Method(NamedTuple):
    """One manipulation: ForgeryNet id, name of the approach it imitates, group, and the function."""

    id: int
    name: str
    group: str  # "replaced" (identity swapped) or "remained" (in-place edit)
    apply: Callable


def _u8(img: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))


def _f(im: Image.Image) -> np.ndarray:
    return np.asarray(im, dtype=np.float32) / 255.0


def blur(img: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian blur (Pillow)."""
    return _f(_u8(img).filter(ImageFilter.GaussianBlur(radius)))


def resample(img: np.ndarray, factor: float) -> np.ndarray:
    """Downsample by ``factor`` (box) and upsample back (bilinear): a low-resolution generator's look."""
    h, w = img.shape[:2]
    small = _u8(img).resize((max(2, int(w * factor)), max(2, int(h * factor))), Image.BOX)
    return _f(small.resize((w, h), Image.BILINEAR))


def warp(img: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Bilinearly sample ``img`` at (x + dx, y + dy) (displacements in pixels)."""
    h, w = img.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    sx, sy = np.clip(x + dx, 0, w - 1.001), np.clip(y + dy, 0, h - 1.001)
    x0, y0 = sx.astype(np.int64), sy.astype(np.int64)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bot = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bot * fy


def colour_match(src: np.ndarray, ref: np.ndarray, mask: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """Shift ``src``'s per-channel mean and std inside ``mask`` towards ``ref``'s (Reinhard-style transfer)."""
    w = mask[..., None] / max(float(mask.sum()), 1e-6)
    ms, mr = (src * w).sum((0, 1)), (ref * w).sum((0, 1))
    ss = np.sqrt(((src - ms) ** 2 * w).sum((0, 1))) + 1e-4
    sr = np.sqrt(((ref - mr) ** 2 * w).sum((0, 1))) + 1e-4
    matched = (src - ms) / ss * sr + mr
    return src + amount * (matched - src)


def blend(base: np.ndarray, top: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha-blend ``top`` over ``base``."""
    return base * (1 - alpha[..., None]) + top * alpha[..., None]


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soften a mask's rim by a Gaussian blur of ``radius`` pixels."""
    return _f(Image.fromarray((np.clip(mask, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(radius)))


def checkerboard(img: np.ndarray, amp: float) -> np.ndarray:
    """Nearest 2x upsampling of a half-size copy plus a period-2 pattern: transposed-conv checkerboard artefacts."""
    h, w = img.shape[:2]
    small = _f(_u8(img).resize((w // 2, h // 2), Image.BOX))
    up = small.repeat(2, 0).repeat(2, 1)[:h, :w]
    y, x = np.mgrid[0:h, 0:w]
    return up + amp * (((x + y) % 2) * 2 - 1)[..., None]


def _swap(real, donor, mask, rng, s, *, match=1.0, hard=False, low_res=None, smooth=None, renoise=None):
    top = donor
    if renoise is not None:  # the generator's output lacks the camera's noise: smoothed, weaker noise added
        top = blur(top, 0.6) + rng.normal(0, renoise, top.shape)
    if low_res is not None:
        top = resample(top, low_res)
    if smooth is not None:
        top = blur(top, smooth * s)
    if match:
        top = colour_match(top, real, mask, match)
    alpha = (mask > 0.5).astype(np.float32) if hard else feather(mask, rng.uniform(0.5, 2.0))
    return blend(real, top, alpha)


def faceshifter(real, donor, parts, rng, s):
    return _swap(real, donor, parts["inner"], rng, s, renoise=0.006)


def fsgan(real, donor, parts, rng, s):
    return _swap(real, donor, parts["inner"], rng, s, smooth=rng.uniform(0.4, 1.0))


def deepfakes(real, donor, parts, rng, s):
    return _swap(real, donor, parts["inner"], rng, s, low_res=rng.uniform(0.35, 0.6))


def blendface(real, donor, parts, rng, s):
    return _swap(real, donor, parts["face"], rng, s, match=rng.uniform(0.0, 0.3), renoise=0.01)


def mmreplacement(real, donor, parts, rng, s):
    return _swap(real, donor, parts["inner"], rng, s, match=rng.uniform(0.5, 0.8), hard=True)


def dss(real, donor, parts, rng, s):
    fake = deepfakes(real, donor, parts, rng, s)
    return blend(fake, checkerboard(fake, 0.02 * s), parts["inner"])


def _local_warp(img, mask, amp, rng, axis):
    h, w = img.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cy = float((mask * y).sum() / max(mask.sum(), 1e-6))
    d = amp * mask * (y - cy) / (h / 8)
    return warp(img, d * 0 if axis == "y" else d, d if axis == "y" else d * 0)


def _regenerated(img, mask, rng, s):
    """Return ``img`` with the ``mask`` region re-synthesised: smoothed (a generator's missing sensor noise),
    slightly re-toned and blended back with a feathered rim, as talking-head generators paste a rendered mouth
    or eye region back into the frame."""
    fake = blur(img, rng.uniform(1.0, 1.5) * min(s, 1.5)) * (1 + rng.normal(0, 0.06, 3) * s)
    return blend(img, fake, feather(mask, 1.0))


def talking_head(real, donor, parts, rng, s):
    moved = _local_warp(real, parts["mouth"], rng.uniform(2.0, 3.5) * s, rng, "y")
    return _regenerated(moved, parts["mouth"], rng, s)


def atvg(real, donor, parts, rng, s):
    moved = _local_warp(real, parts["eyes"], rng.uniform(1.0, 2.0) * s, rng, "y")
    return _regenerated(moved, parts["eyes"], rng, s)


def sbs(real, donor, parts, rng, s):
    return tone(blendface(real, donor, parts, rng, s), parts["face"], rng, 0.6 * s)


def fomm(real, donor, parts, rng, s):
    h, w = real.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32) / h
    ph = rng.uniform(0, 2 * np.pi, 2)
    amp = rng.uniform(0.8, 1.8) * s * parts["face"]
    return warp(real, amp * np.sin(2 * np.pi * y + ph[0]), amp * np.sin(2 * np.pi * x + ph[1]))


def stylegan2(real, donor, parts, rng, s):
    return blend(real, checkerboard(real, rng.uniform(0.015, 0.035) * s), feather(parts["face"], 1.0))


def tone(img, mask, rng, s):
    shift = rng.normal(0, 0.08, 3) * s
    gain = 1 + rng.normal(0, 0.08) * s
    return blend(img, img * gain + shift, mask)


def maskgan(real, donor, parts, rng, s):
    part = parts["mouth"] if rng.random() < 0.5 else parts["hair"]
    amount = rng.uniform(0.6, 1.0)
    recoloured = blur(real[..., rng.permutation(3)] * amount + real * (1 - amount), 1.2)
    return blend(real, recoloured, feather(part, 1.0) * min(s, 1))


def stargan2(real, donor, parts, rng, s):
    edited = blur(tone(real, parts["face"], rng, s), rng.uniform(0.4, 0.9))
    edited += rng.normal(0, 0.015, real.shape)
    return blend(real, edited, feather(parts["face"], 1.0))


def scfegan(real, donor, parts, rng, s):
    h, w = real.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = rng.uniform(0.4, 0.7) * h, rng.uniform(0.35, 0.65) * w
    r = rng.uniform(0.12, 0.2) * h * min(max(s, 0.5), 1.5)
    hole = feather(((y - cy) ** 2 + (x - cx) ** 2 < r * r).astype(np.float32), 1.5)
    fill = blur(real, 3.0) * (1 + rng.normal(0, 0.05, 3) * s) + rng.normal(0, 0.005, real.shape)
    return blend(real, fill, hole)


def discofacegan(real, donor, parts, rng, s):
    q = int(rng.uniform(40, 70) / max(s, 0.5))
    shifted = jpeg(resample(real, rng.uniform(0.6, 0.85)), max(q, 10), tuple(rng.integers(1, 8, 2)))
    return blend(real, shifted, feather(parts["face"], 1.0))


METHODS: Dict[int, Method] = {m.id: m for m in (
    Method(1, "FaceShifter", "replaced", faceshifter),
    Method(2, "FS-GAN", "replaced", fsgan),
    Method(3, "DeepFakes", "replaced", deepfakes),
    Method(4, "BlendFace", "replaced", blendface),
    Method(5, "MMReplacement", "replaced", mmreplacement),
    Method(6, "DeepFakes-StarGAN-Stack", "replaced", dss),
    Method(7, "Talking-Head Video", "remained", talking_head),
    Method(8, "ATVG-Net", "remained", atvg),
    Method(9, "StarGAN-BlendFace-Stack", "replaced", sbs),
    Method(10, "First Order Motion", "remained", fomm),
    Method(11, "StyleGAN2", "remained", stylegan2),
    Method(12, "MaskGAN", "remained", maskgan),
    Method(13, "StarGAN2", "remained", stargan2),
    Method(14, "SC-FEGAN", "remained", scfegan),
    Method(15, "DiscoFaceGAN", "remained", discofacegan),
)}
ID_REPLACED = tuple(i for i, m in METHODS.items() if m.group == "replaced")
ID_REMAINED = tuple(i for i, m in METHODS.items() if m.group == "remained")


def triple_label(method: int, replaced: int = 1, remained: int = 2) -> int:
    """Return the 3-way label of a method id: 0 real, ``replaced`` for ID-replaced, ``remained`` for ID-remained."""
    if method == 0:
        return 0
    return replaced if METHODS[method].group == "replaced" else remained

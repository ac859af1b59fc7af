"""Face crops of listed videos from ForgeryNet-style boxes, per video or per frame, with a whole-frame fallback.

A video ``X.mp4`` may have a sidecar ``X_BB.txt`` next to it, written as the image sidecars are: ``x y w h
[score]`` in a 224-normalised frame (rescaled by W/224 and H/224, then clipped). *Our reading* of the per-video
and per-frame cases, since ForgeryNet documents only the image sidecar:

- one line: one box for the whole video (a per-video box);
- several lines: line ``i`` is frame ``i``'s box; a frame past the last line takes the last box;
- no sidecar (the documented fallback): the whole frame, resized, and the video is counted as uncropped.

Each box is enlarged ``forgery.crop_scale`` times (1.3, the maintainers' RetinaFace protocol) into a square
around its centre, clipped to the frame, and every crop is resized to the model's input size.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from nas.errors import NasError

__all__ = ["read_video_boxes", "boxes_for", "crop_frames"]


def read_video_boxes(video: Path) -> Optional[np.ndarray]:
    """Return the ``(K, 4)`` boxes of ``video``'s ``_BB.txt`` sidecar (None without one); a bad line raises."""
    side = video.with_name(video.stem + "_BB.txt")
    if not side.is_file():
        return None
    rows = []
    for n, line in enumerate(side.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            box = [float(v) for v in fields[:4]]
        except ValueError:
            box = []
        if len(box) < 4:
            raise NasError(f"{side.name[-60:]}:{n}: expected 'x y w h [score]' (224-normalised)")
        rows.append(box)
    if not rows:
        raise NasError(f"{side.name[-60:]} holds no box")
    return np.asarray(rows, dtype=np.float64)


def boxes_for(boxes: np.ndarray, frames: Sequence[int]) -> np.ndarray:
    """Return the box of each frame index: the per-video box, or frame i's line (the last line past the end)."""
    idx = np.minimum(np.asarray(frames, dtype=np.int64), len(boxes) - 1)
    return boxes[idx]


def _square(box: np.ndarray, w: int, h: int, scale: float):
    """Return the clipped square ``(x0, y0, x1, y1)`` of a 224-normalised box enlarged ``scale`` times."""
    x, y, bw, bh = box[0] * w / 224, box[1] * h / 224, box[2] * w / 224, box[3] * h / 224
    cx, cy, half = x + bw / 2, y + bh / 2, max(bw, bh) * scale / 2
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(w, int(cx + half)), min(h, int(cy + half))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else (0, 0, w, h)


def crop_frames(frames: np.ndarray, boxes: Optional[np.ndarray], scale: float, size: int) -> np.ndarray:
    """Return ``(T, size, size, 3)`` uint8 face crops of ``(T, H, W, 3)`` frames (one box per frame; None: whole)."""
    out = np.empty((len(frames), size, size, 3), np.uint8)
    h, w = frames.shape[1:3]
    for t, frame in enumerate(frames):
        x0, y0, x1, y1 = (0, 0, w, h) if boxes is None else _square(boxes[t], w, h, scale)
        out[t] = np.asarray(Image.fromarray(frame[y0:y1, x0:x1]).resize((size, size), Image.BILINEAR))
    return out

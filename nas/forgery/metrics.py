"""Face-forgery metrics as forgery papers and ForgeryNet's public evaluation report them; numpy only, no torch.

Scores are P(fake) and labels 0 (real) / 1 (fake). Maps are arrays in [0, 1] of any matching shape.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from nas.errors import NasError

__all__ = ["auc", "eer", "average_precision", "accuracy_at", "balanced_accuracy", "spatial_metrics",
           "spatial_sums", "finish_spatial", "region_sums", "finish_region", "AGREE_TAUS", "DIFF_TAUS", "tiou",
           "temporal_ap", "average_recall", "temporal_metrics", "TIOU_THRESHOLDS", "MAP_THRESHOLDS"]

AGREE_TAUS = (0.1, 0.2)  # ForgeryNet's "IoU_tau": pixel agreement of the maps binarised at tau
DIFF_TAUS = (0.01, 0.05, 0.1)  # ForgeryNet's "IoU_diff_tau": share of pixels with |p - g| <= tau
TIOU_THRESHOLDS = (0.5, 0.75, 0.9, 0.95)  # temporal AP thresholds reported (ForgeryNet / LAV-DF / DDNet union)
MAP_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.5:0.05:0.95, ActivityNet's mAP


def _binary(scores: Sequence[float], labels: Sequence[int]):
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if s.shape != y.shape:
        raise NasError(f"scores and labels differ in length ({s.size} vs {y.size})")
    if not np.isin(y, (0, 1)).all():
        raise NasError("labels must be 0 (real) or 1 (fake)")
    return s, y.astype(np.int64)


def _ranks(s: np.ndarray) -> np.ndarray:
    """Return 1-based ranks of ``s`` with ties given their mean rank."""
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    first = np.r_[True, sorted_s[1:] != sorted_s[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], s.size]
    mean_rank = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(s.size)
    ranks[order] = mean_rank[group]
    return ranks


def auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Return the ROC AUC: the Mann-Whitney statistic, a tie counting one half (NaN with one class only)."""
    s, y = _binary(scores, labels)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _ranks(s)
    return float((r[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _roc(s: np.ndarray, y: np.ndarray):
    """Return (fpr, tpr, thresholds) at every distinct score, from the highest threshold down."""
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[s[1:] != s[:-1], True]  # last index of each tie group
    tp = np.cumsum(y)[last]
    fp = np.cumsum(1 - y)[last]
    tpr = np.r_[0.0, tp / max(int(y.sum()), 1)]
    fpr = np.r_[0.0, fp / max(int((1 - y).sum()), 1)]
    return fpr, tpr, np.r_[np.inf, s[last]]


def eer(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Return the equal error rate: the FPR at the ROC point where |FNR - FPR| is smallest (DeepfakeBench's)."""
    s, y = _binary(scores, labels)
    if y.min() == y.max():
        return float("nan")
    fpr, tpr, _ = _roc(s, y)
    i = int(np.argmin(np.abs((1 - tpr) - fpr)))
    return float(fpr[i])


def average_precision(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Return AP: sum over thresholds of (recall step) x precision, ties taken together (sklearn's definition)."""
    s, y = _binary(scores, labels)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s, yy = s[order], y[order]
    last = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(yy)[last].astype(np.float64)
    seen = (np.flatnonzero(last) + 1).astype(np.float64)
    recall = np.r_[0.0, tp / n_pos]
    precision = tp / seen
    return float(np.sum(np.diff(recall) * precision))


def accuracy_at(scores: Sequence[float], labels: Sequence[int], threshold: float = 0.5) -> float:
    """Return the share of samples whose ``score >= threshold`` matches the label (ACC at 0.5 by default)."""
    s, y = _binary(scores, labels)
    return float(np.mean((s >= threshold).astype(np.int64) == y)) if s.size else float("nan")


def balanced_accuracy(predicted: Sequence[int], labels: Sequence[int]) -> float:
    """Return the mean per-class recall over the classes present in ``labels`` (ForgeryNet's "ACC")."""
    p, y = np.asarray(predicted).ravel(), np.asarray(labels).ravel()
    if p.shape != y.shape:
        raise NasError(f"predicted and labels differ in length ({p.size} vs {y.size})")
    classes = np.unique(y)
    if classes.size == 0:
        return float("nan")
    return float(np.mean([np.mean(p[y == c] == c) for c in classes]))


def spatial_sums(pred_maps: np.ndarray, gt_maps: np.ndarray) -> Dict[str, float]:
    """Return the pixel sums behind :func:`spatial_metrics`, to add up over batches."""
    p = np.asarray(pred_maps, dtype=np.float64)
    g = np.asarray(gt_maps, dtype=np.float64)
    if p.shape != g.shape:
        raise NasError(f"predicted and ground-truth maps differ in shape ({p.shape} vs {g.shape})")
    d = np.abs(p - g)
    out = {"pixels": float(p.size), "l1": float(d.sum())}
    for t in AGREE_TAUS:
        out[f"agree_{t:g}"] = float(np.sum((p >= t) == (g >= t)))
    for t in DIFF_TAUS:
        out[f"within_{t:g}"] = float(np.sum(d <= t))
    pb, gb = p >= 0.5, g >= 0.5
    out.update(inter=float(np.sum(pb & gb)), union=float(np.sum(pb | gb)), pred_pos=float(pb.sum()),
               gt_pos=float(gb.sum()))
    return out


def finish_spatial(sums: Dict[str, float]) -> Dict[str, float]:
    """Turn :func:`spatial_sums` (summed over a dataset) into the metrics of :func:`spatial_metrics`."""
    n = max(sums["pixels"], 1.0)
    out = {"l1": sums["l1"] / n}
    out.update({f"iou_{t:g}": sums[f"agree_{t:g}"] / n for t in AGREE_TAUS})
    out.update({f"iou_diff_{t:g}": sums[f"within_{t:g}"] / n for t in DIFF_TAUS})
    # Binary IoU / F1 at 0.5 (our addition); all-real data with no positive anywhere scores 1 (nothing to find).
    out["bin_iou"] = sums["inter"] / sums["union"] if sums["union"] else 1.0
    denom = sums["pred_pos"] + sums["gt_pos"]
    out["bin_f1"] = 2 * sums["inter"] / denom if denom else 1.0
    return out


def spatial_metrics(pred_maps: np.ndarray, gt_maps: np.ndarray) -> Dict[str, float]:
    """Return ForgeryNet's localization metrics of predicted vs ground-truth maps (all pixels pooled).

    ``l1``: mean |p - g|; ``iou_0.1`` / ``iou_0.2``: share of pixels where 1[p >= tau] == 1[g >= tau] (called IoU
    by ForgeryNet, but a pixel agreement); ``iou_diff_0.01`` / ``0.05`` / ``0.1``: share with |p - g| <= tau;
    ``bin_iou`` / ``bin_f1``: IoU and F1 of the maps binarised at 0.5 (our addition).
    """
    return finish_spatial(spatial_sums(pred_maps, gt_maps))


def tiou(a: Sequence[float], b: Sequence[float]) -> float:
    """Return the temporal IoU of two ``(start, end)`` intervals (0 when either is empty or they are disjoint)."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return float(inter / union) if union > 0 else 0.0


def _match(predictions: Dict, ground_truth: Dict, threshold: float, strict: bool):
    """Return (tp flags in descending score order, number of GT segments), each GT matched at most once."""
    flat = [(float(p[2]), vid, (float(p[0]), float(p[1]))) for vid, ps in predictions.items() for p in ps]
    flat.sort(key=lambda t: -t[0])  # stable: equal scores keep their listed order
    used = {vid: [False] * len(g) for vid, g in ground_truth.items()}
    tp = np.zeros(len(flat))
    for i, (_, vid, seg) in enumerate(flat):
        gts = ground_truth.get(vid, ())
        ious = [tiou(seg, g) for g in gts]
        # the best-overlapping GT still free (ActivityNet's order: GTs by descending tIoU)
        for j in sorted(range(len(gts)), key=lambda k: -ious[k]):
            ok = ious[j] > threshold if strict else ious[j] >= threshold
            if not ok:
                break
            if not used[vid][j]:
                used[vid][j] = True
                tp[i] = 1.0
                break
    return tp, sum(len(g) for g in ground_truth.values())


def _interpolated_ap(tp: np.ndarray, n_gt: int) -> float:
    """Return all-point interpolated AP: the area under the precision envelope (VOC 2010+ / ActivityNet)."""
    if n_gt == 0:
        return float("nan")
    if tp.size == 0:
        return 0.0
    ctp = np.cumsum(tp)
    recall = np.r_[0.0, ctp / n_gt, 1.0]
    precision = np.r_[0.0, ctp / np.arange(1, tp.size + 1), 0.0]
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # envelope: the best precision at any higher recall
    steps = np.flatnonzero(recall[1:] != recall[:-1]) + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * precision[steps]))


def temporal_ap(predictions: Dict, ground_truth: Dict, thresholds: Sequence[float] = TIOU_THRESHOLDS,
                strict: bool = False) -> Dict:
    """Return AP per tIoU threshold plus ``"mAP"`` (mean over 0.5:0.05:0.95) of forged-segment predictions.

    ``predictions`` maps a video id to ``(start, end, score)`` triples, ``ground_truth`` a video id to
    ``(start, end)`` pairs (videos with no forged segment map to an empty list). Predictions of all videos are
    ranked together by descending score; each takes the free GT of its video it overlaps most, at tIoU >=
    threshold (``strict``: > threshold, LAV-DF's rule); each GT is matched at most once, so a duplicate is a FP.
    """
    out: Dict = {}
    for t in sorted(set(float(x) for x in thresholds) | set(MAP_THRESHOLDS)):
        out[t] = _interpolated_ap(*_match(predictions, ground_truth, t, strict))
    mean = float(np.mean([out[t] for t in MAP_THRESHOLDS]))
    out = {t: v for t, v in out.items() if t in {float(x) for x in thresholds}}
    out["mAP"] = mean
    return out


def average_recall(predictions: Dict, ground_truth: Dict, top_n: int,
                   thresholds: Sequence[float] = MAP_THRESHOLDS) -> float:
    """Return AR@N: recall of the GT segments by each video's N best proposals, averaged over the thresholds."""
    n_gt = sum(len(g) for g in ground_truth.values())
    if n_gt == 0:
        return float("nan")
    recalls = []
    for t in thresholds:
        hit = 0
        for vid, gts in ground_truth.items():
            top = sorted(predictions.get(vid, ()), key=lambda p: -float(p[2]))[:top_n]
            hit += sum(any(tiou(p, g) >= t for p in top) for g in gts)
        recalls.append(hit / n_gt)
    return float(np.mean(recalls))


def temporal_metrics(predictions: Dict, ground_truth: Dict, thresholds: Sequence[float] = TIOU_THRESHOLDS,
                     top_ns: Sequence[int] = (2, 5, 100), strict: bool = False) -> Dict[str, float]:
    """Return ``ap_0.5`` ... ``ap_0.95``, ``mAP`` and ``ar_2`` / ``ar_5`` / ``ar_100`` as one flat row."""
    ap = temporal_ap(predictions, ground_truth, thresholds, strict)
    row = {f"ap_{t:g}": v for t, v in ap.items() if t != "mAP"}
    row["mAP"] = ap["mAP"]
    row.update({f"ar_{n}": average_recall(predictions, ground_truth, n) for n in top_ns})
    return row


def region_sums(region_prob: np.ndarray, gt_maps: np.ndarray, fake: np.ndarray, tau: float) -> Dict[str, float]:
    """Return the pixel sums of the manipulated-region metrics: IoU / F1 pooled over the *fake* images of the
    predicted region (probability >= 0.5) against the true one (grey map >= ``tau``), and false alarms on reals."""
    p = np.asarray(region_prob) >= 0.5
    g = np.asarray(gt_maps) >= tau
    f = np.asarray(fake, dtype=bool)
    pf, gf = p[f], g[f]
    inter = float(np.sum(pf & gf))
    return {"inter": inter, "union": float(np.sum(pf | gf)), "pred": float(pf.sum()), "gt": float(gf.sum()),
            "real_alarm": float(p[~f].sum()), "real_pixels": float(p[~f].size)}


def finish_region(sums: Dict[str, float]) -> Dict[str, float]:
    """Turn :func:`region_sums` (summed over a dataset) into ``bin_iou``, ``bin_f1`` (fakes) and ``real_alarm``
    (the share of real images' pixels called manipulated); with nothing to find and nothing found, IoU is 1."""
    out = {"bin_iou": sums["inter"] / sums["union"] if sums["union"] else 1.0}
    denom = sums["pred"] + sums["gt"]
    out["bin_f1"] = 2 * sums["inter"] / denom if denom else 1.0
    if sums["real_pixels"]:
        out["real_alarm"] = sums["real_alarm"] / sums["real_pixels"]
    return out

"""Video forgery models on derived backbones: clip/frame scoring with pooling, and temporal localization.

``VideoScorer`` classifies whole videos: a video genotype's backbone scores consecutive clips, an image
genotype's backbone scores single frames, and the scores are pooled over the video (mean, max or top-k mean).

``TemporalScorer`` classifies whole videos from temporal cues instead: the localizer's per-frame features and
change features over the whole video, 1-D convolutions, and per-frame fake logits pooled over the video.

``TemporalLocalizer`` finds forged segments. Per-frame features come from the backbone pooled over space only,
``(N, C, T)``; a 1-D temporal head predicts per-frame fake probability and segment start and end probabilities.
This is our reading of the BSN/BMN family (Lin et al. 2018, 2019: BSN's temporal evaluation module), not a copy
of either: BMN's boundary-matching confidence map is left out. Proposals come from grouping (runs of frames
above several thresholds) plus start/end pairs, are scored by mean fake probability x start x end probability,
and are thinned by Gaussian Soft-NMS (Bodla et al. 2017). With ``head="frame"`` the head is a per-frame
classifier only (no boundaries) and proposals come from grouping alone: the per-frame-scoring baseline.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from nas.errors import NasError
from nas.forgery.losses import balance_weights
from nas.forgery.metrics import tiou

__all__ = ["load_backbone", "POOLS", "HEADS", "pool_scores", "FrameFeatures", "VideoScorer", "TemporalHead",
           "TemporalLocalizer", "TemporalScorer", "frame_changes", "boundary_targets", "weighted_bce",
           "localization_loss", "proposals", "soft_nms", "GROUP_THRESHOLDS"]

POOLS = ("mean", "max", "topk")
HEADS = ("tem", "frame")
GROUP_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # actionness levels the grouping proposals are cut at
CHANGE_GRID = 2  # frame_changes: the frame split into CHANGE_GRID x CHANGE_GRID cells besides the whole frame


def pool_scores(logits: torch.Tensor, how: str, k: int = 2) -> torch.Tensor:
    """Pool per-clip or per-frame fake logits ``(N, K)`` into video logits ``(N,)``: mean, max or top-k mean."""
    if how == "mean":
        return logits.mean(1)
    if how == "max":
        return logits.max(1).values
    if how == "topk":
        return logits.topk(min(k, logits.shape[1]), dim=1).values.mean(1)
    raise NasError(f"eval.pool must be one of {'|'.join(POOLS)}, got {str(how)[:40]!r}")


_PREFIXES = ("features.backbone.", "backbone.", "a.net.", "")  # video forgery, detector, plain model/backbone


def load_backbone(backbone: nn.Module, state: Dict[str, torch.Tensor], source: str = "the weights") -> None:
    """Load a backbone from a state dict of any nas model holding it (retrained video or image checkpoint, supernet).

    The backbone's keys are looked up bare (a classifier model, a supernet's extract) or under the prefixes the
    video forgery models and the image forgery detector keep it at; every tensor must be there with its shape.
    """
    own = backbone.state_dict()
    for prefix in _PREFIXES:
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if all(k in sub and tuple(sub[k].shape) == tuple(own[k].shape) for k in own):
            backbone.load_state_dict({k: sub[k] for k in own})
            return
    raise NasError(f"{source} do not fit this backbone (another genotype or model.width?)")


class _BackboneInit:
    """``load_backbone_state`` for :func:`nas.train.weights.apply_init`: backbone weights in, heads stay fresh."""

    def load_backbone_state(self, state: Dict[str, torch.Tensor], genotype=None) -> List[str]:
        """Load the backbone from ``state``; return the part loaded."""
        load_backbone(self._backbone(), state)
        return ["backbone"]


class FrameFeatures(nn.Module):
    """Per-frame features ``(N, C, T)`` of ``(N, 3, T, H, W)`` videos, pooled over space only.

    A video backbone (pv_st) runs on the whole input and keeps time (it has no temporal stride); an image
    backbone runs on every frame separately.
    """

    def __init__(self, backbone: nn.Module, video: bool):
        super().__init__()
        self.backbone, self.video = backbone, video
        self.num_features: int = backbone.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.video:
            return self.backbone.forward_features(x).mean((3, 4))
        n, t = x.shape[0], x.shape[2]
        f = self.backbone(x.transpose(1, 2).flatten(0, 1))  # (N*T, C)
        return f.view(n, t, -1).transpose(1, 2)


class VideoScorer(_BackboneInit, nn.Module):
    """Score a video real/fake: fake logits of clips (video backbone) or frames (image backbone), then pooled.

    ``forward`` returns ``{"logit": (N,), "parts": (N, K)}`` with K clips or frames per video.
    """

    def __init__(self, backbone: nn.Module, video: bool, clip: int, pool: str, topk: int, dropout: float = 0.0):
        super().__init__()
        self.backbone, self.video, self.clip, self.pool, self.topk = backbone, video, clip, pool, topk
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(backbone.num_features, 1)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        n, t = x.shape[0], x.shape[2]
        if self.video:  # (N, 3, T, H, W) -> K = T / clip consecutive clips
            k = t // self.clip
            clips = x[:, :, : k * self.clip].unflatten(2, (k, self.clip)).permute(0, 2, 1, 3, 4, 5)
            f = self.backbone(clips.flatten(0, 1))
        else:
            k = t
            f = self.backbone(x.transpose(1, 2).flatten(0, 1))
        parts = self.fc(self.dropout(f)).view(n, k)
        return {"logit": pool_scores(parts, self.pool, self.topk), "parts": parts}

    def _backbone(self) -> nn.Module:
        return self.backbone


class TemporalHead(nn.Module):
    """1-D convolutions over ``(N, C, T)``: fake, start and end logits per frame (``(N, 3, T)``; 1 row for frame)."""

    def __init__(self, channels: int, hidden: int = 128, head: str = "tem"):
        super().__init__()
        if head not in HEADS:
            raise NasError(f"forgery.temporal_head must be one of {'|'.join(HEADS)}, got {str(head)[:40]!r}")
        self.head = head
        if head == "frame":  # per-frame scoring: each frame on its own, no temporal context
            self.net = nn.Conv1d(channels, 1, 1)
        else:
            self.net = nn.Sequential(nn.Conv1d(channels, hidden, 3, padding=1), nn.ReLU(inplace=True),
                                     nn.Conv1d(hidden, hidden, 3, padding=1), nn.ReLU(inplace=True),
                                     nn.Conv1d(hidden, 3, 1))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.net(f)


def frame_changes(x: torch.Tensor, grid: int = CHANGE_GRID) -> torch.Tensor:
    """Return per-frame change features ``(N, 2 (1 + grid^2), T)`` of ``(N, 3, T, H, W)`` videos.

    The mean absolute difference to the previous and to the next frame, over the whole frame and over each cell
    of a ``grid`` x ``grid`` split (0 where there is no neighbour). Swapped-in segments flicker (the fake's blend
    and generator change from frame to frame while the source moves smoothly), so these are the trivial
    frame-difference detector's cue, given to the head per frame and per region.
    """
    d = (x[:, :, 1:] - x[:, :, :-1]).abs().mean(1)  # (N, T - 1, H, W)
    cells = nn.functional.adaptive_avg_pool2d(d, grid).flatten(2)  # (N, T - 1, grid^2)
    per = torch.cat([d.mean((2, 3))[:, :, None], cells], 2)  # (N, T - 1, 1 + grid^2)
    zero = per.new_zeros(per.shape[0], 1, per.shape[2])
    return torch.cat([torch.cat([zero, per], 1), torch.cat([per, zero], 1)], 2).transpose(1, 2)


class TemporalLocalizer(_BackboneInit, nn.Module):
    """Backbone features over time plus the temporal head: ``{"fake", "start", "end"}`` logits ``(N, T)``.

    With ``changes`` the head also reads :func:`frame_changes` (batch-normalised), beside the backbone's features.
    """

    def __init__(self, backbone: nn.Module, video: bool, hidden: int = 128, head: str = "tem", changes: bool = False):
        super().__init__()
        self.features = FrameFeatures(backbone, video)
        extra = 2 * (1 + CHANGE_GRID ** 2) if changes else 0
        self.changes = nn.BatchNorm1d(extra) if changes else None
        self.head = TemporalHead(self.features.num_features + extra, hidden, head)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        f = self.features(x)
        if self.changes is not None:
            f = torch.cat([f, self.changes(frame_changes(x))], 1)
        y = self.head(f)
        out = {"fake": y[:, 0]}
        if y.shape[1] == 3:
            out.update(start=y[:, 1], end=y[:, 2])
        return out

    def _backbone(self) -> nn.Module:
        return self.features.backbone


class TemporalScorer(TemporalLocalizer):
    """Score a video real/fake from temporal cues: the localizer's 1-D convolutions over per-frame backbone features
    and :func:`frame_changes` give a fake logit per frame, pooled over the video by ``pool`` (mean, max, topk).

    ``forward`` returns ``{"logit": (N,), "parts": (N, T)}`` (one part per frame slot), as :class:`VideoScorer`,
    plus the localizer's ``start`` and ``end`` logits, which a per-frame loss (``forgery.part_weight``) trains as
    the temporal task does. A swap shows in the change of a frame against its neighbours (a step where a segment
    starts and ends, flicker inside), which a clip or frame scorer pooled over the video does not compare.
    """

    def __init__(self, backbone: nn.Module, video: bool, pool: str, topk: int, hidden: int = 128,
                 changes: bool = True):
        super().__init__(backbone, video, hidden, "tem", changes)
        self.pool, self.topk = pool, topk

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        out = super().forward(x)
        parts = out.pop("fake")
        return {"logit": pool_scores(parts, self.pool, self.topk), "parts": parts, **out}


def boundary_targets(slots: torch.Tensor, width: int = 1) -> Tuple[torch.Tensor, torch.Tensor]:
    """Return start and end targets ``(N, T)`` from slot labels: 1 within ``width`` slots of a boundary (BSN)."""
    pad = nn.functional.pad(slots, (1, 1))
    start = ((pad[:, 1:-1] > 0.5) & (pad[:, :-2] < 0.5)).float()
    end = ((pad[:, 1:-1] > 0.5) & (pad[:, 2:] < 0.5)).float()
    if width > 0:
        k = 2 * width + 1
        start = nn.functional.max_pool1d(start[:, None], k, 1, width)[:, 0]
        end = nn.functional.max_pool1d(end[:, None], k, 1, width)[:, 0]
    return start, end


def weighted_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return BCE on ``logits`` with positives and negatives weighted to equal total weight (BSN's ratio
    weighting, :func:`nas.forgery.losses.balance_weights`)."""
    return nn.functional.binary_cross_entropy_with_logits(logits.float(), target.float(),
                                                          weight=balance_weights(target))


def localization_loss(fake: torch.Tensor, slots: torch.Tensor, start: Optional[torch.Tensor] = None,
                      end: Optional[torch.Tensor] = None, width: int = 1) -> torch.Tensor:
    """Return weighted BCE of per-slot fake logits ``(N, T)`` against slot labels, plus (when given) of the start
    and end logits against :func:`boundary_targets` ``width`` slots wide (BSN's temporal evaluation loss)."""
    total = weighted_bce(fake, slots)
    if start is not None:
        s, e = boundary_targets(slots, width)
        total = total + weighted_bce(start, s) + weighted_bce(end, e)
    return total


def _runs(mask: np.ndarray) -> List[Tuple[int, int]]:
    """Return the ``[s, e)`` runs of True in a 1-D mask."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _peaks(p: np.ndarray) -> List[int]:
    """Return candidate boundaries: local maxima of ``p`` or values above half its maximum (BSN's rule)."""
    left, right = np.r_[-1.0, p[:-1]], np.r_[p[1:], -1.0]
    return np.flatnonzero(((p > left) & (p > right)) | (p > 0.5 * p.max())).tolist()


def proposals(fake: np.ndarray, start: np.ndarray = None, end: np.ndarray = None,
              thresholds: Sequence[float] = GROUP_THRESHOLDS, max_len: int = 0) -> List[Tuple[int, int, float]]:
    """Return scored ``(s, e, score)`` segments (slot units, end exclusive) from one video's probabilities.

    Grouping: every run of slots with fake probability >= each threshold. Pairs (when start/end are given):
    each candidate start with each candidate end at or after it (``max_len`` slots at most; 0: any). A segment
    scores mean fake probability inside x start[s] x end[e - 1]; duplicates keep their best score.
    """
    t = len(fake)
    cands = {seg for th in thresholds for seg in _runs(fake >= th)}
    if start is not None:
        for s in _peaks(start):
            for e in _peaks(end):
                if e >= s and (not max_len or e + 1 - s <= max_len):
                    cands.add((s, e + 1))
    out = []
    for s, e in cands:
        score = float(fake[s:e].mean())
        if start is not None:
            score *= float(start[s] * end[min(e, t) - 1])
        out.append((s, e, score))
    return sorted(out, key=lambda p: -p[2])


def soft_nms(segments: Sequence[Tuple[float, float, float]], sigma: float = 0.4, top: int = 100,
             min_score: float = 1e-4) -> List[Tuple[float, float, float]]:
    """Return up to ``top`` segments after Gaussian Soft-NMS: overlapping scores decay by ``exp(-tIoU^2 / sigma)``."""
    rest = [list(s) for s in segments]
    kept: List[Tuple[float, float, float]] = []
    while rest and len(kept) < top:
        i = max(range(len(rest)), key=lambda j: rest[j][2])
        best = rest.pop(i)
        if best[2] < min_score:
            break
        kept.append((best[0], best[1], best[2]))
        for r in rest:
            r[2] *= float(np.exp(-tiou(best, r) ** 2 / sigma))
    return kept

"""Temporal forgery localization (``forgery_temporal``): find the forged segments of a video.

The backbone gives per-frame features pooled over space, ``(N, C, T)``, at the ``data.temporal_length`` slots
each video is resampled to; the temporal head of :mod:`nas.forgery.temporal` predicts per-slot fake, start and
end probabilities (our reading of the BSN/BMN family), proposals come from grouping and start/end pairs,
Soft-NMS thins them, and each proposal ``[s, e)`` in slots maps back to frames ``[s n / T, e n / T)`` of an
``n``-frame video before it is matched against the listed segments (AP at tIoU 0.5/0.75/0.9/0.95, mAP over
0.5:0.05:0.95, AR@2/5/100). The video-level AUC of the highest per-slot fake probability is reported too.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import numpy as np
import torch
from torch import nn

from nas.forgery import metrics as M
from nas.tasks.forgery_video import VideoForgeryBase, is_video, video_backbone, video_scores

__all__ = ["ForgeryTemporalTask", "localize"]


def localize(fake: np.ndarray, start, end, n_frames: float, sigma: float) -> List[tuple]:
    """Return one video's Soft-NMS-thinned proposals ``(start, end, score)`` in frames of the original video."""
    from nas.forgery.temporal import proposals, soft_nms

    t = len(fake)
    segs = soft_nms(proposals(fake, start, end), sigma=sigma)
    scale = n_frames / t
    return [(s * scale, e * scale, score) for s, e, score in segs]


class ForgeryTemporalTask(VideoForgeryBase):
    """Per-slot fake/start/end probabilities on backbone features over time, turned into scored segments."""

    name = "forgery_temporal"
    primary = "mAP"
    scalars = ("val_loss", "mAP", "ap_0.5", "ap_0.75", "ap_0.9", "ap_0.95", "ar_2", "ar_5", "ar_100", "video_auc",
               *(f"{kind}_{b}_{m}" for b in ("whole", "whole_called", "whole_true")
                 for m in ("mAP", "ap_0.5", "ap_0.75", "ap_0.9", "ap_0.95") for kind in ("base", "beats")),
               "base_framediff_video_auc", "beats_framediff_video_auc")
    sigma = 0.4  # Soft-NMS decay; set from forgery.soft_nms_sigma when the model is built

    def build_model(self, genotype: Any, cfg: Any, num_classes: int) -> nn.Module:
        """Return the backbone's per-frame features with the temporal head of ``forgery.temporal_head``."""
        from nas.forgery.temporal import TemporalLocalizer

        self.sigma = cfg.forgery.soft_nms_sigma
        return TemporalLocalizer(video_backbone(genotype, cfg), is_video(genotype), head=cfg.forgery.temporal_head,
                                 changes=cfg.forgery.temporal_changes)

    def loss(self, cfg: Any) -> Callable:
        """Return :func:`nas.forgery.temporal.localization_loss` of the per-slot fake (and start / end) logits,
        boundary targets ``forgery.boundary_width`` slots wide."""
        from nas.data.forgery_video import split_video_target
        from nas.forgery.temporal import localization_loss

        width = cfg.forgery.boundary_width

        def fn(out: Dict[str, torch.Tensor], y: torch.Tensor) -> torch.Tensor:
            return localization_loss(out["fake"], split_video_target(y)["slots"], out.get("start"), out.get("end"),
                                     width)

        return fn

    def batch_metrics(self, output: Dict[str, torch.Tensor], target: torch.Tensor) -> Dict[str, Any]:
        """Return the summed per-slot BCE and, per video, probabilities, frame count and ground-truth segments."""
        from nas.data.forgery_video import split_video_target

        t = split_video_target(target)
        fake = output["fake"].float()
        loss = nn.functional.binary_cross_entropy_with_logits(fake, t["slots"], reduction="none").mean(1).sum()
        out: Dict[str, Any] = {"loss": float(loss), "fake": torch.sigmoid(fake).tolist(),
                               "frames": t["frames"].tolist(), "gt": t["segments"], "y": t["binary"].tolist(),
                               "framediff": t["framediff"].tolist()}
        if "start" in output:
            out.update(start=torch.sigmoid(output["start"].float()).tolist(),
                       end=torch.sigmoid(output["end"].float()).tolist())
        return out

    def finish_metrics(self, sums: Dict[str, Any], n: int) -> Dict[str, float]:
        """Return val_loss, temporal AP / mAP / AR of the proposals, and the video AUC of max P(fake)."""
        preds, gts = {}, {}
        for i, fake in enumerate(sums.get("fake", [])):
            start = np.asarray(sums["start"][i]) if "start" in sums else None
            end = np.asarray(sums["end"][i]) if "end" in sums else None
            preds[i] = localize(np.asarray(fake), start, end, sums["frames"][i], self.sigma)
            gts[i] = sums["gt"][i]
        from nas.data.forgery_labels import check_two_classes
        from nas.forgery import baselines as B

        y = np.asarray(sums.get("y", []), np.int64)
        check_two_classes(y.tolist(), "the validation pass")
        row = {"val_loss": float(sums.get("loss", 0.0)) / max(n, 1), **M.temporal_metrics(preds, gts)}
        top = np.asarray([max(f) for f in sums.get("fake", [])])
        row["video_auc"] = video_scores(top, y)["auc"]
        bases = B.temporal_baselines(sums["frames"], gts, top, y)
        bases["base_framediff_video_auc"] = M.auc(sums["framediff"], y)
        row.update(B.compare(row, bases))
        B.check_finite(row)
        return row

    def describe(self, cfg: Any, genotype: Any) -> Dict[str, Any]:
        """Return the head, the resampling and the Soft-NMS decay."""
        return {**super().describe(cfg, genotype), "temporal_head": cfg.forgery.temporal_head,
                "temporal_changes": cfg.forgery.temporal_changes,
                "boundary_width": cfg.forgery.boundary_width,
                "soft_nms_sigma": cfg.forgery.soft_nms_sigma, "tiou_rule": ">= threshold",
                "frame_mapping": "slot t of T covers frames [t n / T, (t + 1) n / T) of an n-frame video"}

    def log_line(self, row: Dict[str, Any]) -> str:
        """Return losses, AP@0.5 / 0.75 / 0.95, mAP and AR@5."""
        from nas.forgery.baselines import beside

        whole = ("whole", "whole_called", "whole_true")
        shown = beside(row, {"ap_0.5": (), "ap_0.75": (), "ap_0.95": (), "mAP": whole, "ar_5": (),
                             "video_auc": ("framediff",)})
        return f"train loss {row['train_loss']:.4f} val loss {row['val_loss']:.4f} {shown}"

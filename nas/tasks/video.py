"""Video classification: clip lists decoded with PyAV, or the embedded video set; top-1/top-5 as for images.

With ``eval.clips`` x ``eval.crops`` > 1 the validation clips are multi-view (``[V, 3, T, S, S]``), the model
returns per-view logits, and the metrics are single-view top-1/top-5 (the middle clip's centre crop) plus
multi-view ``mv_top1``/``mv_top5`` over the views' mean logits (TSM's 10-clip x 3-crop protocol).
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from nas.data.video import align_labels
from nas.data.video_augment import TrainAugment
from nas.errors import NasError
from nas.tasks.base import Datasets
from nas.tasks.classification import _Classifier

__all__ = ["VideoClassificationTask", "align_labels"]


class VideoClassificationTask(_Classifier):
    """Classify clips: the embedded motion set by default, or mmaction2/Kinetics/SSv2 lists under a data root."""

    name = "video_classification"
    modality = "video"
    scalars = ("val_loss", "top1", "top5", "majority_top1", "mv_top1", "mv_top5", "ema_top1", "ema_top5")
    reads = _Classifier.reads + ("data.train_list", "data.val_list", "video", "eval.clips", "eval.crops")

    def check(self, cfg: Any, genotype: Any) -> None:
        """Also refuse half-given clip lists, and multi-view testing without them."""
        super().check(cfg, genotype)
        d = cfg.data
        if (d.root or d.train_list or d.val_list) and not (d.root and d.train_list and d.val_list):
            raise NasError(f"video retraining reads clip lists: give all of --data-root, --train-list and --val-list "
                           f"({genotype.space} is a video space; a --data folder is for image genotypes)")
        if cfg.eval.views > 1 and not d.train_list:
            raise NasError("eval.clips / eval.crops > 1 need video lists (--data-root, --train-list, --val-list); "
                           "the embedded set has one view per clip")

    def datasets(self, cfg: Any, genotype: Any) -> Datasets:
        """Return the clip lists of ``cfg.data``, or the embedded motion set when none are given."""
        from nas.spaces import get_space
        from nas.data.video_synthetic import SyntheticMotion

        d = cfg.data
        frames = d.frames or get_space(genotype.space).example_input_shape(cfg.resolution)[2]
        if not (d.root or d.train_list or d.val_list):
            return Datasets(SyntheticMotion(d.train_size, frames, cfg.resolution, d.seed),
                            SyntheticMotion(d.val_size, frames, cfg.resolution, d.seed + 1),
                            len(SyntheticMotion.classes))
        return _list_datasets(cfg, frames)

    def batch_metrics(self, output: torch.Tensor, target: torch.Tensor) -> Dict[str, float]:
        """Return the sums of the single-view metrics and, for per-view outputs ``(N, V, K)``, multi-view ones."""
        if output.dim() == 2:
            return super().batch_metrics(output, target)
        single = output[:, 0]  # VideoListDataset puts the single-view clip (middle clip, centre crop) first
        sums = super().batch_metrics(single, target)
        multi = super().batch_metrics(output.mean(1), target)
        sums.update({"mv_hits1": multi["hits1"], "mv_hits5": multi["hits5"]})
        return sums

    def finish_metrics(self, sums: Dict[str, float], n: int) -> Dict[str, float]:
        """Return mean loss and top-1/top-5 in percent (and the multi-view ones when measured)."""
        out = super().finish_metrics(sums, n)
        if "mv_hits1" in sums:
            d = max(n, 1)
            out.update({"mv_top1": 100.0 * sums["mv_hits1"] / d, "mv_top5": 100.0 * sums["mv_hits5"] / d})
        return out

    def log_line(self, row: Dict[str, Any]) -> str:
        """Return the image line, plus the multi-view top-1/top-5 when measured."""
        line = super().log_line(row)
        return line + (f" mv top1 {row['mv_top1']:.2f} top5 {row['mv_top5']:.2f}" if "mv_top1" in row else "")


def _list_datasets(cfg: Any, frames: int) -> Datasets:
    """Return the decoded clip lists of ``cfg.data`` (validation labels mapped onto the training classes)."""
    from nas.data import video

    d = cfg.data
    train_rec, names = video.parse_list(d.train_list)
    val_rec, val_names = video.parse_list(d.val_list, num_classes=len(names) or None)
    val_rec = align_labels(val_rec, val_names, names, d.val_list)
    v = cfg.video
    kw = {"frames": frames, "size": cfg.resolution, "seed": d.seed, "sampling": v.sampling, "stride": v.stride,
          "short_side": v.short_side}
    num_classes = len(names) or 1 + max(r.label for r in train_rec + val_rec)
    if any(c >= num_classes for pair in v.flip_pairs for c in pair):
        raise NasError(f"video.flip_pairs names a class >= the {num_classes} classes of {d.train_list[-80:]}")
    augment = TrainAugment(v.scales, v.max_distort, v.flip, v.flip_pairs)
    return Datasets(video.VideoListDataset(train_rec, d.root, train=True, augment=augment, **kw),
                    video.VideoListDataset(val_rec, d.root, train=False, num_clips=cfg.eval.clips,
                                           num_crops=cfg.eval.crops, **kw), num_classes)

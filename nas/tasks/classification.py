"""Image classification, today's default task: the embedded shapes set or an image folder, top-1/top-5."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

import torch
from torch import nn

from nas.errors import NasError
from nas.tasks.base import Datasets, Task, model_options

__all__ = ["ClassificationTask", "accuracy"]

def accuracy(logits: torch.Tensor, target: torch.Tensor, topk: Tuple[int, ...] = (1, 5)) -> Tuple[int, ...]:
    """Return the number of samples whose label is among the top-k logits, for each k (capped at #classes)."""
    k_max = min(max(topk), logits.shape[1])
    pred = logits.topk(k_max, dim=1).indices
    hit = pred.eq(target[:, None])
    return tuple(int(hit[:, : min(k, k_max)].any(dim=1).sum()) for k in topk)


class _Classifier(Task):
    """What image and video classification share: the model, label-smoothed training loss, top-1/top-5."""

    primary = "top1"
    scalars = ("val_loss", "top1", "top5", "majority_top1", "ema_top1", "ema_top5")
    reads = ("model.dropout", "model.width", "model.stem_stride")

    def build_model(self, genotype: Any, cfg: Any, num_classes: int) -> nn.Module:
        """Return the genotype's backbone plus a linear classifier (``nas.create_model``) at ``cfg.model``'s options."""
        from nas.spaces import create_model

        return create_model(genotype, num_classes=num_classes, **model_options(cfg, genotype))

    def loss(self, cfg: Any) -> Callable:
        """Return cross-entropy with the config's label smoothing."""
        return nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)

    def batch_metrics(self, output: torch.Tensor, target: torch.Tensor) -> Dict[str, Any]:
        """Return the summed plain cross-entropy (no smoothing: comparable across recipes), top-k hits and labels."""
        h1, h5 = accuracy(output, target)
        return {"loss": float(nn.functional.cross_entropy(output, target, reduction="sum")), "hits1": h1,
                "hits5": h5, "labels": target.tolist()}

    def finish_metrics(self, sums: Dict[str, Any], n: int) -> Dict[str, float]:
        """Return mean loss, top-1/top-5 in percent, and the majority-class baseline on the same samples.

        ``majority_top1`` / ``majority_top5`` are what always answering the most frequent class (the five most
        frequent) scores on the samples just evaluated: the trivial baseline every top-1 is printed beside.
        """
        d = max(n, 1)
        out = {"val_loss": sums.get("loss", 0.0) / d, "top1": 100.0 * sums.get("hits1", 0) / d,
               "top5": 100.0 * sums.get("hits5", 0) / d}
        if sums.get("labels"):
            counts = sorted(Counter(sums["labels"]).values(), reverse=True)
            out.update({"majority_top1": 100.0 * counts[0] / d, "majority_top5": 100.0 * sum(counts[:5]) / d})
        return out

    def log_line(self, row: Dict[str, Any]) -> str:
        """Return losses, top-1/top-5 (beside the majority class's) and the EMA's top-1 of an epoch."""
        ema = f" ema top1 {row['ema_top1']:.2f}" if "ema_top1" in row else ""
        base = f" (majority class {row['majority_top1']:.2f})" if "majority_top1" in row else ""
        return (f"train loss {row['train_loss']:.4f} val loss {row['val_loss']:.4f} top1 {row['top1']:.2f}{base} "
                f"top5 {row['top5']:.2f}{ema}")


class ClassificationTask(_Classifier):
    """Classify images: the embedded shapes set by default, or an ImageNet-style folder (``data.root``)."""

    name = "classification"
    modality = "image"

    def check(self, cfg: Any, genotype: Any) -> None:
        """Also refuse a data folder that is not there."""
        super().check(cfg, genotype)
        if cfg.data.root is not None and not Path(cfg.data.root).is_dir():
            raise NasError(f"data folder not found: {cfg.data.root}")

    def datasets(self, cfg: Any, genotype: Any) -> Datasets:
        """Return the embedded shapes set at ``cfg.resolution``, or the folder ``cfg.data.root``."""
        if cfg.data.root is None:
            from nas.data.synthetic import ShapesSpec, shapes_datasets

            spec = ShapesSpec(train=cfg.data.train_size, val=cfg.data.val_size, resolution=cfg.resolution,
                              seed=cfg.data.seed)
            return Datasets(*shapes_datasets(spec))
        from nas.data.folders import image_folder_datasets

        d = cfg.data
        train, val, classes = image_folder_datasets(d.root, cfg.resolution, d.val_fraction, d.seed)
        return Datasets(train, val, len(classes))

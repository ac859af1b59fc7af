"""Video face-forgery classification (``forgery_video``): is the video real or fake, scored per video.

A video genotype's backbone scores consecutive clips, an image genotype's backbone scores frames, and the
scores are pooled over the video (``eval.pool``: mean, max or topk). Each video is resampled to
``data.temporal_length`` frames; a clip is ``data.frames`` of them (default: the space's clip length), so a
video gives ``temporal_length // frames`` clips. Training pools the same way as evaluation, so max and top-k
pooling train as multiple-instance learning on the video label. AUC and ACC are per video, never per frame.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch
from torch import nn

from nas.errors import NasError
from nas.data.forgery_video import split_video_target
from nas.forgery import metrics as M
from nas.tasks.base import Datasets, Task, model_options

__all__ = ["ForgeryVideoTask", "VideoForgeryBase", "is_video", "video_backbone", "embedded_video_spec"]


def is_video(genotype: Any) -> bool:
    """Return whether the genotype's space takes clips (``(N, 3, T, H, W)``)."""
    from nas.plugins import get_plugin

    return get_plugin(genotype.space).modality == "video"


def video_backbone(genotype: Any, cfg: Any) -> nn.Module:
    """Return the genotype's backbone at ``model.width`` (and ``model.stem_stride`` for st_topo)."""
    from nas.spaces import create_backbone

    return create_backbone(genotype, **model_options(cfg, genotype, backbone=True))


def clip_frames(cfg: Any, genotype: Any) -> int:
    """Return the frames of one clip: ``data.frames``, else the video space's own clip length (1 for images)."""
    from nas.spaces import get_space

    if not is_video(genotype):
        return 1
    return cfg.data.frames or get_space(genotype.space).example_input_shape(cfg.resolution)[2]


class VideoForgeryBase(Task):
    """What both video forgery tasks share: checks, the embedded set or ForgeryNet video lists, the backbone."""

    modality = None  # video genotypes run on clips, image genotypes on frames
    reads = ("forgery", "model.width", "model.stem_stride", "data.train_list", "data.val_list", "data.temporal_length")
    default_recipe = None  # without a recipe: the real network (width 1) on the config defaults

    def cost(self, genotype: Any, resolution: Optional[int] = None, num_classes: Optional[int] = None,
             **options: Any) -> Any:
        """Refuse: the video detectors (frame pooling, temporal head) have no cost count yet."""
        raise NasError(f"nas.cost has no count for task {self.name!r} yet (image forgery tasks and the spaces' "
                       "own models only)")

    def check(self, cfg: Any, genotype: Any) -> None:
        """Refuse image-forgery-only keys, half-given lists and clips that do not fit the temporal length."""
        super().check(cfg, genotype)
        f, d = cfg.forgery, cfg.data
        frequency = any(getattr(cfg, k) != type(getattr(cfg, k))() for k in ("fad", "lfs", "mix"))
        if cfg.model.streams != "rgb" or cfg.model.lfs_genotype is not None or frequency:
            raise NasError(f"{self.name} is real/fake on the rgb stream: --streams (model.streams), "
                           "model.lfs_genotype, fad.*, lfs.* and mix.* do not apply")
        if f.classes != "2" or f.map_root is not None:
            raise NasError(f"{self.name} is real/fake on the rgb stream: --classes, --streams and --map-root do "
                           "not apply")
        if cfg.model.num_classes is not None:
            raise NasError(f"model.num_classes does not apply to {self.name}")
        if f.look != "v1":
            raise NasError(f"forgery.look applies to the embedded image set only; {self.name}'s videos keep v1")
        lists = (d.root, d.train_list, d.val_list)
        if any(lists) and not all(lists):
            raise NasError(f"{self.name} reads ForgeryNet video lists: give all of --data-root, --train-list and "
                           "--val-list (not a --data folder)")
        if d.root and not Path(d.root).is_dir():
            raise NasError(f"video data root not found: {str(d.root)[:200]}")
        if cfg.eval.crops != 1 or cfg.eval.clips != 1:
            raise NasError(f"{self.name} scores the whole resampled video: eval.clips and eval.crops stay 1 "
                           "(set data.temporal_length and data.frames instead)")
        if not is_video(genotype) and d.frames is not None:
            raise NasError("--frames is for video genotypes (an image backbone scores every frame)")
        clip = clip_frames(cfg, genotype)
        if clip > d.temporal_length:
            raise NasError(f"a clip of {clip} frames does not fit data.temporal_length {d.temporal_length}")

    def datasets(self, cfg: Any, genotype: Any) -> Datasets:
        """Return the embedded face-video set, or the ForgeryNet video lists of ``cfg.data``."""
        from nas.data import forgery_video as V

        d, f = cfg.data, cfg.forgery
        if d.train_list:
            from nas.data.forgery_labels import check_two_classes

            sets = []
            for name, lst in (("training", d.train_list), ("validation", d.val_list)):
                records = V.parse_video_list(lst, d.root, f.replaced_label, f.labels)
                check_two_classes((r.labels[0] for r in records), f"the {name} list")
                sets.append(V.FileVideoForgeries(records, d.temporal_length, cfg.resolution, f.crop_scale))
            return Datasets(*sets, 1)
        return Datasets(*embedded_video_sets(cfg), 1)

    def describe(self, cfg: Any, genotype: Any) -> Dict[str, Any]:
        """Return the frames each video was resampled to, the backbone width and (embedded set) its artefacts."""
        out = {"frames_per_video": cfg.data.temporal_length, "width": cfg.model.width}
        if not cfg.data.train_list:
            out["video_artefacts"] = cfg.forgery.video_artefacts
        return out


def embedded_video_spec(cfg: Any):
    """Return the embedded video set's spec from the config (``--resolution``, ``forgery.*``, ``data.seed``)."""
    from nas.data.forgery_video_synthetic import VideoForgerySpec

    f = cfg.forgery
    return VideoForgerySpec(resolution=cfg.resolution, quality=f.quality, strength=0.6 * f.strength,
                            seed=cfg.data.seed, paired=f.paired, artefacts=f.video_artefacts)


def embedded_video_sets(cfg: Any):
    """Return the embedded set's training and validation datasets (drawn from ``data.seed``)."""
    from nas.data.forgery_video import ArrayVideoForgeries
    from nas.data.forgery_video_synthetic import make_video_forgeries

    d = cfg.data
    spec = embedded_video_spec(cfg)
    rng = np.random.default_rng(d.seed)
    out = []
    for n in (d.train_size, d.val_size):
        videos, labels, segments = make_video_forgeries(n, spec, rng)
        out.append(ArrayVideoForgeries(videos, labels, segments, d.temporal_length, cfg.resolution))
    return out


class ForgeryVideoTask(VideoForgeryBase):
    """Real/fake per video: clip (video genotype) or frame (image genotype) fake logits pooled over the video."""

    name = "forgery_video"
    reads = VideoForgeryBase.reads + ("model.dropout", "eval.pool", "eval.topk")
    primary = "auc"
    scalars = ("val_loss", "auc", "acc", "bacc", "ap", "eer") + tuple(
        f"{kind}_{b}" for b in ("chance_auc", "chance_ap", "majority_acc", "majority_bacc", "framediff_auc",
                                "framediff_ap") for kind in ("base", "beats"))

    def check(self, cfg: Any, genotype: Any) -> None:
        """Also refuse ``--frames`` with the temporal head (it reads every slot, not clips)."""
        super().check(cfg, genotype)
        if cfg.forgery.video_head == "temporal" and cfg.data.frames is not None:
            raise NasError("--frames does not apply to forgery.video_head=temporal (it reads all "
                           "data.temporal_length slots at once)")

    def build_model(self, genotype: Any, cfg: Any, num_classes: int) -> nn.Module:
        """Return the ``forgery.video_head`` model: a one-logit clip/frame head (pool) or 1-D convolutions over the
        per-frame features and change features (temporal), pooled by ``eval.pool``."""
        from nas.forgery.temporal import TemporalScorer, VideoScorer

        backbone, video = video_backbone(genotype, cfg), is_video(genotype)
        if cfg.forgery.video_head == "temporal":
            return TemporalScorer(backbone, video, cfg.eval.pool, cfg.eval.topk, changes=cfg.forgery.temporal_changes)
        return VideoScorer(backbone, video, clip_frames(cfg, genotype), cfg.eval.pool, cfg.eval.topk,
                           cfg.model.dropout)

    def loss(self, cfg: Any) -> Callable:
        """Return binary cross-entropy of the pooled video logit against the video label, plus, with
        ``forgery.part_weight`` > 0, a per-part loss from the known segments (the embedded set and ForgeryNet lists
        give them): for clip/frame scores, the same loss on every logit against whether its slots hold a forged
        frame; for the temporal head, the temporal task's loss on its per-frame fake, start and end logits."""
        from nas.forgery.temporal import localization_loss

        weight, width = cfg.forgery.part_weight, cfg.forgery.boundary_width

        def fn(out: Dict[str, torch.Tensor], y: torch.Tensor) -> torch.Tensor:
            video = nn.functional.binary_cross_entropy_with_logits(out["logit"].float(), y[:, 0].float())
            if not weight:
                return video
            parts, slots = out["parts"].float(), split_video_target(y)["slots"]
            if "start" in out:
                return video + weight * localization_loss(parts, slots, out["start"], out["end"], width)
            target = part_labels(slots, parts.shape[1])
            return video + weight * nn.functional.binary_cross_entropy_with_logits(parts, target)

        return fn

    def batch_metrics(self, output: Dict[str, torch.Tensor], target: torch.Tensor) -> Dict[str, Any]:
        """Return the summed loss and per-video P(fake) and labels (lists, concatenated over batches)."""
        logit, y = output["logit"].float(), target[:, 0].float()
        return {"loss": float(nn.functional.binary_cross_entropy_with_logits(logit, y, reduction="sum")),
                "scores": torch.sigmoid(logit).tolist(), "y": y.long().tolist(),
                "framediff": split_video_target(target)["framediff"].tolist()}

    def finish_metrics(self, sums: Dict[str, Any], n: int) -> Dict[str, float]:
        """Return val_loss and per-video AUC, ACC at 0.5, balanced ACC, AP and EER, beside the chance, majority
        and frame-difference baselines on the same videos (NaN, or one class, is an error)."""
        from nas.data.forgery_labels import check_two_classes
        from nas.forgery import baselines as B

        s, y = np.asarray(sums.get("scores", [])), np.asarray(sums.get("y", []), np.int64)
        check_two_classes(y.tolist(), "the validation pass")
        row = {"val_loss": float(sums.get("loss", 0.0)) / max(n, 1), **video_scores(s, y)}
        row.update(B.compare(row, B.video_baselines(sums["framediff"], y)))
        B.check_finite(row)
        return row

    def describe(self, cfg: Any, genotype: Any) -> Dict[str, Any]:
        """Return the pooling, what is pooled (clips or frames) and how many per video."""
        temporal = cfg.forgery.video_head == "temporal"
        clip = 1 if temporal else clip_frames(cfg, genotype)
        unit = "clip" if is_video(genotype) and not temporal else "frame"
        return {**super().describe(cfg, genotype), "video_head": cfg.forgery.video_head, "pool": cfg.eval.pool,
                "topk": cfg.eval.topk, "pooled": unit, "scores_per_video": cfg.data.temporal_length // clip,
                "clip_frames": clip}

    def log_line(self, row: Dict[str, Any]) -> str:
        """Return losses and the per-video AUC / ACC."""
        from nas.forgery.baselines import beside

        shown = beside(row, {"auc": ("chance", "framediff"), "acc": ("majority",)})
        return f"train loss {row['train_loss']:.4f} val loss {row['val_loss']:.4f} video {shown}"


def part_labels(slots: torch.Tensor, k: int) -> torch.Tensor:
    """Return ``(N, k)`` labels of ``k`` consecutive clips/frames over ``(N, T)`` slot labels: 1 where any slot of
    the part is forged. Parts are blocks of ``T // k`` slots from the start, as the scorer cuts clips (exact when
    ``k`` divides ``T``, and for frames)."""
    clip = slots.shape[1] // k
    return slots[:, : k * clip].reshape(len(slots), k, clip).amax(2).float()


def video_scores(s: np.ndarray, y: np.ndarray) -> Dict[str, float]:
    """Return per-video AUC, ACC at 0.5, balanced ACC, AP and EER of P(fake) scores ``s`` and labels ``y``."""
    if not len(y):
        nan = float("nan")
        return {"auc": nan, "acc": nan, "bacc": nan, "ap": nan, "eer": nan}
    return {"auc": M.auc(s, y), "acc": M.accuracy_at(s, y), "bacc": M.balanced_accuracy((s >= 0.5).astype(int), y),
            "ap": M.average_precision(s, y), "eer": M.eer(s, y)}

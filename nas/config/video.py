"""The video sections of the retraining config: clip sampling (``video.*``) and multi-view testing (``eval.*``).

The video search's keys are part of the one search config, ``nas.config.search.SearchConfig``.
"""
from __future__ import annotations

from dataclasses import dataclass

from nas.errors import NasError

__all__ = ["EvalConfig", "ClipSamplingConfig"]

@dataclass(frozen=True)
class ClipSamplingConfig:
    """How retraining draws the frames of a clip from a listed video (``nas-retrain``'s ``video.*`` keys)."""

    sampling: str = "segment"  # "segment" (TSN: one frame per segment) or "dense" (frames x stride, as TSM's K400)
    stride: int = 2  # dense only: frame step (TSM's dense 8-frame clips of Kinetics use 8; ours: small clips)

    def validate(self) -> None:
        """Raise NasError on an unknown sampling or a non-positive stride."""
        if self.sampling not in ("segment", "dense"):
            raise NasError(f"video.sampling must be segment or dense, got {str(self.sampling)[:40]!r}")
        if self.stride < 1:
            raise NasError(f"video.stride must be >= 1, got {self.stride}")


@dataclass(frozen=True)
class EvalConfig:
    """Multi-view testing of video retraining (``eval.*``): clips spread over each video times spatial crops.

    With more than one view the validation reports single-view top-1/top-5 (the middle clip's centre crop)
    and multi-view ``mv_top1``/``mv_top5`` (logits averaged over all views), as TSM's 10 x 3 protocol does.
    """

    clips: int = 1  # clips per validation video, evenly spread over it (TSM's Kinetics test: 10)
    crops: int = 1  # spatial crops per clip: 1 = centre, 3 = left/centre/right along the long side (TSM: 3)
    pool: str = "mean"  # forgery_video: clip/frame scores -> video score by mean, max or topk (mean of the top k)
    topk: int = 2  # forgery_video with pool topk: the k best clip/frame logits averaged

    def validate(self) -> None:
        """Raise NasError on a non-positive count, an unsupported crop count or an unknown pooling."""
        if self.pool not in ("mean", "max", "topk"):
            raise NasError(f"eval.pool must be one of mean|max|topk, got {str(self.pool)[:40]!r}")
        if self.topk < 1:
            raise NasError(f"eval.topk must be >= 1, got {self.topk}")
        if self.clips < 1:
            raise NasError(f"eval.clips must be >= 1, got {self.clips}")
        if self.crops not in (1, 3):
            raise NasError(f"eval.crops must be 1 or 3, got {self.crops}")

    @property
    def views(self) -> int:
        """Return clips x crops."""
        return self.clips * self.crops

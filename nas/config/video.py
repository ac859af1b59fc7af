"""The video sections of the retraining config: clip sampling (``video.*``) and multi-view testing (``eval.*``).

The video search's keys are part of the one search config, ``nas.config.search.SearchConfig``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from nas.errors import NasError

__all__ = ["EvalConfig", "ClipSamplingConfig"]

@dataclass(frozen=True)
class ClipSamplingConfig:
    """How retraining draws and augments the clips of a listed video (``nas-retrain``'s ``video.*`` keys).

    The defaults keep the former pipeline (frames scaled to the crop size, a random crop, no flip); TSM's
    protocol is ``short_side: 256`` with ``scales: [1, 0.875, 0.75, 0.66]`` and, for Kinetics, ``flip: on``
    (see recipes/retrain/kinetics_tsm_protocol.yaml and nas.data.video_augment for our reading).
    """

    sampling: str = "segment"  # "segment" (TSN: one frame per segment) or "dense" (frames x stride, as TSM's K400)
    stride: int = 2  # dense only: frame step (TSM's dense 8-frame clips of Kinetics use 8; ours: small clips)
    short_side: Optional[int] = None  # frames are decoded at this short side; None: the crop size (resolution)
    scales: Tuple[float, ...] = ()  # multi-scale crop, fractions of the short side; empty: a plain random crop
    max_distort: int = 1  # multi-scale crop: height and width scales at most this many steps apart (TSM: 1)
    flip: str = "off"  # horizontal flip of training clips: off, on, or pairs (swap the flip_pairs labels)
    flip_pairs: Tuple[Tuple[int, int], ...] = ()  # flip: pairs, class index pairs that trade places (left/right)

    def validate(self) -> None:
        """Raise NasError on an unknown sampling or flip, or an out-of-range stride, side, scale or pair."""
        if self.sampling not in ("segment", "dense"):
            raise NasError(f"video.sampling must be segment or dense, got {str(self.sampling)[:40]!r}")
        if self.stride < 1:
            raise NasError(f"video.stride must be >= 1, got {self.stride}")
        if self.short_side is not None and not 1 <= self.short_side <= 4096:
            raise NasError(f"video.short_side must be in 1..4096 (or null), got {self.short_side}")
        if any(not 0.1 <= s <= 1.0 for s in self.scales):
            raise NasError(f"video.scales must lie in [0.1, 1], got {[round(s, 3) for s in self.scales[:8]]}")
        if not 0 <= self.max_distort <= 8:
            raise NasError(f"video.max_distort must be in 0..8, got {self.max_distort}")
        self._validate_flip()

    def _validate_flip(self) -> None:
        if self.flip not in ("off", "on", "pairs"):
            raise NasError(f"video.flip must be off, on or pairs, got {str(self.flip)[:40]!r}")
        if (self.flip == "pairs") != bool(self.flip_pairs):
            raise NasError("video.flip_pairs is given exactly when video.flip is pairs, e.g. [[3, 4]]")
        seen: set = set()
        for pair in self.flip_pairs:
            if len(pair) != 2 or pair[0] == pair[1] or min(pair) < 0 or seen & set(pair):
                raise NasError(f"video.flip_pairs needs pairs of two distinct class indices >= 0, each class in one "
                               f"pair; got {list(pair)[:4]}")
            seen |= set(pair)


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

"""The typed config of ``nas-derive``: the cost target and what to write."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from nas.errors import NasError

__all__ = ["DeriveConfig"]


@dataclass(frozen=True)
class DeriveConfig:
    """What nas-derive computes and writes for one genotype (None: the space's own default target)."""

    resolution: Optional[int] = None  # input resolution of the cost and of the exported model's example input
    num_classes: Optional[int] = None  # classifier outputs
    frames: Optional[int] = None  # clip length, video spaces only
    export: Optional[str] = None  # FILE.ts (TorchScript) or FILE.onnx
    weights: Optional[str] = None  # with export: init (default), supernet (of the run given) or a checkpoint FILE
    plot: Optional[str] = None  # FILE.png / .svg / .pdf
    json: bool = False  # one JSON object instead of the table
    task: Optional[str] = None  # forgery_image / forgery_spatial: cost and export the forgery detector instead
    classes: Optional[str] = None  # with a forgery task: label sets, e.g. "2" or "2,3,16" (default "2")
    streams: Optional[str] = None  # with a forgery task: rgb | fad | lfs | both | mix (default rgb)

    def validate(self) -> None:
        """Raise a one-line NasError for options that do not go together."""
        if self.weights is not None and self.export is None:
            raise NasError("--weights applies only with --export")
        if self.task is not None and self.task not in ("forgery_image", "forgery_spatial"):
            raise NasError(f"nas-derive --task takes forgery_image or forgery_spatial, got {self.task[:40]!r}")
        if (self.classes is not None or self.streams is not None) and self.task is None:
            raise NasError("--classes and --streams apply only with --task forgery_image|forgery_spatial")

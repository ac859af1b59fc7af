"""The typed config of ``nas-derive``: the cost target and what to write."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from nas.config import path_field
from nas.errors import NasError

__all__ = ["DeriveConfig"]


@dataclass(frozen=True)
class DeriveConfig:
    """What nas-derive computes and writes for one genotype (None: the space's own default target)."""

    resolution: Optional[int] = None  # input resolution of the cost and of the exported model's example input
    num_classes: Optional[int] = None  # classifier outputs
    frames: Optional[int] = None  # clip length, video spaces only
    export: Optional[str] = path_field("file")  # FILE.ts (TorchScript) or FILE.onnx
    weights: Optional[str] = None  # with export: init (default), supernet (of the run given) or a checkpoint FILE
    plot: Optional[str] = path_field("file")  # FILE.png / .svg / .pdf
    json: bool = False  # one JSON object instead of the table
    task: Optional[str] = None  # forgery_image / forgery_spatial: cost and export the forgery detector instead
    classes: Optional[str] = None  # with a forgery task: label sets, e.g. "2" or "2,3,16" (default "2")
    streams: Optional[str] = None  # with a forgery task: rgb | fad | lfs | both | mix (default rgb)
    latency: bool = False  # measure the model's latency (median and IQR after warm-up), eager and TorchScript
    lut: Optional[str] = path_field("read")  # a nas-profile latency table: print the predicted latency
    lut_force: bool = False  # use a table made on another device, torch version or thread count
    learn: bool = False  # with --lut and --latency: time as the table was timed and refine its calibration with it
    threads: Optional[int] = None  # CPU threads of the measurement and the table check (None: 1 and all / the table's)
    batch: int = 1  # batch size of the measurement
    channels_last: bool = False  # measure with channels_last inputs and weights
    device: str = "cpu"  # where to measure: cpu, cuda, cuda:N or auto
    reps: int = 30  # timed repetitions of the measurement
    proxies: Optional[str] = None  # training-free proxies to score, a comma list of nas.proxies names
    proxy_batch: int = 64  # with proxies: embedded images (or clips) the proxies are scored on
    clock: str = "wall"  # wall, or cpu (CPU time of the calling thread: steadier on a shared machine, one thread only)

    def validate(self) -> None:
        """Raise a one-line NasError for options that do not go together."""
        if self.weights is not None and self.export is None:
            raise NasError("--weights applies only with --export")
        if self.task is not None and self.task not in ("forgery_image", "forgery_spatial"):
            raise NasError(f"nas-derive --task takes forgery_image or forgery_spatial, got {self.task[:40]!r}")
        if (self.classes is not None or self.streams is not None) and self.task is None:
            raise NasError("--classes and --streams apply only with --task forgery_image|forgery_spatial")
        self._validate_latency()
        if self.proxy_batch < 2:
            raise NasError(f"--proxy-batch must be at least 2, got {self.proxy_batch}")
        if self.proxy_batch != 64 and self.proxies is None:
            raise NasError("--proxy-batch applies only with --proxies")
        if self.proxies is not None and self.task is not None:
            raise NasError("--proxies applies to a space's model, not with --task")

    def _validate_latency(self) -> None:
        """Check the latency options: positive counts, and each only where it applies."""
        for key in ("threads", "batch", "reps"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise NasError(f"--{key} must be at least 1, got {value}")
        if self.clock not in ("wall", "cpu"):
            raise NasError(f"--clock takes wall or cpu, got {self.clock[:20]!r}")
        if (self.latency or self.lut) and self.task is not None:
            raise NasError("--latency and --lut apply to a space's model, not with --task")
        if self.lut_force and self.lut is None:
            raise NasError("--lut-force applies only with --lut")
        if self.learn and not (self.lut and self.latency):
            raise NasError("--learn needs --lut FILE and --latency (it refines the table with the measured time)")
        if self.learn and (self.threads is not None or self.batch != 1 or self.channels_last or self.reps != 30
                           or self.clock != "wall"):
            raise NasError("--learn times the model as the table was timed: drop --threads, --batch, "
                           "--channels-last, --reps and --clock")
        if self.threads is not None and not (self.latency or self.lut):
            raise NasError("--threads applies only with --latency or --lut")
        measuring = (self.batch != 1, self.channels_last, self.device != "cpu", self.reps != 30, self.clock != "wall")
        if any(measuring) and not self.latency:
            raise NasError("--batch, --channels-last, --device, --reps and --clock apply only with --latency")

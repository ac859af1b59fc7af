"""The typed config of ``nas-profile``: which space and target to tabulate, and how to time it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from nas.config import path_field
from nas.errors import NasError

__all__ = ["ProfileConfig"]


@dataclass(frozen=True)
class ProfileConfig:
    """One latency table: a space at a target, timed on one device with one thread count."""

    space: str = ""  # the space to tabulate (a nas.spaces plugin with a latency model)
    out: str = path_field("file", "")  # the JSON table to write
    resolution: Optional[int] = None  # input resolution (None: the space's default target)
    num_classes: Optional[int] = None  # classifier outputs (None: the space's)
    frames: Optional[int] = None  # clip length, video spaces only (None: the space's)
    device: str = "cpu"  # cpu, cuda, cuda:N or auto
    threads: int = 1  # CPU threads of every measurement (a table is valid for this count only)
    batch: int = 1  # batch size
    channels_last: bool = False  # time in channels_last
    script: bool = False  # time TorchScript modules instead of eager ones
    warmup: int = 10  # untimed runs before each measurement
    reps: int = 30  # timed repetitions per entry (the entry is their median)
    clock: str = "wall"  # wall, or cpu (CPU time of the calling thread; steadier on a shared machine, one thread only)
    seed: int = 0  # picks the random members whose whole-model timings fix the overhead
    calibration: str = "additive"  # additive (overhead = median gap, scale 1), affine (overhead and scale fitted) or
    #                                stages (one scale per feature-map size, ridge towards 1; nas.latency.learn)
    refine: Optional[str] = path_field("read")  # an existing table: time more whole models as it was timed and
    #                                               refit its calibration, instead of building a table
    members: int = 8  # with refine: the random members (not yet among its samples) to time whole

    def validate(self) -> None:
        """Raise a one-line NasError for a missing space or output, or a non-positive count."""
        if not 1 <= self.members <= 1000:
            raise NasError(f"--members must be in 1..1000, got {self.members}")
        if self.refine is not None:
            if self.space or self.out:
                raise NasError("--refine takes the table's space, target and protocol: drop --space and --out")
            return
        if not self.space:
            raise NasError("nas-profile needs --space (or --refine TABLE)")
        if not self.out:
            raise NasError("nas-profile needs --out FILE.json")
        for key in ("threads", "batch", "reps"):
            if getattr(self, key) < 1:
                raise NasError(f"--{key} must be at least 1, got {getattr(self, key)}")
        if self.warmup < 0:
            raise NasError(f"--warmup must be at least 0, got {self.warmup}")
        if self.clock not in ("wall", "cpu"):
            raise NasError(f"--clock takes wall or cpu, got {self.clock[:20]!r}")
        from nas.latency.table import CALIBRATIONS

        if self.calibration not in CALIBRATIONS:
            raise NasError(f"--calibration takes {', '.join(CALIBRATIONS)}, got {str(self.calibration)[:20]!r}")

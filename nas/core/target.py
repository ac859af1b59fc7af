"""The cost target: input resolution, classifier outputs and clip length, each checked before any cost is summed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from nas.errors import NasError

__all__ = ["Target", "TARGET_KEYS", "check_min"]

TARGET_KEYS = ("resolution", "num_classes", "frames")


def _show(value: object) -> str:
    """Return a short repr of a user value (an error message never prints an unbounded value)."""
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _check_count(name: str, value: object, minimum: int = 1) -> None:
    """Raise a one-line NasError unless ``value`` is an int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise NasError(f"{name} must be an integer, got {_show(value)}")
    if value < minimum:
        bound = "positive" if minimum == 1 else f"at least {minimum}"
        raise NasError(f"{name} must be {bound}, got {value}")


@dataclass(frozen=True)
class Target:
    """What a cost is computed for: a square input of ``resolution`` px, ``num_classes`` outputs, ``frames``.

    ``frames`` is the clip length of video spaces and None for image spaces. Construction checks that every
    field is a positive integer; a space adds its own limits through :meth:`nas.core.space.Space.target`.

    Example:
        >>> Target(224, 1000)
        Target(resolution=224, num_classes=1000, frames=None)
        >>> Target(0, 10)
        Traceback (most recent call last):
        ...
        nas.errors.NasError: resolution must be positive, got 0
    """

    resolution: int = 224
    num_classes: int = 1000
    frames: Optional[int] = None

    def __post_init__(self) -> None:
        _check_count("resolution", self.resolution)
        _check_count("num_classes", self.num_classes)
        if self.frames is not None:
            _check_count("frames", self.frames)

    def input_shape(self, batch: int = 1) -> tuple:
        """Return the input batch shape: ``(N, 3, H, W)``, or ``(N, 3, T, H, W)`` when ``frames`` is set."""
        hw = (self.resolution, self.resolution)
        return (batch, 3) + ((self.frames,) if self.frames is not None else ()) + hw


def check_min(name: str, value: int, minimum: int, why: str) -> None:
    """Raise a one-line NasError when ``value`` is below a space's own ``minimum`` (``why`` says the reason)."""
    if value < minimum:
        raise NasError(f"{name} must be at least {minimum} ({why}), got {value}")

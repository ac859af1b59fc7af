"""Pure cost accounting: multiply-accumulates (MAdds) and parameter counts, with no module built.

The convention is the one of the MobileNetV2 and ST-NAS papers: MAdds count the multiply-accumulates of
convolutions and linear layers only (no BatchNorm, activations, pooling or additions), and ``params``
counts every trainable parameter, BatchNorm affine terms included.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Tuple

from nas.errors import NasError

__all__ = ["Cost", "BackboneGeometry", "conv2d_cx", "conv3d_cx", "bn_cx", "linear_cx", "conv_out", "parse_budget",
           "format_count"]


@dataclass(frozen=True)
class Cost:
    """An exact cost: integer multiply-accumulates and parameter count."""

    madds: int = 0
    params: int = 0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.madds + other.madds, self.params + other.params)

    def __radd__(self, other: object) -> "Cost":
        # Lets sum() start from 0.
        return self if other == 0 else NotImplemented


@dataclass(frozen=True)
class BackboneGeometry:
    """A backbone's cost and feature maps at one input size, for models built around it (forgery detectors).

    A space offers it through ``backbone_geometry(genotype, side, stem_stride)``; all values are pure counts.
    """

    body: Cost  # the backbone without a classifier, its first conv reading 3 channels
    stem_kernel: int  # the first conv's kernel side (an inflated stem adds this per extra input channel)
    stem_channels: int  # the first conv's output channels
    stem_side: int  # the first conv's output side
    sides: Tuple[int, ...]  # output side of every block (node) after the stem, in order
    channels: Tuple[int, ...]  # output channels of every block after the stem
    num_features: int  # channels of the final map (the pooled features)


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Return a convolution's output length along one axis."""
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_cx(
    hw: Tuple[int, int], c_in: int, c_out: int, k: int, *, stride: int = 1, groups: int = 1, bias: bool = False
) -> Tuple[Cost, Tuple[int, int]]:
    """Return the cost of a ``k x k`` conv with padding ``k // 2`` and its output size."""
    h, w = (conv_out(s, k, stride, k // 2) for s in hw)
    macs = h * w * c_out * (c_in // groups) * k * k
    params = c_out * (c_in // groups) * k * k + (c_out if bias else 0)
    return Cost(macs, params), (h, w)


def conv3d_cx(
    thw: Tuple[int, int, int],
    c_in: int,
    c_out: int,
    k: Tuple[int, int, int],
    *,
    stride: Tuple[int, int, int] = (1, 1, 1),
    groups: int = 1,
    bias: bool = False,
) -> Tuple[Cost, Tuple[int, int, int]]:
    """Return the cost of a 3-D conv with 'same'-style padding ``k // 2`` per axis and its output size."""
    out = tuple(conv_out(s, kk, st, kk // 2) for s, kk, st in zip(thw, k, stride))
    vol = k[0] * k[1] * k[2]
    macs = out[0] * out[1] * out[2] * c_out * (c_in // groups) * vol
    params = c_out * (c_in // groups) * vol + (c_out if bias else 0)
    return Cost(macs, params), out  # type: ignore[return-value]


def bn_cx(c: int) -> Cost:
    """Return the cost of an affine BatchNorm: no MAdds by convention, 2c parameters."""
    return Cost(0, 2 * c)


def linear_cx(c_in: int, c_out: int, *, bias: bool = True) -> Cost:
    """Return the cost of a fully connected layer."""
    return Cost(c_in * c_out, c_in * c_out + (c_out if bias else 0))


_BUDGET = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kKmMgG]?)\s*$")
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}


def parse_budget(text: str | int) -> int:
    """Parse a MAdds/FLOPs budget like ``330M``, ``0.5G``, ``500000K`` or ``330000000`` into an integer."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text <= 0:
            raise NasError(f"budget must be positive, got {text}")
        return text
    m = _BUDGET.match(str(text))
    if not m:
        raise NasError(f"bad budget {text!r}: use a number with an optional K, M or G suffix, e.g. 330M or 0.5G")
    value = round(float(m.group(1)) * _SCALE[m.group(2).lower()])
    if value <= 0:
        raise NasError(f"budget must be positive, got {text!r}")
    return value


def format_count(n: int) -> str:
    """Format a count with a metric suffix (``300.77M``)."""
    for div, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(n) >= div:
            return f"{n / div:.2f}{suffix}"
    return str(n)

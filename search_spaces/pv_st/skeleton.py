"""The pv_st macro skeletons: per-frame ResNets with one temporal slot per block. No torch.

``RESNET50`` (space ``pv_st``) is torchvision's ResNet-50 v1.5 (the backbone of TSM-R50, Lin et al. 2019):
a 7x7/2 stem, a 3x3/2 max pool and bottleneck stages of depth 3, 4, 6, 3 and widths 256..2048, the stride
on each stage's first 3x3. ``RESNET101`` (space ``pv_st_m``) has the depths 3, 4, 23, 3 of ResNet-101 on the
same plan. ``TINY`` (space ``pv_st_tiny``, for tests) is a 6-block basic-block net. Each block's spatial
3x3 is its searchable *slot*: the slot op maps ``op_in -> op_out`` with the block's spatial stride and
carries its own temporal part. Time is never strided, so any number of frames T >= 1 works.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import List, Tuple

from nas.core.cost import conv_out

__all__ = ["Stage", "Skeleton", "Slot", "RESNET50", "RESNET101", "TINY", "slots", "stem_size", "scaled",
           "total_stride"]


@dataclass(frozen=True)
class Stage:
    """A stage: output width, slot width (bottleneck middle; equals ``c_out`` for basic), depth, stride."""

    c_out: int
    c_mid: int
    depth: int
    stride: int


@dataclass(frozen=True)
class Skeleton:
    """A backbone layout: stem width and kernel, max pool after the stem or not, block kind and stages."""

    stem: int
    block: str  # "basic" or "bottleneck"
    stages: Tuple[Stage, ...]
    stem_kernel: int = 3  # the stem conv is k x k with stride 2 and padding k // 2
    max_pool: bool = False  # a 3x3/2 max pool (padding 1) after the stem, as in ResNet-50


@dataclass(frozen=True)
class Slot:
    """One searchable slot: its dimension key, the block's shapes and the slot op's own shapes."""

    key: str
    block_in: int  # block input channels
    block_out: int  # block output channels
    op_in: int  # slot op input channels (block_in for basic, c_mid for bottleneck)
    op_out: int  # slot op output channels
    stride: int  # spatial stride of the block (carried by the slot op)


def _resnet(depths: Tuple[int, ...]) -> Skeleton:
    widths = ((256, 64), (512, 128), (1024, 256), (2048, 512))
    stages = tuple(Stage(c, m, d, 1 if i == 0 else 2) for i, ((c, m), d) in enumerate(zip(widths, depths)))
    return Skeleton(stem=64, block="bottleneck", stages=stages, stem_kernel=7, max_pool=True)


RESNET50 = _resnet((3, 4, 6, 3))
RESNET101 = _resnet((3, 4, 23, 3))
TINY = Skeleton(stem=16, block="basic", stages=(Stage(16, 16, 2, 1), Stage(32, 32, 2, 2), Stage(64, 64, 2, 2)))


def slots(sk: Skeleton) -> List[Slot]:
    """Return the blocks' slots in forward order (keys ``b01``, ``b02``, ...)."""
    out: List[Slot] = []
    c_in = sk.stem
    for st in sk.stages:
        for i in range(st.depth):
            stride = st.stride if i == 0 else 1
            basic = sk.block == "basic"
            op_in = c_in if basic else st.c_mid
            op_out = st.c_out if basic else st.c_mid
            out.append(Slot(f"b{len(out) + 1:02d}", c_in, st.c_out, op_in, op_out, stride))
            c_in = st.c_out
    return out


def stem_size(sk: Skeleton, resolution: int) -> Tuple[int, int]:
    """Return the spatial size after the stride-2 stem conv (and the max pool, when the skeleton has one)."""
    h = conv_out(resolution, sk.stem_kernel, 2, sk.stem_kernel // 2)
    if sk.max_pool:
        h = conv_out(h, 3, 2, 1)
    return h, h


def total_stride(sk: Skeleton) -> int:
    """Return the product of the spatial strides: the smallest input that leaves every stride a pixel to stride."""
    out = 4 if sk.max_pool else 2
    for st in sk.stages:
        out *= st.stride
    return out


def _round8(c: float) -> int:
    """Round a scaled width to a multiple of 8 (at least 8), so the shift's C // 8 fold is never empty."""
    return max(8, int(round(c / 8)) * 8)


def scaled(sk: Skeleton, width: float) -> Skeleton:
    """Return ``sk`` with every channel count multiplied by ``width`` (rounded to multiples of 8): the proxy."""
    if width == 1.0:
        return sk
    stages = tuple(replace(st, c_out=_round8(st.c_out * width), c_mid=_round8(st.c_mid * width)) for st in sk.stages)
    return replace(sk, stem=_round8(sk.stem * width), stages=stages)

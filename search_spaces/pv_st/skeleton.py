"""The pv_st macro skeletons: small ResNet-like video backbones with one temporal slot per block. No torch.

Our reading (not from the PV-NAS paper, whose skeleton is unpublished): a 2-D ResNet applied per frame,
in two sizes. ``LIGHT`` (space ``pv_st``) uses basic blocks, ``MEDIAN`` (space ``pv_st_m``) bottlenecks.
Each block's first spatial 3x3 conv is the searchable *slot*: the slot op maps ``c_in -> c_out`` with the
block's spatial stride and carries its own temporal part (none, shift, temporal conv, (2+1)-D or 3-D).
Time is never strided, so any number of frames T >= 1 works.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

from nas.core.cost import conv_out

__all__ = ["Stage", "Skeleton", "Slot", "LIGHT", "MEDIAN", "slots", "stem_size"]


@dataclass(frozen=True)
class Stage:
    """A stage: output width, slot width (bottleneck middle; equals ``c_out`` for basic), depth, stride."""

    c_out: int
    c_mid: int
    depth: int
    stride: int


@dataclass(frozen=True)
class Skeleton:
    """A backbone layout: stem width, block kind (``basic`` or ``bottleneck``) and stages."""

    stem: int
    block: str
    stages: Tuple[Stage, ...]


@dataclass(frozen=True)
class Slot:
    """One searchable slot: its dimension key, the block's shapes and the slot op's own shapes."""

    key: str
    block_in: int  # block input channels
    block_out: int  # block output channels
    op_in: int  # slot op input channels (block_in for basic, c_mid for bottleneck)
    op_out: int  # slot op output channels
    stride: int  # spatial stride of the block (carried by the slot op)


LIGHT = Skeleton(stem=16, block="basic", stages=(Stage(16, 16, 2, 1), Stage(32, 32, 2, 2), Stage(64, 64, 2, 2)))
MEDIAN = Skeleton(
    stem=24,
    block="bottleneck",
    stages=(Stage(64, 16, 2, 1), Stage(128, 32, 2, 2), Stage(256, 64, 2, 2), Stage(256, 64, 1, 1)),
)


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


def stem_size(resolution: int) -> Tuple[int, int]:
    """Return the spatial size after the 3x3 stride-2 stem."""
    h = conv_out(resolution, 3, 2, 1)
    return h, h

"""The st_topo macro skeleton: 20 feature nodes on a MobileNetV2-1.0 layout, stem and branch edges. No torch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

from nas.core.cost import conv_out

__all__ = ["Edge", "STEM_CHANNELS", "HEAD_CHANNELS", "STAGES", "NUM_NODES", "node_channels", "head_channels", "scale_channels", "stem_edges",
           "branch_edges", "node_sizes", "stage_of_node"]

STEM_CHANNELS = 32  # 3x3 stride-2 stem conv, as in MobileNetV2
HEAD_CHANNELS = 1280  # final 1x1 conv before pooling, as in MobileNetV2
# (out channels, stem edges, stride of the stage's first edge). MobileNetV2-1.0 has depths 1,2,3,4,3,3,1;
# two stages get one more edge here so the chain has the 19 stem edges (20 nodes) of the ST-NAS figure.
# MobileNetV2 sets those two extra edges to identity ("id").
STAGES: Tuple[Tuple[int, int, int], ...] = (
    (16, 1, 1),
    (24, 3, 2),
    (32, 3, 2),
    (64, 4, 2),
    (96, 3, 1),
    (160, 4, 2),
    (320, 1, 1),
)
NUM_NODES = 1 + sum(depth for _, depth, _ in STAGES)  # 20


@dataclass(frozen=True)
class Edge:
    """A possible edge ``src -> dst`` (1-based node ids) with the shapes it must map between."""

    src: int
    dst: int
    c_in: int
    c_out: int
    stride: int
    first_in_stage: bool  # only meaningful for stem edges

    @property
    def is_stem(self) -> bool:
        """Return whether this is a chain edge ``i -> i+1``."""
        return self.dst == self.src + 1

    @property
    def key(self) -> str:
        """Return the dimension name: ``sNN`` for stem edges, ``bSSDD`` for branch edges."""
        return f"s{self.src:02d}" if self.is_stem else f"b{self.src:02d}{self.dst:02d}"


def scale_channels(c: int, width: float) -> int:
    """Scale a channel count by ``width``, rounded to a multiple of 8 and never below 90% (MobileNet rule)."""
    if width == 1.0:
        return c
    v = max(8, int(c * width + 4) // 8 * 8)
    return v + 8 if v < 0.9 * c * width else v


def _stem_layout(width: float = 1.0) -> List[Tuple[int, int, bool]]:
    """Return (channels, stride, first_in_stage) for each stem edge in order."""
    out = []
    for c, depth, stride in STAGES:
        for i in range(depth):
            out.append((scale_channels(c, width), stride if i == 0 else 1, i == 0))
    return out


def node_channels(width: float = 1.0) -> List[int]:
    """Return the channel count of nodes 1..20 (index 0 is node 1) at a width multiplier."""
    return [scale_channels(STEM_CHANNELS, width)] + [c for c, _, _ in _stem_layout(width)]


def head_channels(width: float = 1.0) -> int:
    """Return the head width; like MobileNetV2 it is not narrowed below 1280."""
    return scale_channels(HEAD_CHANNELS, max(1.0, width))


def stem_edges(width: float = 1.0) -> List[Edge]:
    """Return the 19 always-present chain edges (channels at a width multiplier; the space uses 1.0)."""
    ch = node_channels(width)
    return [
        Edge(i + 1, i + 2, ch[i], c, s, first)
        for i, (c, s, first) in enumerate(_stem_layout(width))
    ]


def branch_edges(width: float = 1.0) -> List[Edge]:
    """Return the 35 optional edges ``i -> i+2`` and ``i -> i+3``, ordered by (src, dst)."""
    ch = node_channels(width)
    strides = [s for _, s, _ in _stem_layout()]
    edges = []
    for src in range(1, NUM_NODES + 1):
        for hop in (2, 3):
            dst = src + hop
            if dst > NUM_NODES:
                continue
            stride = 1
            for s in strides[src - 1 : dst - 1]:
                stride *= s
            edges.append(Edge(src, dst, ch[src - 1], ch[dst - 1], stride, False))
    return edges


def node_sizes(resolution: int) -> List[Tuple[int, int]]:
    """Return the spatial size of nodes 1..20 for a square input of ``resolution`` pixels."""
    h = conv_out(resolution, 3, 2, 1)
    sizes = [(h, h)]
    for _, s, _ in _stem_layout():
        h = conv_out(h, 3, s, 1)
        sizes.append((h, h))
    return sizes


def stage_of_node(node: int) -> int:
    """Return the stage index (0-based) whose stem edges produce ``node``; node 1 (the stem) gives -1."""
    idx = node - 2
    if idx < 0:
        return -1
    for stage, (_, depth, _) in enumerate(STAGES):
        if idx < depth:
            return stage
        idx -= depth
    raise ValueError(f"node {node} out of range")

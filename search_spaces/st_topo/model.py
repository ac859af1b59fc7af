"""The standalone st_topo network: a plain DAG of ops with summed node inputs, no supernet code."""
from __future__ import annotations

from typing import List, Optional

import torch
from torch import nn

from nas.core.genotype import Genotype
from nas.core.ops import get_op
from nas.nn.init import init_weights  # re-exported: the space's init is the shared one
from search_spaces.st_topo import skeleton as sk
from search_spaces.st_topo.cost import parse_op
from search_spaces.st_topo.ops import InvertedResidual, conv_bn, last_bn

__all__ = ["TopoNode", "Head", "TopoNet", "build_edge", "build_model", "build_backbone", "init_weights",
           "zero_init_residual"]


class TopoNode(nn.Module):
    """One feature node: the sum of its incoming edges' outputs."""

    def __init__(self, srcs: List[int], edges: List[nn.Module]):
        super().__init__()
        self.srcs: List[int] = list(srcs)  # 0-based indices into the list of computed node features
        self.edges = nn.ModuleList(edges)

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        out = torch.zeros(0)
        for i, edge in enumerate(self.edges):
            y = edge(feats[self.srcs[i]])
            out = y if i == 0 else out + y
        return out


class Head(nn.Module):
    """1x1 conv + BN + ReLU6 and global average pooling, then dropout and the classifier (none: pooled features).

    ``num_classes`` of 0 or None leaves the classifier out, which is the backbone's head.
    """

    def __init__(self, c_in: int, c_head: int, num_classes: Optional[int], dropout: float):
        super().__init__()
        self.conv = conv_bn(c_in, c_head, 1)
        self.num_features = c_head
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c_head, num_classes) if num_classes else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x).mean((2, 3))
        if self.fc is None:
            return x
        return self.fc(self.dropout(x))


class TopoNet(nn.Module):
    """A derived st_topo architecture: stem, 19 nodes fed by their active edges, head.

    Without a classifier (``head.fc`` None) it is the backbone: ``forward`` gives the pooled
    ``(N, num_features)`` features; with one it is the model, whose state_dict extends the backbone's by
    ``head.fc.*`` only (so a model checkpoint holds a loadable backbone).
    """

    def __init__(self, stem: nn.Module, nodes: List[TopoNode], head: Head, genotype: str = ""):
        super().__init__()
        self.stem = stem
        self.nodes = nn.ModuleList(nodes)
        self.head = head
        self.num_features: int = head.num_features
        self.genotype = genotype  # canonical string, kept for provenance

    def forward_nodes(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last node's feature map (before the head's 1x1 conv)."""
        feats = [self.stem(x)]
        for node in self.nodes:
            feats.append(node(feats))
        return feats[-1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last feature map ``(N, num_features, H, W)``: the head's 1x1 conv on the last node."""
        return self.head.conv(self.forward_nodes(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_nodes(x))


def build_edge(edge: sk.Edge, code: str) -> nn.Module:
    """Build the plain module of op ``code`` on ``edge``."""
    parsed = parse_op(code)
    assert parsed is not None, "inactive edges have no module"
    name, args = parsed
    if name == "ir":
        args = dict(args, residual=edge.is_stem)
    return get_op(name).build(edge.c_in, edge.c_out, edge.stride, **args)


def build_backbone(genotype: Genotype, width: float = 1.0, stem_stride: int = 2) -> TopoNet:
    """Build the backbone of an st_topo genotype: the model without its classifier.

    ``width`` < 1 and ``stem_stride`` = 1 are for cheap small-image proxies only (a CIFAR-style stem keeps a
    32 px image at 32x32 after the stem); the cost model always describes width 1 and a stride-2 stem.
    """
    return _build(genotype, None, 0.0, width, stem_stride)


def build_model(genotype: Genotype, num_classes: int = 1000, dropout: float = 0.2, width: float = 1.0,
                stem_stride: int = 2) -> TopoNet:
    """Build the standalone network of an st_topo genotype: its backbone plus a linear classifier."""
    return _build(genotype, num_classes, dropout, width, stem_stride)


def _build(genotype: Genotype, num_classes: Optional[int], dropout: float, width: float, stem_stride: int) -> TopoNet:
    """Build the network, with a classifier of ``num_classes`` outputs unless that is None."""
    from nas import get_space

    space = get_space("st_topo")
    scaled = {e.key: e for e in sk.stem_edges(width) + sk.branch_edges(width)}
    by_dst: dict = {d: [] for d in range(2, sk.NUM_NODES + 1)}
    for edge, code in space.active_edges(genotype):
        by_dst[edge.dst].append((edge.src - 1, build_edge(scaled[edge.key], code)))
    nodes = [TopoNode([s for s, _ in by_dst[d]], [m for _, m in by_dst[d]]) for d in sorted(by_dst)]
    ch = sk.node_channels(width)
    stem = conv_bn(3, ch[0], 3, stem_stride)
    head = Head(ch[-1], sk.head_channels(width), num_classes, dropout)
    model = TopoNet(stem, nodes, head, str(genotype))
    init_weights(model)
    for node in model.nodes:
        for i, edge in enumerate(node.edges):
            # Edge 0 of a node is its stem edge; the others are branch edges.
            zero_init_residual(edge, is_branch=i > 0)
    return model


def zero_init_residual(edge: nn.Module, is_branch: bool) -> None:
    """Zero the last BN gamma of residual blocks and branch edges, so each starts as a no-op addition.

    Summing several freshly initialised paths at a node inflates activations and makes early training
    diverge; starting every extra path at zero (Goyal et al. 2017) keeps the start equal to the plain chain.
    """
    bn = last_bn(edge)
    residual = isinstance(edge, InvertedResidual) and edge.use_res
    if bn is not None and (is_branch or residual):
        nn.init.zeros_(bn.weight)


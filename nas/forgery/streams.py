"""A backbone as a staged feature extractor, so two streams can meet at stage boundaries (MixBlock) and a mask
head can read earlier maps.

Two shapes of backbone are supported through the backbone seam. A *node* backbone (st_topo's ``TopoNet``:
``stem``, ``nodes`` each reading the list of earlier maps, ``head.conv``) is cut at every change of stride, and its
stages are named by their output stride relative to the detector's input (``s4``, ``s8``, ``s16``, ``s32``). Any
other backbone is one stage, ``final``, run through ``forward_features``.
"""
from __future__ import annotations

from typing import List, Tuple

import torch
from torch import nn

from nas.forgery.spec import StageLayout, stage_layout

__all__ = ["NodeStream", "WholeStream", "make_stream", "is_node_backbone"]


def is_node_backbone(net: nn.Module) -> bool:
    """Return whether ``net`` exposes ``stem``, ``nodes`` and ``head.conv`` (st_topo's layout)."""
    head = getattr(net, "head", None)
    return hasattr(net, "stem") and isinstance(getattr(net, "nodes", None), nn.ModuleList) and hasattr(head, "conv")


@torch.no_grad()
def _node_sizes(net: nn.Module, in_channels: int, side: int) -> Tuple[List[int], List[int]]:
    """Return the (spatial side, channels) of every node's output for a ``side`` x ``side`` input."""
    was = net.training
    net.eval()
    feats = [net.stem(torch.zeros(1, in_channels, side, side))]
    for node in net.nodes:
        feats.append(node(feats))
    net.train(was)
    return [f.shape[-1] for f in feats[1:]], [f.shape[1] for f in feats[1:]]


class NodeStream(nn.Module):
    """A node backbone cut into stages; ``net`` keeps the backbone's own parameter names."""

    def __init__(self, net: nn.Module, in_channels: int, side: int, resolution: int):
        super().__init__()
        self.net = net
        sides, chans = _node_sizes(net, in_channels, side)
        self.layout = stage_layout(sides, chans, resolution)
        self.cuts: List[int] = list(self.layout.cuts)
        self.stage_names: List[str] = list(self.layout.names)
        self.stage_channels: List[int] = list(self.layout.channels)
        self.stage_sides: List[int] = list(self.layout.sides)
        self.num_features: int = int(net.num_features)

    def begin(self, x: torch.Tensor) -> List[torch.Tensor]:
        return [self.net.stem(x)]

    def segment(self, feats: List[torch.Tensor], k: int) -> List[torch.Tensor]:
        lo = 0 if k == 0 else self.cuts[k - 1]
        hi = self.cuts[k]
        for i, node in enumerate(self.net.nodes):
            if i >= lo and i < hi:
                feats.append(node(feats))
        return feats

    def final(self, feats: List[torch.Tensor]) -> torch.Tensor:
        return self.net.head.conv(feats[-1])


class WholeStream(nn.Module):
    """Any backbone as a single stage ``final`` (its ``forward_features`` map)."""

    def __init__(self, net: nn.Module, in_channels: int, side: int, resolution: int):
        super().__init__()
        self.net = net
        with torch.no_grad():
            was = net.training
            net.eval()
            out = net.forward_features(torch.zeros(1, in_channels, side, side))
            net.train(was)
        self.layout = StageLayout(("final",), (1,), (int(out.shape[1]),), (int(out.shape[-1]),))
        self.cuts: List[int] = [1]
        self.stage_names: List[str] = ["final"]
        self.stage_channels: List[int] = [out.shape[1]]
        self.stage_sides: List[int] = [out.shape[-1]]
        self.num_features: int = int(net.num_features)

    def begin(self, x: torch.Tensor) -> List[torch.Tensor]:
        return [x]

    def segment(self, feats: List[torch.Tensor], k: int) -> List[torch.Tensor]:
        feats.append(self.net.forward_features(feats[0]))
        return feats

    def final(self, feats: List[torch.Tensor]) -> torch.Tensor:
        return feats[-1]


def make_stream(net: nn.Module, in_channels: int, side: int, resolution: int) -> nn.Module:
    """Return the staged view of backbone ``net`` fed ``(N, in_channels, side, side)`` inputs."""
    cls = NodeStream if is_node_backbone(net) else WholeStream
    return cls(net, in_channels, side, resolution)

"""Build the module a st_topo latency-table key stands for: one edge op, or one node addition."""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from search_spaces.st_topo.cost import parse_op
from search_spaces.st_topo.ops import InvertedResidual, Shortcut

__all__ = ["AddInput", "build_block"]


class AddInput(nn.Module):
    """Add a fixed map of the input's shape: the cost of summing one more edge at a node."""

    def __init__(self, shape: Tuple[int, ...]):
        super().__init__()
        self.register_buffer("other", torch.randn(1, *shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.other


def build_block(key: str) -> Tuple[nn.Module, Tuple[int, ...]]:
    """Return ``(module, (C, H, W))`` of key ``code|HxW|cin>cout|sS|r`` or ``add|HxW|C``."""
    parts = key.split("|")
    h, w = (int(v) for v in parts[1].split("x"))
    if parts[0] == "add":
        c = int(parts[2])
        return AddInput((c, h, w)), (c, h, w)
    c_in, c_out = (int(v) for v in parts[2].split(">"))
    stride = int(parts[3][1:])
    name, args = parse_op(parts[0])
    if name == "ir":
        return InvertedResidual(c_in, c_out, stride, residual=parts[4] == "r", **args), (c_in, h, w)
    return Shortcut(c_in, c_out, stride), (c_in, h, w)

"""Build the module an nb201 latency-table key stands for: one cell edge's op and the sum it feeds."""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from search_spaces.nb201.ops import build_op

__all__ = ["EdgeIntoNode", "build_block"]


class EdgeIntoNode(nn.Module):
    """Run one edge's op and add it to the node it feeds (``Cell.forward``'s ``nodes[dst] + edge(...)``)."""

    def __init__(self, op: nn.Module):
        super().__init__()
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.op(x)


def build_block(key: str) -> Tuple[nn.Module, Tuple[int, ...]]:
    """Return ``(module, (C, H, W))`` of key ``op|HxW|C``."""
    op, hw, c = key.split("|")
    h, w = (int(v) for v in hw.split("x"))
    return EdgeIntoNode(build_op(op, int(c))), (int(c), h, w)

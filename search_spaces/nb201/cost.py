"""Pure cost functions of the nb201 network (stem, cell ops, reduction blocks, classifier). No torch.

The convention is the project's (``nas.core.cost``): MAdds of convolutions and linear layers only, and every
trainable parameter counted, BatchNorm affine terms included. Average pooling, the zero op and the additions
are free. NAS-Bench-201 itself reports FLOPs from its own counter, which also counts pooling and BatchNorm;
the CSV we ship has no FLOPs or params column, so no comparison against the table is possible here.
"""
from __future__ import annotations

from typing import Tuple

from nas.core.cost import Cost, bn_cx, conv2d_cx, linear_cx

__all__ = ["op_cost", "stem_cost", "reduction_cost", "head_cost", "relu_conv_bn_cost"]

Size = Tuple[int, int]


def relu_conv_bn_cost(hw: Size, c_in: int, c_out: int, k: int, stride: int = 1) -> Tuple[Cost, Size]:
    """Return the cost of NAS-Bench-201's ReLU-Conv-BN unit (the conv has no bias) and its output size."""
    c, hw_out = conv2d_cx(hw, c_in, c_out, k, stride=stride)
    return c + bn_cx(c_out), hw_out


def op_cost(op: str, hw: Size, c: int) -> Cost:
    """Return the cost of cell op ``op`` on a ``c``-channel map of size ``hw`` (stride 1, same channels)."""
    if op == "nor_conv_3x3":
        return relu_conv_bn_cost(hw, c, c, 3)[0]
    if op == "nor_conv_1x1":
        return relu_conv_bn_cost(hw, c, c, 1)[0]
    if op in ("none", "skip_connect", "avg_pool_3x3"):
        return Cost()
    raise ValueError(f"unknown nb201 op {op!r}")


def stem_cost(resolution: int, c_out: int) -> Tuple[Cost, Size]:
    """Return the cost of the 3x3 stride-1 stem conv + BN and its output size."""
    c, hw = conv2d_cx((resolution, resolution), 3, c_out, 3)
    return c + bn_cx(c_out), hw


def reduction_cost(hw: Size, c_in: int, c_out: int) -> Tuple[Cost, Size]:
    """Return the cost of the residual reduction block: two ReLU-Conv-BN 3x3 (the first strided) plus a
    2x2 average pool and a 1x1 conv on the shortcut."""
    a, hw_out = relu_conv_bn_cost(hw, c_in, c_out, 3, stride=2)
    b, _ = relu_conv_bn_cost(hw_out, c_out, c_out, 3)
    shortcut, _ = conv2d_cx(hw_out, c_in, c_out, 1)
    return a + b + shortcut, hw_out


def head_cost(c_in: int, num_classes: int) -> Cost:
    """Return the cost of the last BN + ReLU, global pooling and the classifier."""
    return bn_cx(c_in) + linear_cx(c_in, num_classes)

"""The torch ops of NAS-Bench-201's cell and skeleton: ReLU-Conv-BN, zero, pooling and the reduction block."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ReLUConvBN", "Zero", "build_op", "ResNetBlock", "stem"]


class ReLUConvBN(nn.Sequential):
    """ReLU, a bias-free ``k x k`` conv (padding ``k // 2``), BatchNorm: NAS-Bench-201's ``nor_conv_kxk``."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1):
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False),
                         nn.BatchNorm2d(c_out))


class Zero(nn.Module):
    """The ``none`` op: zeros shaped like its input (used in the supernet; the standalone model drops it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def build_op(op: str, c: int) -> nn.Module:
    """Build cell op ``op`` on ``c`` channels (stride 1, channels unchanged)."""
    if op == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3)
    if op == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if op == "skip_connect":
        return nn.Identity()
    if op == "none":
        return Zero()
    raise ValueError(f"unknown nb201 op {op!r}")


class ResNetBlock(nn.Module):
    """NAS-Bench-201's reduction block: ReLU-Conv-BN 3x3 stride 2, ReLU-Conv-BN 3x3, plus a shortcut of
    2x2 average pooling and a 1x1 conv."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def stem(c_out: int) -> nn.Sequential:
    """Return the 3x3 stride-1 stem conv + BN."""
    return nn.Sequential(nn.Conv2d(3, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))

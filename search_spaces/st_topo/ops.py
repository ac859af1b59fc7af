"""The st_topo ops as plain modules: inverted residual and shortcut, registered with their cost functions."""
from __future__ import annotations

import torch
from torch import nn

from nas.core.ops import register_op
from search_spaces.st_topo.cost import ir_cost, shortcut_cost

__all__ = ["InvertedResidual", "Shortcut", "conv_bn", "last_bn"]


def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    """Return conv (no bias, padding k//2) + BN, with ReLU6 when ``act``."""
    layers = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


@register_op("ir", cost=ir_cost)
class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (skipped when expand=1), kxk depthwise, linear 1x1 project."""

    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int, expand: int, residual: bool = True):
        super().__init__()
        hidden = c_in * expand
        layers = [conv_bn(c_in, hidden, 1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, kernel, stride, groups=hidden), conv_bn(hidden, c_out, 1, act=False)]
        self.conv = nn.Sequential(*layers)
        self.use_res = bool(residual and stride == 1 and c_in == c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_res else out


@register_op("skip", cost=shortcut_cost)
class Shortcut(nn.Module):
    """Identity, or a strided 1x1 conv + BN projection when the edge crosses a stride or width change."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.proj = None if stride == 1 and c_in == c_out else conv_bn(c_in, c_out, 1, stride, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.proj is None else self.proj(x)


def last_bn(module: nn.Module):
    """Return the BatchNorm that ends an op's output path, or None for a parameter-free identity."""
    if isinstance(module, InvertedResidual):
        return module.conv[-1][1]
    if isinstance(module, Shortcut):
        return None if module.proj is None else module.proj[1]
    return None

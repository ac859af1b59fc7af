"""The pv_st temporal slot ops as plain modules on ``(N, C, T, H, W)``, registered with their cost functions.

Every op maps ``c_in -> c_out`` with a spatial stride and keeps T. Our reading of the PV-NAS candidates
(the paper's list is unpublished): ``t_id`` is the per-frame 3x3 conv alone (TSN-like, pure 2-D);
``t_shift`` is TSM's shift of 1/8 of the channels one frame each way with zero padding, applied by the block
at the start of its residual branch (before a bottleneck's first 1x1 conv, as TSM's residual shift does), so
the slot op itself is the plain 3x3 (:data:`SHIFT_AT_INPUT` names the ops whose block shifts its input);
``t_dw3``/``t_dw5`` a depthwise temporal conv then the 3x3; ``t_conv3`` a full temporal conv then the 3x3;
``t_r21d`` R(2+1)D's factorisation (the 3x3, BN, ReLU, then a full 3x1x1 conv; Tran et al. 2018);
``t_3d`` a 3x3x3 conv in place of the 3x3 (I3D-like).
"""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from nas.core.ops import register_op
from search_spaces.pv_st.cost import op_cost

__all__ = ["SHIFT_AT_INPUT", "Spatial", "TemporalConv", "TemporalShift", "R21D", "build_slot_op", "temporal_shift"]

# Slot ops whose block applies the temporal shift to the residual branch's input (TSM's "residual shift").
SHIFT_AT_INPUT = frozenset({"t_shift"})


class Spatial(nn.Conv3d):
    """A per-frame ``k x k`` conv with padding ``k // 2`` and no bias (a ``1 x k x k`` 3-D conv)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, k: int = 3):
        super().__init__(c_in, c_out, (1, k, k), (1, stride, stride), (0, k // 2, k // 2), bias=False)


class TemporalConv(nn.Conv3d):
    """A ``k x 1 x 1`` temporal conv ``c -> c`` with zero padding ``k // 2`` and no bias."""

    def __init__(self, c: int, k: int = 3, groups: int = 1):
        super().__init__(c, c, (k, 1, 1), 1, (k // 2, 0, 0), groups=groups, bias=False)


def temporal_shift(x: torch.Tensor, fold_div: int = 8) -> torch.Tensor:
    """Shift ``C // fold_div`` channels one frame forward, as many backward, zero-filling the gaps (TSM)."""
    fold = x.shape[1] // fold_div
    out = torch.zeros_like(x)
    out[:, :fold, 1:] = x[:, :fold, :-1]  # channel group 0: frame t sees frame t-1
    out[:, fold : 2 * fold, :-1] = x[:, fold : 2 * fold, 1:]  # group 1: frame t sees frame t+1
    out[:, 2 * fold :] = x[:, 2 * fold :]
    return out


class TemporalShift(nn.Module):
    """The parameter-free TSM shift as a module."""

    def __init__(self, fold_div: int = 8):
        super().__init__()
        self.fold_div = fold_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return temporal_shift(x, self.fold_div)


class R21D(nn.Module):
    """(2+1)-D: the per-frame 3x3 conv, BN, ReLU, then a full 3x1x1 temporal conv."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.spatial = Spatial(c_in, c_out, stride)
        self.bn = nn.BatchNorm3d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.temporal = TemporalConv(c_out, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.temporal(self.relu(self.bn(self.spatial(x))))


def _cost(name: str):
    """Return op ``name``'s cost function with the op signature ``(thw, c_in, c_out, stride)``."""
    return partial(op_cost, name)


@register_op("t_id", cost=_cost("t_id"))
def t_id(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Build the pure 2-D slot: the per-frame 3x3 conv only."""
    return nn.Sequential(Spatial(c_in, c_out, stride))


@register_op("t_shift", cost=_cost("t_shift"))
def t_shift(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Build the TSM slot's 3x3 (its block shifts the residual branch's input, see ``SHIFT_AT_INPUT``)."""
    return nn.Sequential(Spatial(c_in, c_out, stride))


@register_op("t_dw3", cost=_cost("t_dw3"))
def t_dw3(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Build a depthwise 3x1x1 temporal conv, then the 3x3."""
    return nn.Sequential(TemporalConv(c_in, 3, groups=c_in), Spatial(c_in, c_out, stride))


@register_op("t_dw5", cost=_cost("t_dw5"))
def t_dw5(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Build a depthwise 5x1x1 temporal conv, then the 3x3."""
    return nn.Sequential(TemporalConv(c_in, 5, groups=c_in), Spatial(c_in, c_out, stride))


@register_op("t_conv3", cost=_cost("t_conv3"))
def t_conv3(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Build a full 3x1x1 temporal conv, then the 3x3."""
    return nn.Sequential(TemporalConv(c_in, 3), Spatial(c_in, c_out, stride))


@register_op("t_r21d", cost=_cost("t_r21d"))
def t_r21d(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Build the (2+1)-D slot."""
    return R21D(c_in, c_out, stride)


@register_op("t_3d", cost=_cost("t_3d"))
def t_3d(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Build a 3x3x3 conv in place of the 3x3."""
    return nn.Conv3d(c_in, c_out, 3, (1, stride, stride), 1, bias=False)


def build_slot_op(name: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """Build slot op ``name`` through the op registry."""
    from nas.core.ops import get_op

    return get_op(name).build(c_in, c_out, stride)

"""The standalone pv_st networks: a per-frame ResNet whose blocks carry one temporal slot op each."""
from __future__ import annotations

from typing import Callable, List, Optional

import torch
from torch import nn

from nas.core.genotype import Genotype
from nas.nn.init import init_weights  # re-exported: the space's init is the shared one
from search_spaces.pv_st import skeleton as sk
from search_spaces.pv_st.ops import SHIFT_AT_INPUT, Spatial, TemporalShift, build_slot_op

__all__ = ["BasicBlock", "Bottleneck", "PvNet", "make_blocks", "stem", "build_model", "build_backbone",
           "init_weights", "input_shift"]


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Return the identity, or a strided 1x1 conv + BN across a shape change."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(nn.Conv3d(c_in, c_out, 1, (1, stride, stride), bias=False), nn.BatchNorm3d(c_out))


def input_shift(shift: bool) -> nn.Module:
    """Return what a block applies to its residual branch's input: TSM's shift, or nothing."""
    return TemporalShift(8) if shift else nn.Identity()


class BasicBlock(nn.Module):
    """ResNet basic block whose first 3x3 is the slot ``op``: [shift], op, BN, ReLU, 3x3, BN, + shortcut, ReLU."""

    def __init__(self, slot: sk.Slot, op: nn.Module, shift: bool = False):
        super().__init__()
        self.pre = input_shift(shift)
        self.op = op
        self.bn1 = nn.BatchNorm3d(slot.block_out)
        self.conv2 = Spatial(slot.block_out, slot.block_out)
        self.bn2 = nn.BatchNorm3d(slot.block_out)
        self.shortcut = _shortcut(slot.block_in, slot.block_out, slot.stride)
        self.relu = nn.ReLU(inplace=True)

    def enter(self, x: torch.Tensor) -> torch.Tensor:
        """Return the slot op's input from the (shifted) block input: the input itself."""
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.op(self.enter(self.pre(x))), x)

    def tail(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Finish the block from the slot op's output ``y`` and the block input ``x``."""
        y = self.relu(self.bn1(y))
        return self.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class Bottleneck(nn.Module):
    """ResNet bottleneck whose 3x3 is the slot ``op``: [shift], 1x1, op, 1x1, BN after each, + shortcut, ReLU.

    With ``shift`` the residual branch's input is shifted before the first 1x1, as in TSM-ResNet50.
    """

    def __init__(self, slot: sk.Slot, op: nn.Module, shift: bool = False):
        super().__init__()
        self.pre = input_shift(shift)
        self.conv1 = nn.Conv3d(slot.block_in, slot.op_in, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(slot.op_in)
        self.op = op
        self.bn2 = nn.BatchNorm3d(slot.op_out)
        self.conv3 = nn.Conv3d(slot.op_out, slot.block_out, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(slot.block_out)
        self.shortcut = _shortcut(slot.block_in, slot.block_out, slot.stride)
        self.relu = nn.ReLU(inplace=True)

    def enter(self, x: torch.Tensor) -> torch.Tensor:
        """Return the slot op's input from the (shifted) block input: 1x1, BN, ReLU."""
        return self.relu(self.bn1(self.conv1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.op(self.enter(self.pre(x))), x)

    def tail(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Finish the block from the slot op's output ``y`` and the block input ``x``."""
        y = self.relu(self.bn2(y))
        return self.relu(self.bn3(self.conv3(y)) + self.shortcut(x))


class PvNet(nn.Module):
    """A video network on ``(N, 3, T, H, W)``: per-frame stem and blocks, spatial average, per-frame classifier.

    The classifier runs on every frame's pooled features and the logits are averaged over frames (the
    TSN/TSM consensus; equal to classifying the clip average, and counted per frame as TSM's GFLOPs are).
    Without a classifier (``num_classes`` 0 or None) it is the backbone: ``forward`` gives the pooled
    ``(N, num_features)`` features; the model's state_dict extends the backbone's by ``fc.*`` only.
    A batch of test views ``(N, V, 3, T, H, W)`` gives per-view outputs ``(N, V, ...)``.
    """

    def __init__(self, stem: nn.Module, blocks: List[nn.Module], c_last: int, num_classes: Optional[int],
                 dropout: float, genotype: str = ""):
        super().__init__()
        self.stem = stem
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c_last, num_classes) if num_classes else None
        self.num_features: int = c_last
        self.genotype = genotype  # canonical string, kept for provenance

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last feature map ``(N, num_features, T, H, W)``."""
        return self.blocks(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 6:  # (N, V, 3, T, H, W): V test views of each clip -> per-view outputs (N, V, ...)
            n, v = x.shape[0], x.shape[1]
            y = self._clips(x.flatten(0, 1))
            return y.view([n, v] + list(y.shape[1:]))
        return self._clips(x)

    def _clips(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits (or pooled features) of a ``(N, 3, T, H, W)`` batch."""
        x = self.forward_features(x).mean((3, 4))  # (N, C, T): every frame's pooled features
        if self.fc is None:
            return x.mean(2)
        return self.fc(self.dropout(x.transpose(1, 2))).mean(1)


def stem(skel: sk.Skeleton) -> nn.Sequential:
    """Return the per-frame ``k x k`` stride-2 stem conv + BN + ReLU (+ 3x3/2 max pool)."""
    c = skel.stem
    layers = [Spatial(3, c, 2, skel.stem_kernel), nn.BatchNorm3d(c), nn.ReLU(inplace=True)]
    if skel.max_pool:
        layers.append(nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
    return nn.Sequential(*layers)


def make_blocks(skel: sk.Skeleton, make_op: Callable[[sk.Slot], nn.Module],
                shift: Callable[[sk.Slot], bool] = lambda s: False) -> List[nn.Module]:
    """Return the blocks of ``skel`` with slot ops from ``make_op(slot)``; ``shift(slot)``: shift the input."""
    cls = BasicBlock if skel.block == "basic" else Bottleneck
    return [cls(s, make_op(s), shift(s)) for s in sk.slots(skel)]


def build_backbone(genotype: Genotype, width: float = 1.0) -> PvNet:
    """Build the backbone of a pv_st genotype: the model without its classifier."""
    return _build(genotype, None, 0.0, width)


def build_model(genotype: Genotype, num_classes: int = 400, dropout: float = 0.0, width: float = 1.0) -> PvNet:
    """Build the standalone network of a pv_st genotype (``width`` < 1: the channel-scaled proxy of it)."""
    return _build(genotype, num_classes, dropout, width)


def _build(genotype: Genotype, num_classes: Optional[int], dropout: float, width: float) -> PvNet:
    """Build the network, with a classifier of ``num_classes`` outputs unless that is None."""
    from nas import get_space

    skel = sk.scaled(get_space(genotype.space).skeleton, width)
    choice = genotype.as_dict()
    blocks = make_blocks(skel, lambda s: build_slot_op(choice[s.key], s.op_in, s.op_out, s.stride),
                         lambda s: choice[s.key] in SHIFT_AT_INPUT)
    model = PvNet(stem(skel), blocks, sk.slots(skel)[-1].block_out, num_classes, dropout, str(genotype))
    init_weights(model)
    return model

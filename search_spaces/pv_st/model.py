"""The standalone pv_st networks: a per-frame ResNet whose blocks carry one temporal slot op each."""
from __future__ import annotations

from typing import Callable, List, Optional

import torch
from torch import nn

from nas.core.genotype import Genotype
from search_spaces.pv_st import skeleton as sk
from search_spaces.pv_st.ops import Spatial, build_slot_op

__all__ = ["BasicBlock", "Bottleneck", "PvNet", "make_blocks", "stem", "build_model", "build_backbone",
           "init_weights"]


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    """Return the identity, or a strided 1x1 conv + BN across a shape change."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(nn.Conv3d(c_in, c_out, 1, (1, stride, stride), bias=False), nn.BatchNorm3d(c_out))


class BasicBlock(nn.Module):
    """ResNet basic block whose first 3x3 is the slot ``op``: op, BN, ReLU, 3x3, BN, + shortcut, ReLU."""

    def __init__(self, slot: sk.Slot, op: nn.Module):
        super().__init__()
        self.op = op
        self.bn1 = nn.BatchNorm3d(slot.block_out)
        self.conv2 = Spatial(slot.block_out, slot.block_out)
        self.bn2 = nn.BatchNorm3d(slot.block_out)
        self.shortcut = _shortcut(slot.block_in, slot.block_out, slot.stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.op(x)))
        return self.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class Bottleneck(nn.Module):
    """ResNet bottleneck whose 3x3 is the slot ``op``: 1x1, op, 1x1, BN after each, + shortcut, ReLU."""

    def __init__(self, slot: sk.Slot, op: nn.Module):
        super().__init__()
        self.conv1 = nn.Conv3d(slot.block_in, slot.op_in, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(slot.op_in)
        self.op = op
        self.bn2 = nn.BatchNorm3d(slot.op_out)
        self.conv3 = nn.Conv3d(slot.op_out, slot.block_out, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(slot.block_out)
        self.shortcut = _shortcut(slot.block_in, slot.block_out, slot.stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.op(y)))
        return self.relu(self.bn3(self.conv3(y)) + self.shortcut(x))


class PvNet(nn.Module):
    """A video network on ``(N, 3, T, H, W)``: per-frame stem, blocks, spatio-temporal average, classifier.

    Without a classifier (``num_classes`` 0 or None) it is the backbone: ``forward`` gives the pooled
    ``(N, num_features)`` features; the model's state_dict extends the backbone's by ``fc.*`` only.
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
        x = self.forward_features(x).mean((2, 3, 4))  # TSN-style average over frames and pixels
        if self.fc is None:
            return x
        return self.fc(self.dropout(x))


def stem(c_out: int) -> nn.Sequential:
    """Return the per-frame 3x3 stride-2 stem conv + BN + ReLU."""
    return nn.Sequential(Spatial(3, c_out, 2), nn.BatchNorm3d(c_out), nn.ReLU(inplace=True))


def make_blocks(skel: sk.Skeleton, make_op: Callable[[sk.Slot], nn.Module]) -> List[nn.Module]:
    """Return the blocks of ``skel`` with slot ops from ``make_op(slot)``."""
    cls = BasicBlock if skel.block == "basic" else Bottleneck
    return [cls(s, make_op(s)) for s in sk.slots(skel)]


def init_weights(model: nn.Module) -> None:
    """Initialise convs (He, fan-out), BatchNorms (1, 0) and linears (N(0, 0.01))."""
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def build_backbone(genotype: Genotype) -> PvNet:
    """Build the backbone of a pv_st / pv_st_m genotype: the model without its classifier."""
    return _build(genotype, None, 0.0)


def build_model(genotype: Genotype, num_classes: int = 400, dropout: float = 0.0) -> PvNet:
    """Build the standalone network of a pv_st / pv_st_m genotype: its backbone plus a linear classifier."""
    return _build(genotype, num_classes, dropout)


def _build(genotype: Genotype, num_classes: Optional[int], dropout: float) -> PvNet:
    """Build the network, with a classifier of ``num_classes`` outputs unless that is None."""
    from nas import get_space

    skel = get_space(genotype.space).skeleton
    choice = genotype.as_dict()
    blocks = make_blocks(skel, lambda s: build_slot_op(choice[s.key], s.op_in, s.op_out, s.stride))
    model = PvNet(stem(skel.stem), blocks, sk.slots(skel)[-1].block_out, num_classes, dropout, str(genotype))
    init_weights(model)
    return model


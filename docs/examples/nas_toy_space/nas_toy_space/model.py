"""The toy space's standalone network: a backbone (``num_features``, ``forward_features``) plus a classifier."""
from __future__ import annotations

import torch
from torch import nn

from nas.core.genotype import Genotype
from nas.nn.init import init_weights
from nas_toy_space.space import STAGES, STEM

__all__ = ["ToyBackbone", "ToyNet", "build_backbone", "build_model", "conv_bn_relu"]


def conv_bn_relu(c_in: int, c_out: int, k: int, stride: int) -> nn.Sequential:
    """Return a k x k conv (padding k // 2, no bias), BN and ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class ToyBackbone(nn.Module):
    """Stem and three strided stages; ``forward`` returns pooled ``(N, num_features)`` features."""

    def __init__(self, genotype: Genotype):
        super().__init__()
        layers, c_in = [conv_bn_relu(3, STEM, 3, 1)], STEM
        for i in range(1, STAGES + 1):
            w = int(genotype[f"w{i}"])
            layers.append(conv_bn_relu(c_in, w, int(genotype[f"k{i}"]), 2))
            c_in = w
        self.layers = nn.Sequential(*layers)
        self.num_features = c_in

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last feature map ``(N, num_features, H / 8, W / 8)``."""
        return self.layers(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x).mean((2, 3))


class ToyNet(nn.Module):
    """A backbone and a linear classifier on its pooled features."""

    def __init__(self, backbone: ToyBackbone, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(backbone.num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.backbone(x))


def build_backbone(genotype: Genotype) -> ToyBackbone:
    """Build the backbone of a toy genotype."""
    backbone = ToyBackbone(genotype)
    init_weights(backbone)
    return backbone


def build_model(genotype: Genotype, num_classes: int = 10) -> ToyNet:
    """Build the standalone classifier of a toy genotype."""
    model = ToyNet(ToyBackbone(genotype), num_classes)
    init_weights(model)
    return model

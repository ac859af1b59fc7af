"""The toy supernet: each stage holds one 5x5, 24-wide conv; a member uses its centre and first channels."""
from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F
from torch import nn

from nas.core.genotype import Genotype
from nas.nn.elastic import ElasticBatchNorm2d, copy_bn
from nas.nn.init import init_weights
from nas.nn.supernet import Supernet
from nas_toy_space.model import ToyNet, build_model, conv_bn_relu
from nas_toy_space.space import KERNELS, STAGES, STEM, WIDTHS, ToySpace

__all__ = ["ElasticStage", "ToySupernet"]

K_MAX, W_MAX = max(map(int, KERNELS)), max(map(int, WIDTHS))


class ElasticStage(nn.Module):
    """A stride-2 conv + BN + ReLU whose active kernel ``k`` and width ``w`` slice one max-size weight."""

    def __init__(self, c_in_max: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in_max, W_MAX, K_MAX, 2, K_MAX // 2, bias=False)
        self.bn = ElasticBatchNorm2d(W_MAX)  # slices its stats to the channels it is given
        self.k, self.w = K_MAX, W_MAX

    def weight(self, c_in: int) -> torch.Tensor:
        """Return the active ``[w, c_in, k, k]`` slice: the first channels and the kernel's centre."""
        off = (K_MAX - self.k) // 2
        return self.conv.weight[: self.w, :c_in, off : off + self.k, off : off + self.k]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.weight(x.shape[1]), None, 2, self.k // 2)
        return F.relu(self.bn(y))


class ToySupernet(Supernet):
    """Shared weights for every toy member; ``set_active`` picks the kernels and widths ``forward`` uses."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.space, self.num_classes = ToySpace(), num_classes
        self.stem = conv_bn_relu(3, STEM, 3, 1)
        self.stages = nn.ModuleList(ElasticStage(STEM if i == 0 else W_MAX) for i in range(STAGES))
        self.fc = nn.Linear(W_MAX, num_classes)
        init_weights(self)
        self.set_active(self.space.default())

    def set_active(self, genotype: Genotype) -> None:
        """Route ``forward`` through ``genotype``'s kernels and widths."""
        problem = self.space.contains(genotype)
        if problem:
            raise ValueError(problem)
        for i, stage in enumerate(self.stages, 1):
            stage.k, stage.w = int(genotype[f"k{i}"]), int(genotype[f"w{i}"])
        self.active = genotype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        w = self.stages[-1].w
        return F.linear(x.mean((2, 3)), self.fc.weight[:, :w], self.fc.bias)

    @torch.no_grad()
    def extract(self, genotype: Genotype, copy_weights: bool = True, **model_kwargs) -> ToyNet:
        """Return the standalone ToyNet of ``genotype``, with the active slices copied in when asked."""
        model = build_model(genotype, **{"num_classes": self.num_classes, **model_kwargs})
        if not copy_weights:
            return model
        previous = self.active
        self.set_active(genotype)
        layers: List[nn.Module] = list(model.backbone.layers)
        layers[0].load_state_dict(self.stem.state_dict())
        c_in = STEM
        for stage, layer in zip(self.stages, layers[1:]):
            layer[0].weight.copy_(stage.weight(c_in))
            copy_bn(layer[1], stage.bn, stage.w)
            c_in = stage.w
        model.fc.weight.copy_(self.fc.weight[:, :c_in])
        model.fc.bias.copy_(self.fc.bias)
        self.set_active(previous)
        return model

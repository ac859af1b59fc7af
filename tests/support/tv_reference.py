"""Reference networks whose state dicts have torchvision's parameter names and shapes (ResNet-50/101, MobileNetV2).

The torchvision wheel available here does not import beside the CPU build of torch, so the tests of
``nas.load_pretrained`` compare against these definitions instead. They follow torchvision's modules
(``torchvision/models/resnet.py``: ResNet v1.5 with the stride on the 3x3; ``mobilenetv2.py``) attribute for
attribute, so a state dict saved from one loads into the other. ``stem`` and ``mids`` narrow the ResNet for
small-scale experiments (``experiments/head_start.py``); the defaults are the real networks.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["Bottleneck", "ResNet", "resnet50", "resnet101", "InvertedResidual", "MobileNetV2", "mobilenet_v2",
           "randomise", "per_frame"]


class Bottleneck(nn.Module):
    """torchvision's Bottleneck: 1x1, 3x3 (carries the stride), 1x1 (x4), BN after each, + downsample."""

    expansion = 4

    def __init__(self, c_in: int, mid: int, stride: int = 1, downsample: nn.Module = None):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, mid * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ResNet with bottlenecks: conv1, bn1, relu, maxpool, layer1..4, avgpool, fc."""

    def __init__(self, depths: Sequence[int], num_classes: int = 1000, stem: int = 64,
                 mids: Sequence[int] = (64, 128, 256, 512)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c = stem
        for i, (depth, mid) in enumerate(zip(depths, mids)):
            blocks = []
            for j in range(depth):
                stride = 2 if i > 0 and j == 0 else 1
                down = None
                if stride != 1 or c != mid * 4:
                    down = nn.Sequential(nn.Conv2d(c, mid * 4, 1, stride, bias=False), nn.BatchNorm2d(mid * 4))
                blocks.append(Bottleneck(c, mid, stride, down))
                c = mid * 4
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the pooled features ``(N, C)`` (the input of ``fc``)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def resnet50(num_classes: int = 1000, **kw) -> ResNet:
    """Return a ResNet-50 in torchvision's layout."""
    return ResNet((3, 4, 6, 3), num_classes, **kw)


def resnet101(num_classes: int = 1000, **kw) -> ResNet:
    """Return a ResNet-101 in torchvision's layout."""
    return ResNet((3, 4, 23, 3), num_classes, **kw)


def _conv_bn_relu(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """torchvision's Conv2dNormActivation with ReLU6: ``.0`` conv, ``.1`` BN, ``.2`` ReLU6."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """torchvision's InvertedResidual: ``conv`` = [1x1 expand] + 3x3 depthwise + linear 1x1 + BN."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        self.use_res_connect = stride == 1 and c_in == c_out
        layers = [_conv_bn_relu(c_in, hidden, 1)] if expand != 1 else []
        layers += [_conv_bn_relu(hidden, hidden, 3, stride, hidden), nn.Conv2d(hidden, c_out, 1, bias=False),
                   nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2 (width 1.0): ``features`` 0..18 and ``classifier`` (dropout, linear)."""

    SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
               (6, 320, 1, 1))

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers, c = [_conv_bn_relu(3, 32, 3, 2)], 32
        for t, c_out, n, s in self.SETTING:
            for i in range(n):
                layers.append(InvertedResidual(c, c_out, s if i == 0 else 1, t))
                c = c_out
        layers.append(_conv_bn_relu(c, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3)))


def mobilenet_v2(num_classes: int = 1000) -> MobileNetV2:
    """Return a MobileNetV2-1.0 in torchvision's layout."""
    return MobileNetV2(num_classes)


def randomise(model: nn.Module, gen: torch.Generator) -> nn.Module:
    """Give every BN random statistics and affine values (so a copied or dropped BN shows), in eval mode.

    Activations are kept near unit scale, so a deep net's outputs stay finite and comparable at 1e-5.
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) * 0.5 + 0.25)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.num_batches_tracked.fill_(7)
    return model.eval()


def per_frame(ref: nn.Module, clip: torch.Tensor, shift_blocks: bool = False) -> torch.Tensor:
    """Return a 2-D reference's logits on every frame of ``(N, 3, T, H, W)``, averaged over frames (TSN).

    With ``shift_blocks`` every bottleneck's residual branch first shifts 1/8 of its channels one frame each
    way (TSM's residual shift), done with a forward pre-hook on the block's ``conv1``.
    """
    n, _, t = clip.shape[:3]
    frames = clip.transpose(1, 2).flatten(0, 1)  # (N*T, 3, H, W), frame-major within each clip

    def shift(_module, args):
        x = args[0]
        v = x.view(n, t, *x.shape[1:]).transpose(1, 2)  # (N, C, T, H, W)
        fold = v.shape[1] // 8
        out = torch.zeros_like(v)
        out[:, :fold, 1:] = v[:, :fold, :-1]
        out[:, fold:2 * fold, :-1] = v[:, fold:2 * fold, 1:]
        out[:, 2 * fold:] = v[:, 2 * fold:]
        return (out.transpose(1, 2).reshape(x.shape),)

    hooks = [b.conv1.register_forward_pre_hook(shift) for b in ref.modules()
             if shift_blocks and isinstance(b, Bottleneck)]
    try:
        logits = ref(frames)
    finally:
        for h in hooks:
            h.remove()
    return logits.view(n, t, -1).mean(1)

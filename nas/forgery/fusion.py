"""Stem inflation and F3-Net's MixBlock (cross-attention between two backbone streams)."""
from __future__ import annotations

import math
from typing import Tuple

import torch
from torch import nn

from nas.errors import NasError
from nas.forgery.frequency import sigma

__all__ = ["first_conv", "first_conv_of", "inflate_stem", "inflate_weight", "MixBlock", "NoMix"]


def first_conv(model: nn.Module) -> Tuple[nn.Module, str, nn.Conv2d]:
    """Return ``(parent, attribute, conv)`` of the first 3-channel ``nn.Conv2d`` in module order."""
    for name, module in model.named_modules():
        for attr, child in module.named_children():
            if isinstance(child, nn.Conv2d) and child.in_channels == 3:
                return module, attr, child
    raise NasError(f"{type(model).__name__} has no 3-channel first convolution to inflate")


def first_conv_of(model: nn.Module) -> nn.Conv2d:
    """Return the first ``nn.Conv2d`` of ``model`` in module order (its stem, inflated or not)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m
    raise NasError(f"{type(model).__name__} has no convolution")


def inflate_weight(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Tile an RGB kernel (O, 3, k, k) over ``in_channels`` (a multiple of 3) and divide by the number of copies."""
    if in_channels % weight.shape[1]:
        raise NasError(f"cannot inflate a {weight.shape[1]}-channel stem to {in_channels} channels")
    copies = in_channels // weight.shape[1]
    return weight.repeat(1, copies, 1, 1) / copies


def inflate_stem(model: nn.Module, in_channels: int) -> nn.Module:
    """Make ``model``'s first conv take ``in_channels`` inputs; input replicated ``in_channels / 3`` times then
    gives the RGB response (F3-Net's init of pretrained stems). Returns ``model``, changed in place."""
    parent, attr, conv = first_conv(model)
    if in_channels == conv.in_channels:
        return model
    new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, conv.bias is not None, conv.padding_mode)
    with torch.no_grad():
        new.weight.copy_(inflate_weight(conv.weight, in_channels))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    setattr(parent, attr, new)
    return model


class MixBlock(nn.Module):
    """Cross-attention between two streams' maps of equal shape; gates start at 0, so it starts as the identity.

    Our reading of F3-Net's block (its exact contraction is unpublished): each stream has 1x1 query and key maps;
    one joint attention over positions, softmax_j(q_a(i).k_b(j) + q_b(i).k_a(j)) / sqrt(d), re-weights the *other*
    stream's features, which pass a 1x1 conv + BN and are added residually with a gate sigma(g) (sigma(0) = 0).
    The energy is symmetric in the two streams, so with tied weights swapping the inputs swaps the outputs.
    """

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        d = max(channels // reduction, 8)
        self.scale = 1.0 / math.sqrt(d)
        self.q_a, self.k_a = nn.Conv2d(channels, d, 1), nn.Conv2d(channels, d, 1)
        self.q_b, self.k_b = nn.Conv2d(channels, d, 1), nn.Conv2d(channels, d, 1)
        self.out_a = nn.Sequential(nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels))
        self.out_b = nn.Sequential(nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels))
        self.gate_a = nn.Parameter(torch.zeros(()))
        self.gate_b = nn.Parameter(torch.zeros(()))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        n, c, h, w = a.shape
        qa, ka = self.q_a(a).flatten(2), self.k_a(a).flatten(2)  # (N, d, HW)
        qb, kb = self.q_b(b).flatten(2), self.k_b(b).flatten(2)
        energy = qa.transpose(1, 2) @ kb + qb.transpose(1, 2) @ ka  # (N, HW, HW)
        attn = torch.softmax(energy * self.scale, dim=-1)
        from_b = (b.flatten(2) @ attn.transpose(1, 2)).view(n, c, h, w)
        from_a = (a.flatten(2) @ attn.transpose(1, 2)).view(n, c, h, w)
        return (a + sigma(self.gate_a) * self.out_a(from_b), b + sigma(self.gate_b) * self.out_b(from_a))


class NoMix(nn.Module):
    """The stage boundary without a MixBlock: both maps pass unchanged."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return a, b

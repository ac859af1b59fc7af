"""The bundled proxies: synflow, NASWOT, grad_norm, snip and ZiCo, and the cost baselines params and MAdds.

Every proxy scores a freshly initialised network (``probe.build()``); higher predicts better. "Weights" below
are the parameters with two or more dimensions: the conv and linear kernels, the layers the papers sum over
(BatchNorm scales and biases are left out).
"""
from __future__ import annotations

import math
from typing import List

import torch
import torch.nn.functional as F
from torch import nn

from nas.proxies import register_proxy
from nas.proxies.inputs import Probe

__all__ = ["synflow", "naswot", "grad_norm", "snip", "zico", "params", "madds"]

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Hardswish, nn.SiLU, nn.GELU)  # NASWOT's binary codes come from these


def _weights(model: nn.Module) -> List[nn.Parameter]:
    return [p for p in model.parameters() if p.dim() >= 2]


def _ce_grads(probe: Probe, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> List[torch.Tensor]:
    """Return the gradients of the weights under the cross-entropy of ``(x, y)`` (train mode: batch statistics)."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    return [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in _weights(model)]


@register_proxy("synflow")
def synflow(probe: Probe) -> float:
    """Return log of synaptic flow, sum |theta * dR/dtheta| with R the summed output of the |theta| network on ones.

    Tanaka et al. 2020 (SynFlow), used as a zero-cost proxy by Abdelfattah et al. 2021. No data: the input is
    all ones and every weight is replaced by its absolute value, in float64. Our reading: BatchNorm runs in
    eval mode with its initial statistics, which makes it the identity, as the papers' BN-free network. The
    sum grows geometrically with depth, so its natural log is returned (same ranking, no overflow to inf);
    a network whose output does not reach the input (sum 0) gets -1000.
    """
    model = probe.build().double().eval()
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.abs_()
    model.zero_grad(set_to_none=True)
    model(probe.ones()).sum().backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in _weights(model) if p.grad is not None)
    return math.log(total) if total > 0 and math.isfinite(total) else (-1000.0 if total <= 0 else 1000.0)


@register_proxy("naswot")
def naswot(probe: Probe) -> float:
    """Return log det of the NASWOT kernel K[i, j] = units on which inputs i and j agree (both active or not).

    Mellor et al. 2021, "Neural Architecture Search without Training": each activation gives every input a
    binary code (unit > 0); K = C C^T + (1 - C)(1 - C)^T summed over the activation layers, and the score is
    log|K|. Our reading: the identity is added to K so that two inputs with equal codes give a finite value;
    K's entries count thousands of units, so a regular K moves by a negligible amount.
    """
    model = probe.build().train()
    n = probe.inputs.shape[0]
    k = torch.zeros(n, n, dtype=torch.float64, device=probe.device)

    def hook(module, inputs, output) -> None:
        codes = (output.detach().reshape(n, -1) > 0).double()
        k.add_(codes @ codes.t() + (1 - codes) @ (1 - codes).t())

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, ACTIVATIONS)]
    try:
        with torch.no_grad():
            model(probe.inputs)
    finally:
        for h in handles:
            h.remove()
    return float(torch.linalg.slogdet(k + torch.eye(n, dtype=k.dtype, device=k.device))[1])


@register_proxy("grad_norm")
def grad_norm(probe: Probe) -> float:
    """Return the sum over weights of the L2 norm of their cross-entropy gradient on the batch.

    Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight NAS" (grad_norm).
    """
    grads = _ce_grads(probe, probe.build(), probe.inputs, probe.labels)
    return float(sum(float(g.norm()) for g in grads))


@register_proxy("snip")
def snip(probe: Probe) -> float:
    """Return SNIP's connection sensitivity summed over weights, sum |theta * dL/dtheta| (Lee et al. 2019).

    Used as a zero-cost proxy by Abdelfattah et al. 2021; L is the cross-entropy of the batch.
    """
    model = probe.build()
    grads = _ce_grads(probe, model, probe.inputs, probe.labels)
    return float(sum(float((p.detach() * g).abs().sum()) for p, g in zip(_weights(model), grads)))


@register_proxy("zico")
def zico(probe: Probe) -> float:
    """Return ZiCo: the sum over layers of log(sum over weights of mean|g| / std(g)) across mini-batches.

    Li et al. 2023, "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients". Our reading:
    the batch is split into two halves, the paper's two mini-batches; weights whose gradient does not vary
    (std 0) are skipped, as are layers whose sum is 0.
    """
    model = probe.build()
    half = probe.inputs.shape[0] // 2
    parts = [(probe.inputs[:half], probe.labels[:half]), (probe.inputs[half:2 * half], probe.labels[half:2 * half])]
    per_batch = [_ce_grads(probe, model, x, y) for x, y in parts]
    total = 0.0
    for layer in zip(*per_batch):
        g = torch.stack(layer).double()
        # the population std over the mini-batches, in two passes: the same values as g.std(0, unbiased=False),
        # which on CPU is several times slower for a reduction over the leading dimension
        std, mean_abs = (g - g.mean(0)).pow(2).mean(0).sqrt(), g.abs().mean(0)
        nonzero = std > 0
        s = float((mean_abs[nonzero] / std[nonzero]).sum())
        if s > 0:
            total += math.log(s)
    return total


@register_proxy("params")
def params(probe: Probe) -> float:
    """Return the parameter count of the standalone network (a cost baseline, from the space's cost model)."""
    return float(probe.cost().params)


@register_proxy("madds")
def madds(probe: Probe) -> float:
    """Return the multiply-adds of the standalone network at the probe's target (a cost baseline)."""
    return float(probe.cost().madds)


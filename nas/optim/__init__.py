"""Optimizers and LR schedulers, registered by name and built from explicit keyword arguments."""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import ConstantLR, CosineAnnealingLR, LRScheduler

from nas.optim.adarem import AdaRem
from nas.optim.schedulers import DiversityCosine, WarmupCosine
from nas.optim.sgld import SGLD
from nas.registry import Registry

__all__ = [
    "AdaRem",
    "SGLD",
    "DiversityCosine",
    "WarmupCosine",
    "OPTIMIZERS",
    "SCHEDULERS",
    "create_optimizer",
    "create_scheduler",
    "list_optimizers",
    "list_schedulers",
    "register_optimizer",
    "register_scheduler",
    "param_groups_weight_decay",
]

OptimizerBuilder = Callable[..., Optimizer]
SchedulerBuilder = Callable[..., LRScheduler]

OPTIMIZERS: Registry[OptimizerBuilder] = Registry("optimizer")
SCHEDULERS: Registry[SchedulerBuilder] = Registry("scheduler")

OPTIMIZERS.add("sgd", torch.optim.SGD)  # momentum, dampening, nesterov, weight_decay as in torch
OPTIMIZERS.add("adam", torch.optim.Adam)
OPTIMIZERS.add("adamw", torch.optim.AdamW)
OPTIMIZERS.add("adarem", AdaRem)
OPTIMIZERS.add("sgld", SGLD)


def register_optimizer(name: str) -> Callable[[OptimizerBuilder], OptimizerBuilder]:
    """Return a decorator registering an optimizer class or builder ``(params, **kwargs)`` under ``name``."""
    return OPTIMIZERS.register(name)


def register_scheduler(name: str) -> Callable[[SchedulerBuilder], SchedulerBuilder]:
    """Return a decorator registering a scheduler class or builder ``(optimizer, **kwargs)`` under ``name``."""
    return SCHEDULERS.register(name)


def list_optimizers(pattern: str = "*") -> List[str]:
    """Return the registered optimizer names matching an fnmatch ``pattern``."""
    return OPTIMIZERS.list(pattern)


def list_schedulers(pattern: str = "*") -> List[str]:
    """Return the registered scheduler names matching an fnmatch ``pattern``."""
    return SCHEDULERS.list(pattern)


def create_optimizer(name: str, params: Iterable[Any], **kwargs: Any) -> Optimizer:
    """Build the optimizer registered as ``name`` over ``params`` (tensors or param-group dicts).

    Example:
        >>> opt = create_optimizer("sgd", nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9, nesterov=True)
    """
    return OPTIMIZERS.get(name)(params, **kwargs)


def create_scheduler(name: str, optimizer: Optimizer, **kwargs: Any) -> LRScheduler:
    """Build the LR scheduler registered as ``name`` for ``optimizer``.

    Example:
        >>> opt = create_optimizer("sgd", nn.Linear(2, 2).parameters(), lr=0.1)
        >>> sched = create_scheduler("warmup_cosine", opt, total_steps=100, warmup_steps=5)
    """
    return SCHEDULERS.get(name)(optimizer, **kwargs)


@register_scheduler("constant")
def _constant(optimizer: Optimizer) -> LRScheduler:
    """Keep every group's LR at its initial value."""
    return ConstantLR(optimizer, factor=1.0, total_iters=0)


@register_scheduler("cosine")
def _cosine(optimizer: Optimizer, total_steps: int, lr_min: float = 0.0) -> LRScheduler:
    """Anneal every group's LR to ``lr_min`` over ``total_steps`` with one half cosine (torch CosineAnnealingLR)."""
    return CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=lr_min)


SCHEDULERS.add("warmup_cosine", WarmupCosine)
SCHEDULERS.add("diversity", DiversityCosine)


def param_groups_weight_decay(model: nn.Module, weight_decay: float) -> List[Dict[str, Any]]:
    """Split trainable params into a decayed group and a group of 1-D params (norm scales, biases) without decay.

    Decaying BN/LN scales and biases only shrinks them toward 0 without regularising the function, so common
    ImageNet recipes exempt them. Empty groups are dropped.
    """
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim <= 1 else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]

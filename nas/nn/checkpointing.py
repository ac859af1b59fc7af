"""Activation checkpointing of a network's blocks: keep only block inputs, recompute the rest in backward."""
from __future__ import annotations

import contextlib
import functools
from typing import Iterator, List

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = ["checkpoint_blocks", "BLOCK_CONTAINERS"]

BLOCK_CONTAINERS = ("blocks", "nodes")  # the block lists of pv_st's PvNet and st_topo's TopoNet


@contextlib.contextmanager
def _frozen_bn_stats(module: nn.Module) -> Iterator[None]:
    """Keep BatchNorm running statistics still during the recompute (they were updated in the forward)."""
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
             for m in bns]
    for m in bns:
        m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(bns, saved):
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


def _checkpointed(forward, module: nn.Module, *args, **kwargs):
    if not (module.training and torch.is_grad_enabled()):
        return forward(*args, **kwargs)
    contexts = functools.partial(lambda: (contextlib.nullcontext(), _frozen_bn_stats(module)))
    return checkpoint(forward, *args, use_reentrant=False, context_fn=contexts, **kwargs)


def _containers(model: nn.Module) -> List[nn.Module]:
    return [m for name, m in model.named_modules() if name.rpartition(".")[2] in BLOCK_CONTAINERS
            and isinstance(m, (nn.Sequential, nn.ModuleList))]


def checkpoint_blocks(model: nn.Module) -> int:
    """Checkpoint every block of ``model``'s block lists in training; return how many blocks were wrapped.

    The wrapped forward is set on each block instance, so parameter names and state_dicts do not change.
    Dropout inside a block draws the same mask in the recompute (torch restores the RNG state), and BatchNorm
    statistics are updated once, so the loss and gradients equal the plain model's.
    """
    count = 0
    for container in _containers(model):
        for block in container:
            block.forward = functools.partial(_checkpointed, block.forward, block)
            count += 1
    return count

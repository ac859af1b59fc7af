"""The supernet contract (set_active / sample_active / extract) and BatchNorm recalibration."""
from __future__ import annotations

import abc
import random
from typing import Iterable, List

import torch
from torch import nn

from nas.core.genotype import Genotype
from nas.core.space import Space

__all__ = ["Supernet", "recalibrate_bn"]


class Supernet(nn.Module, abc.ABC):
    """Shared weights for every member of ``space``.

    Subclasses implement ``set_active`` and ``extract``. Differentiable supernets also return their
    architecture parameters from ``arch_parameters``; ``weight_parameters`` is everything else.
    """

    space: Space

    @abc.abstractmethod
    def set_active(self, genotype: Genotype) -> None:
        """Route ``forward`` through ``genotype``'s ops only."""

    def sample_active(self, rng: random.Random) -> Genotype:
        """Activate a uniformly sampled genotype and return it."""
        g = self.space.sample(rng)
        self.set_active(g)
        return g

    @abc.abstractmethod
    def extract(self, genotype: Genotype, copy_weights: bool = True, **model_kwargs) -> nn.Module:
        """Return a standalone ``nn.Module`` for ``genotype``, with the shared weights copied when asked."""

    def arch_parameters(self) -> List[nn.Parameter]:
        """Return architecture parameters (none for one-shot supernets)."""
        return []

    def weight_parameters(self) -> List[nn.Parameter]:
        """Return the shared weights: every parameter that is not an architecture parameter."""
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Iterable[torch.Tensor]) -> None:
    """Recompute every BatchNorm's running statistics as a plain average over ``batches``.

    Shared weights trained under many sampled paths leave running statistics that match no single
    path, so a candidate must be recalibrated before it is scored (SPOS, ST-NAS).
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m, m.momentum) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # None = cumulative moving average over the batches seen
    was_training = model.training
    model.train()
    try:
        for x in batches:
            model(x)
    finally:
        for m, momentum in saved:
            m.momentum = momentum
        model.train(was_training)

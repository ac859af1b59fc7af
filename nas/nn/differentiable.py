"""The differentiable supernet contract: what the bilevel trainer needs beyond the one-shot verbs.

A differentiable supernet holds one row of architecture logits ``alpha`` per slot (a block, an edge), one
``MixedOp`` per slot (or several sharing the slot's draw, as NAS-Bench-201's cells do), a relaxation that
turns a row into op weights on every forward, ``argmax`` (the derived genotype) and the per-slot op costs
that turn ``alpha`` into an expected cost. The bilevel trainer (``nas.search.bilevel``) sees only this.
"""
from __future__ import annotations

import abc
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from nas.core.genotype import Genotype
from nas.nn.mixed import MixedOp, relax
from nas.nn.supernet import Supernet

__all__ = ["DifferentiableSupernet"]


class DifferentiableSupernet(Supernet):
    """A supernet with architecture logits ``alpha`` of shape ``[slots, ops]`` and a relaxed ``forward``.

    A subclass builds its network as ``self.net``, then calls :meth:`init_arch`, and implements
    :meth:`slot_mixed_ops` (the MixedOps of each slot, in ``slot_keys`` order). ``set_active(g)`` routes every
    slot through ``g``'s op; ``set_relaxation(mode, ...)`` makes ``forward`` draw per-slot weights from alpha
    (see :func:`nas.nn.mixed.relax`) instead, until the next ``set_active``.
    """

    net: nn.Module
    slot_keys: Tuple[str, ...]  # the space dimension of each alpha row, in row order
    op_names: Tuple[str, ...]  # the op of each alpha column, in column order

    def init_arch(self, slot_keys: Sequence[str], op_names: Sequence[str]) -> None:
        """Create ``alpha`` (N(0, 1e-3) from torch's generator, after the weights) and activate the default member."""
        self.slot_keys, self.op_names = tuple(slot_keys), tuple(op_names)
        self.alpha = nn.Parameter(1e-3 * torch.randn(len(self.slot_keys), len(self.op_names)))
        self.mode: Optional[str] = None
        self.tau, self.k = 1.0, 2
        self.generator: Optional[torch.Generator] = None
        self.set_active(self.space.default())

    @abc.abstractmethod
    def slot_mixed_ops(self) -> List[List[MixedOp]]:
        """Return, per slot, the MixedOps that share its alpha row and its draw."""

    @property
    def mixed_ops(self) -> List[MixedOp]:
        """Return one MixedOp per slot (the first of each slot's group; a group shares op names)."""
        return [ms[0] for ms in self.slot_mixed_ops()]

    def arch_parameters(self) -> List[nn.Parameter]:
        """Return ``[alpha]``."""
        return [self.alpha]

    def set_active(self, genotype: Genotype) -> None:
        """Route ``forward`` through ``genotype``'s ops only (and leave relaxed mode)."""
        problem = self.space.contains(genotype)
        if problem:
            raise ValueError(problem)
        self.mode = None
        for ms, op in zip(self.slot_mixed_ops(), genotype.values):
            for m in ms:
                m.active, m.weights, m.paths = self.op_names.index(op), None, None
        self.active = genotype

    def set_relaxation(self, mode: str, tau: float = 1.0, k: int = 2,
                       generator: Optional[torch.Generator] = None) -> None:
        """Make ``forward`` mix ops by relaxed alpha: ``softmax`` (all paths), ``gumbel`` (one) or ``sample`` (k).

        ``generator`` supplies the Gumbel noise of every later relaxed forward (the run owns and checkpoints
        it); None draws from torch's global generator.
        """
        # One throw-away relaxation checks the mode (a one-line error names the known ones). Under gumbel/sample
        # it draws noise, from the same source as later forwards, and seeded runs have always included that draw.
        relax(self.alpha[0].detach(), mode, tau, k, generator)
        self.mode, self.tau, self.k, self.generator = mode, tau, k, generator

    def argmax(self) -> Genotype:
        """Return the genotype of argmax(alpha) per slot."""
        idx = self.alpha.detach().argmax(-1).tolist()
        return self.space.freeze({key: self.op_names[i] for key, i in zip(self.slot_keys, idx)})

    def op_costs(self, resolution: int, **target: Any) -> List[Dict[str, Any]]:
        """Return, per slot, each op's cost at the target size (the rows that weigh ``softmax(alpha)``)."""
        return self.space.op_costs(resolution, **target)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode is not None:
            for ms, row in zip(self.slot_mixed_ops(), self.alpha):
                weights, paths = relax(row, self.mode, self.tau, self.k, self.generator)
                for m in ms:  # one draw per slot, shared by every MixedOp of the slot
                    m.weights, m.paths = weights, paths
        return self.net(x)

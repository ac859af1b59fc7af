"""The nb201 supernet: every edge of every cell holds all five ops; one-shot and relaxed (DARTS/GDAS) forward."""
from __future__ import annotations

import random
from typing import List, Optional

import torch
from torch import nn

from nas.core.genotype import Genotype
from nas.nn.init import init_weights
from nas.nn.mixed import MixedOp, relax
from nas.nn.supernet import Supernet
from search_spaces.nb201 import skeleton as sk
from search_spaces.nb201.model import Cell, Nb201Net, build_model
from search_spaces.nb201.ops import build_op

__all__ = ["Nb201Supernet"]


class _SuperCell(Cell):
    """A cell whose every edge is a MixedOp; an edge whose active op is ``none`` is left out of the sum."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x] + [torch.zeros_like(x) for _ in range(sk.NUM_NODES - 1)]
        for name, m in self.edges.items():
            if m.weights is None and m.names[m.active] == "none":
                continue  # the standalone model has no module here: skipping keeps outputs identical
            nodes[self.dst[name]] = nodes[self.dst[name]] + m(nodes[self.src[name]])
        return nodes[-1]


class Nb201Supernet(Supernet):
    """Shared weights for all 15,625 cells (one set per cell position), plus logits ``alpha`` ``[6, 5]``.

    Every cell of the network shares the same genotype, as in NAS-Bench-201, so ``alpha`` has one row per
    edge. ``set_active(g)`` routes every edge through ``g``'s op; ``set_relaxation`` mixes them by alpha.
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0):
        super().__init__()
        from nas import get_space

        self.space = get_space("nb201")
        self.num_classes, self.width = num_classes, width

        def make_cell(c: int) -> _SuperCell:
            return _SuperCell(nn.ModuleDict({d: MixedOp([build_op(o, c) for o in sk.OPS], sk.OPS)
                                             for d in sk.DIMS}))

        self.net = Nb201Net(make_cell, num_classes, width)
        init_weights(self.net)
        self.alpha = nn.Parameter(1e-3 * torch.randn(len(sk.DIMS), len(sk.OPS)))
        self.mode: Optional[str] = None
        self.tau, self.k = 1.0, 2
        self.generator: Optional[torch.Generator] = None
        self.set_active(self.space.default())

    def _mixed(self) -> List[List[MixedOp]]:
        """Return, per edge, its MixedOp in every cell."""
        cells = [c for c in self.net.cells if isinstance(c, _SuperCell)]
        return [[c.edges[d] for c in cells] for d in sk.DIMS]

    @property
    def mixed_ops(self) -> List[MixedOp]:
        """Return one MixedOp per edge (the first cell's; all cells share the edge's draw and op names)."""
        return [ms[0] for ms in self._mixed()]

    def arch_parameters(self) -> List[nn.Parameter]:
        """Return ``[alpha]``."""
        return [self.alpha]

    def set_active(self, genotype: Genotype) -> None:
        """Route ``forward`` through ``genotype``'s ops only (and leave relaxed mode)."""
        problem = self.space.contains(genotype)
        if problem:
            raise ValueError(problem)
        self.mode = None
        for ms, op in zip(self._mixed(), genotype.values):
            for m in ms:
                m.active, m.weights, m.paths = sk.OPS.index(op), None, None
        self.active = genotype

    def set_relaxation(self, mode: str, tau: float = 1.0, k: int = 2,
                       generator: Optional[torch.Generator] = None) -> None:
        """Make ``forward`` mix ops by relaxed alpha (``softmax``, ``gumbel`` or ``sample``; see ``relax``)."""
        relax(self.alpha[0].detach(), mode, tau, k, generator)  # a bad mode is a one-line error here
        self.mode, self.tau, self.k, self.generator = mode, tau, k, generator

    def argmax(self) -> Genotype:
        """Return the genotype of argmax(alpha) per edge."""
        idx = self.alpha.detach().argmax(-1).tolist()
        return self.space.freeze({d: sk.OPS[i] for d, i in zip(sk.DIMS, idx)})

    def sample_active(self, rng: random.Random) -> Genotype:
        """Activate a uniformly sampled genotype and return it."""
        g = self.space.sample(rng)
        self.set_active(g)
        return g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode is not None:
            for ms, row in zip(self._mixed(), self.alpha):
                weights, paths = relax(row, self.mode, self.tau, self.k, self.generator)
                for m in ms:  # one draw per edge, shared by its 15 cells (they share the genotype)
                    m.weights, m.paths = weights, paths
        return self.net(x)

    def extract(self, genotype: Genotype, copy_weights: bool = True, **model_kwargs) -> Nb201Net:
        """Return the standalone network of ``genotype`` with the shared weights copied into it."""
        kwargs = {"num_classes": self.num_classes, "width": self.width, **model_kwargs}
        model = build_model(genotype, **kwargs)
        if copy_weights:
            src = self.net.state_dict()
            pick = {d: sk.OPS.index(op) for d, op in genotype.choices}
            state = {}
            for key in model.state_dict():
                parts = key.split(".")
                if len(parts) > 3 and parts[0] == "cells" and parts[2] == "edges":
                    parts[3:4] = [parts[3], "ops", str(pick[parts[3]])]
                state[key] = src[".".join(parts)]
            model.load_state_dict(state)
        return model

"""The nb201 supernet: every edge of every cell holds all five ops; one-shot and relaxed (DARTS/GDAS) forward."""
from __future__ import annotations

from typing import List

import torch
from torch import nn

from nas.core.genotype import Genotype
from nas.nn.differentiable import DifferentiableSupernet
from nas.nn.init import init_weights
from nas.nn.mixed import MixedOp
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


class Nb201Supernet(DifferentiableSupernet):
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
        self.init_arch(sk.DIMS, sk.OPS)

    def slot_mixed_ops(self) -> List[List[MixedOp]]:
        """Return, per edge, its MixedOp in every cell (they share the edge's alpha row and draw)."""
        cells = [c for c in self.net.cells if isinstance(c, _SuperCell)]
        return [[c.edges[d] for c in cells] for d in sk.DIMS]

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

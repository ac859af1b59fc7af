"""The pv_st supernet: every block's slot is a MixedOp over all temporal ops, with one alpha row per slot."""
from __future__ import annotations

from typing import List

import torch

from nas.core.genotype import Genotype
from nas.nn.differentiable import DifferentiableSupernet
from nas.nn.init import init_weights
from nas.nn.mixed import MixedOp
from search_spaces.pv_st import skeleton as sk
from search_spaces.pv_st.cost import OP_NAMES
from search_spaces.pv_st.model import BasicBlock, Bottleneck, PvNet, build_model, stem
from search_spaces.pv_st.ops import SHIFT_AT_INPUT, build_slot_op, temporal_shift

__all__ = ["PvStSupernet", "PvStMSupernet", "PvStTinySupernet"]


class _MixedBlock:
    """Mixin: run a block's MixedOp with every path fed its own input, shifted for ``t_shift`` (TSM) paths."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.op
        entered: dict = {}

        def run(i: int) -> torch.Tensor:
            shift = m.names[i] in SHIFT_AT_INPUT
            if shift not in entered:  # at most two branch inputs per forward: shifted and plain
                entered[shift] = self.enter(temporal_shift(x) if shift else x)
            return m.ops[i](entered[shift])

        if m.weights is None or m.paths is None:
            return self.tail(run(m.active), x)
        y = None
        for i in m.paths:
            y = m.weights[i] * run(i) if y is None else y + m.weights[i] * run(i)
        return self.tail(y, x)


class MixedBasic(_MixedBlock, BasicBlock):
    """A basic block whose slot is a MixedOp."""


class MixedBottleneck(_MixedBlock, Bottleneck):
    """A bottleneck whose slot is a MixedOp."""


class PvStSupernet(DifferentiableSupernet):
    """Shared weights for all of a pv_st space, plus architecture logits ``alpha`` of shape ``[slots, ops]``.

    ``set_active(g)`` routes every slot through ``g``'s op; ``set_relaxation(mode, ...)`` makes ``forward``
    draw per-slot weights from alpha (see :func:`nas.nn.mixed.relax`) instead.
    """

    space_name = "pv_st"

    def __init__(self, num_classes: int = 400, dropout: float = 0.0, width: float = 1.0):
        super().__init__()
        from nas import get_space

        self.space = get_space(self.space_name)
        self.num_classes, self.dropout, self.width = num_classes, dropout, width
        skel = sk.scaled(self.space.skeleton, width)
        cls = MixedBasic if skel.block == "basic" else MixedBottleneck

        def mixed(s: sk.Slot) -> MixedOp:
            return MixedOp([build_slot_op(o, s.op_in, s.op_out, s.stride) for o in OP_NAMES], OP_NAMES)

        blocks = [cls(s, mixed(s)) for s in sk.slots(skel)]
        self.net = PvNet(stem(skel), blocks, sk.slots(skel)[-1].block_out, num_classes, dropout)
        init_weights(self.net)
        self.init_arch([s.key for s in self.space.slots], OP_NAMES)

    def slot_mixed_ops(self) -> List[List[MixedOp]]:
        """Return each block's MixedOp, one per slot, in forward order."""
        return [[b.op] for b in self.net.blocks]

    def extract(self, genotype: Genotype, copy_weights: bool = True, **model_kwargs) -> PvNet:
        """Return the standalone PvNet of ``genotype`` (at the supernet's width) with the shared weights copied in."""
        kwargs = {"num_classes": self.num_classes, "dropout": self.dropout, "width": self.width, **model_kwargs}
        model = build_model(genotype, **kwargs)
        if copy_weights:
            model.load_state_dict(self._state_for(genotype))
        return model

    def _state_for(self, genotype: Genotype) -> dict:
        """Return the supernet's weights renamed to the standalone model's keys for ``genotype``."""
        src = self.net.state_dict()
        picks = {f"blocks.{i}.op.": f"blocks.{i}.op.ops.{OP_NAMES.index(op)}." for i, (_, op) in
                 enumerate(genotype.choices)}
        out = {}
        for key in build_model(genotype, num_classes=self.num_classes, width=self.width).state_dict():
            prefix = next((p for p in picks if key.startswith(p)), None)
            out[key] = src[picks[prefix] + key[len(prefix):] if prefix else key]
        return out


class PvStMSupernet(PvStSupernet):
    """The supernet of the median space ``pv_st_m``."""

    space_name = "pv_st_m"


class PvStTinySupernet(PvStSupernet):
    """The supernet of the small test space ``pv_st_tiny``."""

    space_name = "pv_st_tiny"

"""Build the module a pv_st latency-table key stands for: one whole block with its slot op."""
from __future__ import annotations

from typing import Tuple

from torch import nn

from search_spaces.pv_st import skeleton as sk
from search_spaces.pv_st.model import BasicBlock, Bottleneck
from search_spaces.pv_st.ops import SHIFT_AT_INPUT, build_slot_op

__all__ = ["build_block"]


def build_block(key: str) -> Tuple[nn.Module, Tuple[int, ...]]:
    """Return ``(block, (C, T, H, W))`` of key ``block|op|TxHxW|in>op_in>op_out>out|sS``."""
    kind, op, thw, chans, stride = key.split("|")
    t, h, w = (int(v) for v in thw.split("x"))
    c_in, op_in, op_out, c_out = (int(v) for v in chans.split(">"))
    slot = sk.Slot("b00", c_in, c_out, op_in, op_out, int(stride[1:]))
    cls = BasicBlock if kind == "basic" else Bottleneck
    block = cls(slot, build_slot_op(op, op_in, op_out, slot.stride), op in SHIFT_AT_INPUT)
    return block, (c_in, t, h, w)

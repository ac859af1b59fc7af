"""The fixed parts of NAS-Bench-201's network: edge order, ops, stages and the arch-string grammar. No torch.

Edges are listed in the order of NAS-Bench-201's arch string ``|o~0|+|o~0|o~1|+|o~0|o~1|o~2|``: the three
``+`` groups are nodes 1, 2 and 3, and ``o~j`` is the op on the edge from node ``j`` into that node.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

__all__ = ["OPS", "EDGES", "DIMS", "STAGES", "CELLS_PER_STAGE", "STEM_CHANNELS", "to_arch_str", "from_arch_str"]

OPS: Tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES: Tuple[Tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # (src, dst), string order
DIMS: Tuple[str, ...] = tuple(f"n{dst}_{src}" for src, dst in EDGES)  # "n2_1": the edge 1 -> 2
NUM_NODES = 4  # node 0 is the cell input, node 3 its output
STEM_CHANNELS = 16
STAGES: Tuple[int, ...] = (16, 32, 64)  # channels of the three stages; a residual reduction block between stages
CELLS_PER_STAGE = 5


def to_arch_str(ops: Tuple[str, ...]) -> str:
    """Return NAS-Bench-201's arch string of six ops given in ``EDGES`` order."""
    groups, i = [], 0
    for node in range(1, NUM_NODES):
        groups.append("|" + "|".join(f"{ops[i + j]}~{j}" for j in range(node)) + "|")
        i += node
    return "+".join(groups)


def from_arch_str(text: str) -> Optional[List[str]]:
    """Return the six ops of a NAS-Bench-201 arch string in ``EDGES`` order, or None if it is not one.

    Only the grammar is checked (three groups of 1, 2 and 3 ``op~src`` items with the right sources); the ops
    are checked by the space's ``contains``.
    """
    groups = text.strip().split("+")
    if len(groups) != NUM_NODES - 1:
        return None
    ops: List[str] = []
    for node, group in enumerate(groups, 1):
        if not (group.startswith("|") and group.endswith("|")):
            return None
        items = group[1:-1].split("|")
        if len(items) != node:
            return None
        for src, item in enumerate(items):
            op, sep, idx = item.rpartition("~")
            if not sep or idx != str(src):
                return None
            ops.append(op)
    return ops

"""The nb201 space (NAS-Bench-201, Dong & Yang 2020): one cell of 6 edges, each one of 5 ops. No torch."""
from __future__ import annotations

import functools
from typing import Dict, List, Optional, Tuple

from nas.core.cost import Cost
from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.core.target import Target
from nas.errors import NasError
from search_spaces.nb201 import skeleton as sk
from search_spaces.nb201.cost import head_cost, op_cost, reduction_cost, stem_cost

__all__ = ["Nb201Space"]


def _edge_key(op: str, c: int, side: int) -> str:
    """Return the latency key of one cell edge: op ``op`` on ``c x side x side`` plus the sum into its node."""
    return f"{op}|{side}x{side}|{c}"


class Nb201Space(Space):
    """NAS-Bench-201's cell search space: 5^6 = 15,625 cells, all stacked in one fixed macro skeleton.

    The canonical string lists the six ops in the order of NAS-Bench-201's arch string, so the two map one
    to one (``arch_str`` / ``parse``); ``nas.load_genotype`` takes either form.

    Example:
        >>> from nas import get_space
        >>> space = get_space("nb201")
        >>> space.size()
        15625
        >>> g = space.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|")
        >>> str(g)
        'nb201:nor_conv_3x3,none,skip_connect,none,none,avg_pool_3x3'
        >>> space.arch_str(g)
        '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|'
    """

    name = "nb201"
    default_target = Target(32, 10)  # CIFAR-10, the benchmark's own setting
    min_resolution = 4  # two stride-2 reductions

    def dims(self) -> Dict[str, Tuple[str, ...]]:
        """Return one dimension per edge, ``n<dst>_<src>``, in arch-string order, each over the five ops."""
        return {d: sk.OPS for d in sk.DIMS}

    def default(self) -> Genotype:
        """Return the ResNet-like cell (the benchmark's usual reference member)."""
        return self.named()["resnet"]

    def named(self) -> Dict[str, Genotype]:
        """Return the named cells (see ``search_spaces.nb201.genotypes``)."""
        from search_spaces.nb201.genotypes import NAMED

        return {name: self.parse(text) for name, text in NAMED.items()}

    def arch_str(self, g: Genotype) -> str:
        """Return NAS-Bench-201's arch string of ``g``."""
        return sk.to_arch_str(g.values)

    def parse(self, text: str) -> Genotype:
        """Parse ``nb201:<6 ops>``, ``nb201:<arch string>`` or a bare NAS-Bench-201 arch string."""
        body = text.strip()
        if body.startswith(f"{self.name}:"):
            body = body[len(self.name) + 1:]
        ops = sk.from_arch_str(body) if body.startswith("|") else body.split(",")
        if ops is None or len(ops) != len(sk.DIMS):
            raise NasError(f"not an nb201 genotype (6 comma-separated ops or a NAS-Bench-201 arch string): "
                           f"{text[:80]!r}")
        return self.freeze(dict(zip(sk.DIMS, ops)))

    def parse_alias(self, text: str) -> Optional[Genotype]:
        """Return the genotype of a bare NAS-Bench-201 arch string, or None if ``text`` is not one."""
        return self.parse(text) if sk.from_arch_str(text) is not None else None

    def target(self, resolution: Optional[int] = None, num_classes: Optional[int] = None,
               frames: Optional[int] = None, **unknown: object) -> Target:
        """Return the checked target; the resolution must also be a multiple of 4 (two 2x2-pooled shortcuts)."""
        t = super().target(resolution, num_classes, frames, **unknown)
        if t.resolution % 4:
            raise NasError(f"nb201 needs a resolution divisible by 4 (its reduction shortcuts pool 2x2), "
                           f"got {t.resolution}")
        return t

    def is_connected(self, g: Genotype) -> bool:
        """Return whether some path of non-``none`` edges joins the cell input to its output."""
        reach = {0}
        for (src, dst), op in zip(sk.EDGES, g.values):
            if op != "none" and src in reach:
                reach.add(dst)
        return sk.NUM_NODES - 1 in reach

    def breakdown_at(self, g: Genotype, target: Target) -> List[Tuple[str, Cost]]:
        """Return ``(part, Cost)`` rows: stem, each stage's five cells, each reduction block, head."""
        r = target.resolution
        rows: List[Tuple[str, Cost]] = [("stem", stem_cost(r, sk.STEM_CHANNELS)[0])]
        hw, c_prev = (r, r), sk.STEM_CHANNELS
        for i, c in enumerate(sk.STAGES):
            if i:
                block, hw = reduction_cost(hw, c_prev, c)
                rows.append((f"reduction{i} ({c_prev}->{c}ch)", block))
            cell = sum((op_cost(op, hw, c) for op in g.values), Cost())
            rows.append((f"stage{i + 1} ({c}ch, {sk.CELLS_PER_STAGE} cells)",
                         Cost(cell.madds * sk.CELLS_PER_STAGE, cell.params * sk.CELLS_PER_STAGE)))
            c_prev = c
        rows.append(("head", head_cost(c_prev, target.num_classes)))
        return rows

    def cost_at(self, g: Genotype, target: Target) -> Cost:
        """Return the exact MAdds and parameters of ``g``'s standalone model (a per-op table, built once)."""
        base, per_op = self._table(target.resolution, target.num_classes)
        total = base
        for op in g.values:
            total = total + per_op[op]
        return total

    @functools.lru_cache(maxsize=32)
    def _table(self, resolution: int, num_classes: int) -> Tuple[Cost, Dict[str, Cost]]:
        """Return the cost of the fixed parts and, per op, the cost of one edge carrying it in all 15 cells."""
        rows = self.breakdown_at(self.freeze({d: "none" for d in sk.DIMS}), Target(resolution, num_classes))
        base = sum((c for _, c in rows), Cost())
        per_op = {}
        for op in sk.OPS:
            one = self.breakdown_at(self.freeze({d: (op if d == sk.DIMS[0] else "none") for d in sk.DIMS}),
                                    Target(resolution, num_classes))
            per_op[op] = sum((c for _, c in one), Cost()) + Cost(-base.madds, -base.params)
        return base, per_op

    def op_costs(self, resolution: int = 32) -> List[Dict[str, Cost]]:
        """Return, per edge, the cost of every op on it (in all 15 cells): the expected-cost table of alpha."""
        per_op = self._table(resolution, self.default_target.num_classes)[1]  # the classifier is not an edge's
        return [dict(per_op) for _ in sk.DIMS]

    def latency_blocks(self, g: Genotype, target: Target) -> List[str]:
        """Return the latency keys of ``g``: one per edge that runs (``none`` edges are left out of the model), in
        every cell of every stage. The stem, reduction blocks and head are the same for every member: the
        table's overhead measures them."""
        keys: List[str] = []
        for c, side in zip(sk.STAGES, self._stage_sides(target.resolution)):
            keys += [_edge_key(g[d], c, side) for d in sk.DIMS if g[d] != "none"] * sk.CELLS_PER_STAGE
        return keys

    def block_configs(self, target: Target) -> List[str]:
        """Return every distinct edge key at ``target``: each op that runs, at each stage's shape."""
        sides = self._stage_sides(target.resolution)
        return sorted({_edge_key(op, c, side) for c, side in zip(sk.STAGES, sides) for op in sk.OPS if op != "none"})

    @staticmethod
    def _stage_sides(resolution: int) -> List[int]:
        return [resolution // (2 ** i) for i in range(len(sk.STAGES))]

    def cheapest(self) -> Genotype:
        """Return the all-``none`` cell (every edge free)."""
        return self.freeze({d: "none" for d in sk.DIMS})

    def largest(self) -> Genotype:
        """Return the all-``nor_conv_3x3`` cell."""
        return self.freeze({d: "nor_conv_3x3" for d in sk.DIMS})

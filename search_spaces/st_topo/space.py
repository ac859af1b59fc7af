"""The st_topo space (after ST-NAS): a 20-node chain with 35 optional branch edges and per-edge ops. No torch."""
from __future__ import annotations

import functools
import math
from typing import Dict, List, Optional, Tuple

from nas.core.cost import BackboneGeometry, Cost, linear_cx
from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.core.target import Target
from search_spaces.st_topo import skeleton as sk
from search_spaces.st_topo.cost import head_cost, op_cost, stem_cost

__all__ = ["StTopoSpace", "IR_OPS", "edge_options", "TOTAL_STRIDE"]

KERNELS = (3, 5, 7)
EXPANDS = (3, 6)
IR_OPS: Tuple[str, ...] = tuple(f"k{k}e{e}" for k in KERNELS for e in EXPANDS)
FIRST_OPS: Tuple[str, ...] = tuple(f"k{k}e1" for k in KERNELS)  # 32->16 edge: expansion 1, as in MobileNetV2
TOTAL_STRIDE = 2 * math.prod(s for _, _, s in sk.STAGES)  # the stem's 2 times the stages' strides: 32


def edge_options(edge: sk.Edge) -> Tuple[str, ...]:
    """Return the allowed op codes of an edge.

    Stem edge 1 takes an expansion-1 block (MobileNetV2's first block). Other stem edges take an inverted
    residual; those inside a stage may also be the identity ``id`` (a depth choice). Branch edges are off
    (``-``), a shortcut ``id`` (identity, or a strided 1x1 projection across a shape change), or an
    inverted residual whose depthwise conv carries the stride they cross.
    """
    if edge.is_stem:
        if edge.src == 1:
            return FIRST_OPS
        return IR_OPS if edge.first_in_stage else IR_OPS + ("id",)
    return ("-", "id") + IR_OPS


def _edge_key(code: str, hw: Tuple[int, int], edge: sk.Edge) -> str:
    """Return the latency key of op ``code`` on ``edge`` with input size ``hw`` (stem edges keep their residual)."""
    return f"{code}|{hw[0]}x{hw[1]}|{edge.c_in}>{edge.c_out}|s{edge.stride}|{'r' if edge.is_stem else 'n'}"


def _add_key(c: int, hw: Tuple[int, int]) -> str:
    """Return the latency key of one addition of two ``c x hw`` maps at a node with several inputs."""
    return f"add|{hw[0]}x{hw[1]}|{c}"


class StTopoSpace(Space):
    """Topology-augmented MobileNetV2-style space: 2^35 branch-edge masks times per-edge op choices.

    Example:
        >>> import random
        >>> from nas import get_space
        >>> space = get_space("st_topo")
        >>> space.num_topologies() == 2 ** 35
        True
        >>> g = space.sample(random.Random(0))
        >>> space.contains(g) is None
        True
    """

    name = "st_topo"
    default_target = Target(224, 1000)
    min_resolution = TOTAL_STRIDE  # a smaller input leaves the last stages striding over a single pixel

    def __init__(self) -> None:
        self.stem = sk.stem_edges()
        self.branch = sk.branch_edges()
        self.edges = self.stem + self.branch
        self._dims = {e.key: edge_options(e) for e in self.edges}

    def dims(self) -> Dict[str, Tuple[str, ...]]:
        """Return stem-edge dims ``s01..s19`` then branch-edge dims ``bSSDD`` in (src, dst) order."""
        return dict(self._dims)

    def num_topologies(self) -> int:
        """Return the number of branch-edge on/off masks (2^35)."""
        return 2 ** len(self.branch)

    def active_edges(self, g: Genotype) -> List[Tuple[sk.Edge, str]]:
        """Return the edges that carry an op in ``g`` (identity stem edges included) with their op codes."""
        choice = g.as_dict()
        return [(e, choice[e.key]) for e in self.edges if choice[e.key] != "-"]

    def default(self) -> Genotype:
        """Return MobileNetV2-1.0."""
        return self.named()["mobilenetv2"]

    def named(self) -> Dict[str, Genotype]:
        """Return the published members (``mobilenetv2``)."""
        from search_spaces.st_topo.genotypes import named_genotypes

        return named_genotypes(self)

    def contains(self, g: Genotype) -> Optional[str]:
        """Return why ``g`` is not a member (a bad choice, or a node cut off from the stem or the head), or None."""
        problem = super().contains(g)
        return problem if problem else self._topology_problem(g)

    def graph(self, g: Genotype):
        """Return ``g``'s active topology as a networkx DiGraph on nodes 1..20; edges carry ``op``, ``key``, ``stride``."""
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(range(1, sk.NUM_NODES + 1))
        graph.add_edges_from((e.src, e.dst, {"op": code, "key": e.key, "stride": e.stride})
                             for e, code in self.active_edges(g))
        return graph

    def _topology_problem(self, g: Genotype) -> Optional[str]:
        """Return a one-line problem if some node is not on a path from the stem (node 1) to the head."""
        import networkx as nx

        graph = self.graph(g)
        head = sk.NUM_NODES
        unreached = sorted(set(graph) - nx.descendants(graph, 1) - {1})
        dead = sorted(set(graph) - nx.ancestors(graph, head) - {head})
        if unreached or dead:
            return (f"st_topo genotype has nodes off the stem-to-head path (unreached from the stem: "
                    f"{unreached[:5]}, not reaching the head: {dead[:5]})")
        return None

    def breakdown_at(self, g: Genotype, target: Target) -> List[Tuple[str, Cost]]:
        """Return ``(part, Cost)`` rows: stem, each stage (its stem and incoming branch edges) and head."""
        resolution, num_classes = target.resolution, target.num_classes
        sizes = sk.node_sizes(resolution)
        ch = sk.node_channels()
        rows: List[Tuple[str, Cost]] = [("stem", stem_cost(resolution, sk.STEM_CHANNELS)[0])]
        per_stage = [Cost() for _ in sk.STAGES]
        for edge, code in self.active_edges(g):
            residual = edge.is_stem
            c = op_cost(code, sizes[edge.src - 1], edge.c_in, edge.c_out, edge.stride, residual)
            stage = sk.stage_of_node(edge.dst)
            per_stage[stage] = per_stage[stage] + c
        for i, (c_out, depth, _) in enumerate(sk.STAGES):
            rows.append((f"stage{i + 1} ({c_out}ch)", per_stage[i]))
        rows.append(("head", head_cost(sizes[-1], ch[-1], sk.HEAD_CHANNELS, num_classes)))
        return rows

    def cost_at(self, g: Genotype, target: Target) -> Cost:
        """Return the exact MAdds and parameters of ``g``'s standalone model.

        Node shapes are fixed by the skeleton, so the cost is a sum of per-choice terms: it is read from a
        table built once per (resolution, num_classes). ``breakdown_at`` computes the same sum per stage.
        """
        base, table = self._table(target.resolution, target.num_classes)
        total = base
        for dim, value in g.choices:
            total = total + table[dim][value]
        return total

    def backbone_geometry(self, g: Genotype, side: int, stem_stride: Optional[int] = None) -> BackboneGeometry:
        """Return the cost (no classifier) and node maps of ``g``'s backbone fed ``side`` px, no module built.

        A stride-1 stem on ``side`` gives the same maps (and cost) as the stride-2 stem on ``2 * side``.
        """
        resolution = side if stem_stride in (None, 2) else 2 * side
        if stem_stride not in (None, 1, 2):
            raise ValueError(f"st_topo stem_stride is 1 or 2, got {stem_stride}")
        model = self.cost_at(g, Target(resolution, 1))
        fc = linear_cx(sk.HEAD_CHANNELS, 1)
        sizes = sk.node_sizes(resolution)
        return BackboneGeometry(body=Cost(model.madds - fc.madds, model.params - fc.params), stem_kernel=3,
                                stem_channels=sk.STEM_CHANNELS, stem_side=sizes[0][0],
                                sides=tuple(h for h, _ in sizes[1:]), channels=tuple(sk.node_channels()[1:]),
                                num_features=sk.HEAD_CHANNELS)

    @functools.lru_cache(maxsize=32)
    def _table(self, resolution: int, num_classes: int) -> Tuple[Cost, Dict[str, Dict[str, Cost]]]:
        sizes = sk.node_sizes(resolution)
        ch = sk.node_channels()
        base = stem_cost(resolution, sk.STEM_CHANNELS)[0] + head_cost(sizes[-1], ch[-1], sk.HEAD_CHANNELS,
                                                                        num_classes)
        table = {e.key: {code: op_cost(code, sizes[e.src - 1], e.c_in, e.c_out, e.stride, e.is_stem)
                         for code in self._dims[e.key]} for e in self.edges}
        return base, table

    def latency_blocks(self, g: Genotype, target: Target) -> List[str]:
        """Return the latency keys of ``g``: one per active edge, and one ``add`` per extra input of a node."""
        sizes = sk.node_sizes(target.resolution)
        ch = sk.node_channels()
        keys, fan_in = [], [0] * (sk.NUM_NODES + 1)
        for edge, code in self.active_edges(g):
            keys.append(_edge_key(code, sizes[edge.src - 1], edge))
            fan_in[edge.dst] += 1
        for node in range(2, sk.NUM_NODES + 1):
            keys += [_add_key(ch[node - 1], sizes[node - 1])] * (fan_in[node] - 1)
        return keys

    def block_configs(self, target: Target) -> List[str]:
        """Return every distinct edge-op and node-addition key at ``target`` (edges of equal shape share one)."""
        sizes = sk.node_sizes(target.resolution)
        ch = sk.node_channels()
        keys = {_edge_key(code, sizes[e.src - 1], e) for e in self.edges for code in self._dims[e.key] if code != "-"}
        keys |= {_add_key(ch[n - 1], sizes[n - 1]) for n in range(3, sk.NUM_NODES + 1)}
        return sorted(keys)

    def cheapest(self) -> Genotype:
        """Return the member of least cost: edge costs are independent (node shapes are fixed), so pick per edge."""
        return self._extreme(min)

    def largest(self) -> Genotype:
        """Return the member of greatest cost."""
        return self._extreme(max)

    def _extreme(self, pick) -> Genotype:
        _, table = self._table(self.default_target.resolution, self.default_target.num_classes)
        return self.freeze({dim: pick(opts, key=lambda code: table[dim][code].madds) for dim, opts in table.items()})

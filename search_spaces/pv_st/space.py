"""The pv_st spaces (PV-NAS-like): one temporal op per block of a per-frame ResNet-50 / ResNet-101. No torch."""
from __future__ import annotations

from typing import Dict, List, Tuple

from nas.core.cost import Cost
from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.core.target import Target
from search_spaces.pv_st import skeleton as sk
from search_spaces.pv_st.cost import OP_NAMES, Size3, block_cost, head_cost, op_cost, stem_cost

__all__ = ["PvStSpace", "PvStMSpace", "PvStTinySpace"]


class PvStSpace(Space):
    """The light PV-NAS-like space: ResNet-50 per frame, 16 bottleneck slots with 7 temporal ops each (7^16).

    Size is part of the space *name* (``pv_st`` light, ``pv_st_m`` median, ``pv_st_tiny`` for tests), so a
    genotype string fixes its backbone. ``pv_st:tsm_r50`` is TSM-ResNet50 exactly.

    Example:
        >>> import random
        >>> from nas import get_space
        >>> space = get_space("pv_st")
        >>> space.size() == 7 ** 16
        True
        >>> space.contains(space.sample(random.Random(0))) is None
        True
    """

    name = "pv_st"
    modality = "video"
    default_target = Target(224, 1000, frames=8)
    skeleton: sk.Skeleton = sk.RESNET50
    suffix = "_r50"  # of the named members: tsm_r50, tsn_r50, r2plus1d_r50, i3d_r50

    def __init__(self) -> None:
        self.slots = sk.slots(self.skeleton)
        # The stem, max pool and stage strides: a smaller input would stride over a single pixel (any T >= 1).
        self.min_resolution = sk.total_stride(self.skeleton)

    def dims(self) -> Dict[str, Tuple[str, ...]]:
        """Return one dimension per block slot (``b01``, ...), each with the temporal ops."""
        return {s.key: OP_NAMES for s in self.slots}

    def default(self) -> Genotype:
        """Return the all-shift (TSM-like) member."""
        return self.named()["tsm"]

    def named(self) -> Dict[str, Genotype]:
        """Return the named members (``tsm_r50``, ``tsn_r50``, ...; also the short ``tsm``, ``tsn``, ...)."""
        from search_spaces.pv_st.genotypes import named_genotypes

        return named_genotypes(self, self.suffix)

    def example_input_shape(self, resolution: int, frames: int | None = None) -> tuple:
        """Return ``(1, 3, T, H, W)`` with ``T = frames`` (8 when not given)."""
        return (1, 3, frames or 8, resolution, resolution)

    def slot_sizes(self, resolution: int, frames: int) -> List[Size3]:
        """Return each slot's input size ``(T, H, W)``."""
        t, (h, w) = frames, sk.stem_size(self.skeleton, resolution)
        sizes, hw = [], (h, w)
        for s in self.slots:
            sizes.append((t,) + hw)
            hw = ((hw[0] - 1) // s.stride + 1, (hw[1] - 1) // s.stride + 1)
        return sizes

    def op_costs(self, resolution: int = 224, frames: int = 8) -> List[Dict[str, Cost]]:
        """Return, per slot, the cost of every candidate op (for expected-cost penalties)."""
        sizes = self.slot_sizes(resolution, frames)
        return [{o: op_cost(o, thw, s.op_in, s.op_out, s.stride)[0] for o in OP_NAMES}
                for s, thw in zip(self.slots, sizes)]

    def breakdown_at(self, g: Genotype, target: Target) -> List[Tuple[str, Cost]]:
        """Return ``(part, Cost)`` rows: stem, each block (with its op name) and head."""
        thw = (target.frames, target.resolution, target.resolution)
        skel = self.skeleton
        c, thw = stem_cost(thw, skel.stem, skel.stem_kernel, skel.max_pool)
        rows = [("stem", c)]
        mids = [st.c_mid for st in self.skeleton.stages for _ in range(st.depth)]
        for s, mid in zip(self.slots, mids):
            op, _ = op_cost(g[s.key], thw, s.op_in, s.op_out, s.stride)
            rest, thw = block_cost(self.skeleton.block, thw, s.block_in, mid, s.block_out, s.stride)
            rows.append((f"{s.key} {g[s.key]} ({s.block_out}ch)", op + rest))
        rows.append(("head", head_cost(self.slots[-1].block_out, target.num_classes, target.frames)))
        return rows

    def cost_at(self, g: Genotype, target: Target) -> Cost:
        """Return the exact MAdds and parameters of ``g``'s standalone model on ``target.frames`` frames."""
        return sum((c for _, c in self.breakdown_at(g, target)), Cost())

    def latency_blocks(self, g: Genotype, target: Target) -> List[str]:
        """Return the latency keys of ``g``: one per block (its slot op with the rest of the block)."""
        sizes = self.slot_sizes(target.resolution, target.frames)
        return [self._block_key(g[s.key], s, thw) for s, thw in zip(self.slots, sizes)]

    def block_configs(self, target: Target) -> List[str]:
        """Return every distinct block key at ``target`` (blocks of equal shapes share one per op)."""
        sizes = self.slot_sizes(target.resolution, target.frames)
        return sorted({self._block_key(op, s, thw) for s, thw in zip(self.slots, sizes) for op in OP_NAMES})

    def _block_key(self, op: str, slot: sk.Slot, thw: Size3) -> str:
        """Return ``block|op|TxHxW|in>op_in>op_out>out|sS``: one block with slot op ``op`` on input ``thw``."""
        t, h, w = thw
        return (f"{self.skeleton.block}|{op}|{t}x{h}x{w}|{slot.block_in}>{slot.op_in}>{slot.op_out}>"
                f"{slot.block_out}|s{slot.stride}")

    def cheapest(self) -> Genotype:
        """Return the member of least MAdds at the default target: slot costs are independent, so pick per slot."""
        return self._extreme(min)

    def largest(self) -> Genotype:
        """Return the member of greatest MAdds at the default target."""
        return self._extreme(max)

    def _extreme(self, pick) -> Genotype:
        t = self.default_target
        costs = self.op_costs(t.resolution, t.frames)
        return self.freeze({s.key: pick(OP_NAMES, key=lambda o: per[o].madds) for s, per in zip(self.slots, costs)})


class PvStMSpace(PvStSpace):
    """The median space ``pv_st_m``: ResNet-101 per frame, 33 bottleneck slots with 7 temporal ops each."""

    name = "pv_st_m"
    skeleton = sk.RESNET101
    suffix = "_r101"


class PvStTinySpace(PvStSpace):
    """A small test space ``pv_st_tiny``: 6 basic-block slots (16-64 channels) with 7 temporal ops each."""

    name = "pv_st_tiny"
    skeleton = sk.TINY
    suffix = ""

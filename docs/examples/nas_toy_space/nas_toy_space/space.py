"""The toy space's declaration and its pure cost model. No torch: listing spaces and costing stay light."""
from __future__ import annotations

from typing import Dict, List, Tuple

from nas.core.cost import Cost, bn_cx, conv2d_cx, linear_cx
from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.core.target import Target

__all__ = ["ToySpace", "STEM", "STAGES", "KERNELS", "WIDTHS"]

STEM = 8  # a 3x3 stride-1 conv, 3 -> 8 channels
STAGES = 3  # each stage: a k x k stride-2 conv to w channels, BN, ReLU
KERNELS = ("3", "5")
WIDTHS = ("8", "16", "24")


class ToySpace(Space):
    """Three stages with a kernel ``k<i>`` and a width ``w<i>`` each: (2 * 3) ** 3 = 216 members.

    Example:
        >>> space = ToySpace()
        >>> space.size()
        216
        >>> space.cost(space.named()["small"], resolution=32, num_classes=10).madds
        414800
    """

    name = "toy"
    default_target = Target(32, 10)  # CIFAR-sized images, ten classes
    min_resolution = 8  # three stride-2 stages

    def dims(self) -> Dict[str, Tuple[str, ...]]:
        """Return ``k1, w1, k2, w2, k3, w3``."""
        out: Dict[str, Tuple[str, ...]] = {}
        for i in range(1, STAGES + 1):
            out[f"k{i}"], out[f"w{i}"] = KERNELS, WIDTHS
        return out

    def named(self) -> Dict[str, Genotype]:
        """Return ``small`` (3x3, 8 wide everywhere) and ``big`` (5x5, 24 wide)."""
        return {"small": self.freeze({d: v[0] for d, v in self.dims().items()}),
                "big": self.freeze({d: v[-1] for d, v in self.dims().items()})}

    def breakdown_at(self, g: Genotype, target: Target) -> List[Tuple[str, Cost]]:
        """Return the stem, each stage and the classifier's cost (convs and linears count, BN adds params)."""
        c, hw = conv2d_cx((target.resolution, target.resolution), 3, STEM, 3)
        rows, c_in = [("stem", c + bn_cx(STEM))], STEM
        for i in range(1, STAGES + 1):
            k, w = int(g[f"k{i}"]), int(g[f"w{i}"])
            c, hw = conv2d_cx(hw, c_in, w, k, stride=2)
            rows.append((f"stage{i}", c + bn_cx(w)))
            c_in = w
        rows.append(("head", linear_cx(c_in, target.num_classes)))
        return rows

    def cost_at(self, g: Genotype, target: Target) -> Cost:
        """Return the exact MAdds and parameters of ``g``'s standalone model."""
        return sum((c for _, c in self.breakdown_at(g, target)), Cost())

    def cheapest(self) -> Genotype:
        """Return the smallest member (stage costs grow with kernel and width)."""
        return self.named()["small"]

    def largest(self) -> Genotype:
        """Return the largest member."""
        return self.named()["big"]

"""Published members of st_topo as named genotypes."""
from __future__ import annotations

from typing import Dict

from nas.core.genotype import Genotype

__all__ = ["named_genotypes", "MOBILENETV2_BLOCKS"]

# MobileNetV2-1.0 (Sandler et al. 2018, Table 2): (expansion t, channels c, repeats n); every block is 3x3.
MOBILENETV2_BLOCKS = ((1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3), (6, 320, 1))


def _mobilenetv2(space) -> Genotype:
    """Map MobileNetV2's blocks onto the stem edges; surplus edges of a stage become identity."""
    from search_spaces.st_topo import skeleton as sk

    codes = []
    for (t, c, n), (c_stage, depth, _) in zip(MOBILENETV2_BLOCKS, sk.STAGES):
        assert c == c_stage, "skeleton widths must follow MobileNetV2"
        codes += [f"k3e{t}"] * n + ["id"] * (depth - n)
    choice = {d: "-" for d in space.dims()}
    choice.update({e.key: code for e, code in zip(space.stem, codes)})
    return space.freeze(choice)


def named_genotypes(space) -> Dict[str, Genotype]:
    """Return the named genotypes of ``space``."""
    return {"mobilenetv2": _mobilenetv2(space)}

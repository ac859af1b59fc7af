"""Named members of the pv_st spaces: uniform TSM, R(2+1)D, TSN (pure 2-D) and I3D-like genotypes."""
from __future__ import annotations

from typing import Dict

from nas.core.genotype import Genotype

__all__ = ["named_genotypes", "UNIFORM"]

# name -> the op used in every slot
UNIFORM = {"tsm": "t_shift", "r2plus1d": "t_r21d", "tsn": "t_id", "i3d": "t_3d"}


def named_genotypes(space) -> Dict[str, Genotype]:
    """Return the named genotypes of ``space`` (each uses one op in every slot)."""
    return {name: space.freeze({d: op for d in space.dims()}) for name, op in UNIFORM.items()}

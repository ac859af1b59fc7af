"""Named members of the pv_st spaces: uniform TSM, R(2+1)D, TSN (pure 2-D) and I3D-like genotypes."""
from __future__ import annotations

from typing import Dict

from nas.core.genotype import Genotype

__all__ = ["named_genotypes", "UNIFORM"]

# name -> the op used in every slot
UNIFORM = {"tsm": "t_shift", "r2plus1d": "t_r21d", "tsn": "t_id", "i3d": "t_3d"}


def named_genotypes(space, suffix: str = "") -> Dict[str, Genotype]:
    """Return the named genotypes of ``space`` (one op in every slot), as ``tsm`` and as ``tsm<suffix>``.

    With the ResNet-50 skeleton ``tsm_r50`` is TSM-ResNet50 (Lin et al. 2019: the shift in the residual
    branch of every bottleneck), ``tsn_r50`` a per-frame ResNet-50 (TSN) and ``r2plus1d_r50`` the ResNet-50
    with every 3x3 factorised (2+1)-D.
    """
    out = {name: space.freeze({d: op for d in space.dims()}) for name, op in UNIFORM.items()}
    if suffix:
        out.update({name + suffix: g for name, g in list(out.items())})
    return out

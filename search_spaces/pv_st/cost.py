"""Pure cost functions of the pv_st temporal slot ops, blocks, stem and head. No torch.

Sizes are ``(T, H, W)``. Spatial convs are ``1 x k x k`` 3-D convs (a 2-D conv per frame), so every cost
comes from :func:`nas.core.cost.conv3d_cx`; MAdds count convs and linears only, params include BN.
"""
from __future__ import annotations

from typing import Tuple

from nas.core.cost import Cost, bn_cx, conv3d_cx, conv_out, linear_cx

__all__ = ["Size3", "OP_NAMES", "spatial_cost", "temporal_cost", "op_cost", "block_cost", "stem_cost",
           "head_cost"]

Size3 = Tuple[int, int, int]
# The per-slot candidates, in dimension order (identity first, as the "pure 2-D" reference).
OP_NAMES: Tuple[str, ...] = ("t_id", "t_shift", "t_dw3", "t_dw5", "t_conv3", "t_r21d", "t_3d")


def spatial_cost(thw: Size3, c_in: int, c_out: int, stride: int, k: int = 3) -> Tuple[Cost, Size3]:
    """Return the cost of a per-frame ``k x k`` conv (a ``1 x k x k`` 3-D conv)."""
    return conv3d_cx(thw, c_in, c_out, (1, k, k), stride=(1, stride, stride))


def temporal_cost(thw: Size3, c: int, k: int, groups: int = 1) -> Tuple[Cost, Size3]:
    """Return the cost of a ``k x 1 x 1`` temporal conv ``c -> c``."""
    return conv3d_cx(thw, c, c, (k, 1, 1), groups=groups)


def _temporal_then_spatial(thw: Size3, c_in: int, c_out: int, stride: int, k: int, groups: int):
    t, _ = temporal_cost(thw, c_in, k, groups)
    s, out = spatial_cost(thw, c_in, c_out, stride)
    return t + s, out


def op_cost(name: str, thw: Size3, c_in: int, c_out: int, stride: int) -> Tuple[Cost, Size3]:
    """Return the cost and output size of slot op ``name`` (see ``search_spaces.pv_st.ops``)."""
    if name in ("t_id", "t_shift"):  # the shift (done by the block, see ops.py) moves memory only
        return spatial_cost(thw, c_in, c_out, stride)
    if name in ("t_dw3", "t_dw5"):
        return _temporal_then_spatial(thw, c_in, c_out, stride, int(name[-1]), groups=c_in)
    if name == "t_conv3":
        return _temporal_then_spatial(thw, c_in, c_out, stride, 3, groups=1)
    if name == "t_r21d":
        s, out = spatial_cost(thw, c_in, c_out, stride)
        t, _ = temporal_cost(out, c_out, 3)
        return s + bn_cx(c_out) + t, out
    if name == "t_3d":
        return conv3d_cx(thw, c_in, c_out, (3, 3, 3), stride=(1, stride, stride))
    raise ValueError(f"unknown pv_st op {name!r}")


def block_cost(block: str, thw: Size3, c_in: int, c_mid: int, c_out: int, stride: int) -> Tuple[Cost, Size3]:
    """Return the cost of a block *without* its slot op, and the block's output size."""
    total = Cost()
    _, out = spatial_cost(thw, 1, 1, stride)
    if block == "basic":
        c, _ = spatial_cost(out, c_out, c_out, 1)
        total = total + bn_cx(c_out) + c + bn_cx(c_out)
    else:
        c1, _ = conv3d_cx(thw, c_in, c_mid, (1, 1, 1))
        c3, _ = conv3d_cx(out, c_mid, c_out, (1, 1, 1))
        total = total + c1 + bn_cx(c_mid) + bn_cx(c_mid) + c3 + bn_cx(c_out)
    if stride != 1 or c_in != c_out:
        c, _ = conv3d_cx(thw, c_in, c_out, (1, 1, 1), stride=(1, stride, stride))
        total = total + c + bn_cx(c_out)
    return total, out


def stem_cost(thw: Size3, c_out: int, k: int = 3, max_pool: bool = False) -> Tuple[Cost, Size3]:
    """Return the cost of the per-frame ``k x k`` stride-2 stem conv + BN (+ a free 3x3/2 max pool)."""
    c, out = spatial_cost(thw, 3, c_out, 2, k)
    if max_pool:
        out = (out[0], conv_out(out[1], 3, 2, 1), conv_out(out[2], 3, 2, 1))
    return c + bn_cx(c_out), out


def head_cost(c_in: int, num_classes: int, frames: int = 1) -> Cost:
    """Return the cost of the classifier applied to every frame's pooled features (TSN/TSM consensus)."""
    one = linear_cx(c_in, num_classes)
    return Cost(one.madds * frames, one.params)

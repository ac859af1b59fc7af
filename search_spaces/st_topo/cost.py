"""Pure cost functions of the st_topo ops (inverted residual, shortcut), stem and head. No torch."""
from __future__ import annotations

from functools import lru_cache
from typing import Optional, Tuple

from nas.core.cost import Cost, bn_cx, conv2d_cx, linear_cx

__all__ = ["ir_cost", "shortcut_cost", "stem_cost", "head_cost", "parse_op", "op_cost"]

Size = Tuple[int, int]


def ir_cost(hw: Size, c_in: int, c_out: int, stride: int, kernel: int, expand: int,
            residual: bool = True) -> Tuple[Cost, Size]:
    """Return the cost of an inverted-residual block (expand 1x1, depthwise kxk, project 1x1, BN after each)."""
    del residual  # the identity addition costs no MAdds
    hidden = c_in * expand
    total = Cost()
    if expand != 1:
        c, _ = conv2d_cx(hw, c_in, hidden, 1)
        total = total + c + bn_cx(hidden)
    c, hw_out = conv2d_cx(hw, hidden, hidden, kernel, stride=stride, groups=hidden)
    total = total + c + bn_cx(hidden)
    c, _ = conv2d_cx(hw_out, hidden, c_out, 1)
    return total + c + bn_cx(c_out), hw_out


def shortcut_cost(hw: Size, c_in: int, c_out: int, stride: int) -> Tuple[Cost, Size]:
    """Return the cost of a shortcut: free identity, or a strided 1x1 conv + BN across a shape change."""
    if stride == 1 and c_in == c_out:
        return Cost(), hw
    c, hw_out = conv2d_cx(hw, c_in, c_out, 1, stride=stride)
    return c + bn_cx(c_out), hw_out


def stem_cost(resolution: int, c_out: int) -> Tuple[Cost, Size]:
    """Return the cost of the 3x3 stride-2 stem conv + BN."""
    c, hw = conv2d_cx((resolution, resolution), 3, c_out, 3, stride=2)
    return c + bn_cx(c_out), hw


def head_cost(hw: Size, c_in: int, c_head: int, num_classes: int) -> Cost:
    """Return the cost of the 1x1 head conv + BN, global pooling and the classifier."""
    c, _ = conv2d_cx(hw, c_in, c_head, 1)
    return c + bn_cx(c_head) + linear_cx(c_head, num_classes)


def parse_op(code: str) -> Optional[Tuple[str, dict]]:
    """Parse an op code: ``k5e3`` -> ("ir", kernel 5, expand 3); ``id`` -> ("skip", {}); ``-`` -> None."""
    if code == "-":
        return None
    if code == "id":
        return "skip", {}
    if code.startswith("k") and "e" in code:
        k, e = code[1:].split("e", 1)
        return "ir", {"kernel": int(k), "expand": int(e)}
    raise ValueError(f"unknown st_topo op code {code!r}")


@lru_cache(maxsize=None)
def op_cost(code: str, hw: Size, c_in: int, c_out: int, stride: int, residual: bool) -> Cost:
    """Return the cost of op ``code`` on an edge; cached, since edges' shapes are fixed by the skeleton."""
    parsed = parse_op(code)
    if parsed is None:
        return Cost()
    name, args = parsed
    if name == "skip":
        return shortcut_cost(hw, c_in, c_out, stride)[0]
    return ir_cost(hw, c_in, c_out, stride, residual=residual, **args)[0]

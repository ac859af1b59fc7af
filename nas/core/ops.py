"""The op registry: every op pairs a module factory with a pure cost function taking the same arguments."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Tuple

from nas.core.cost import Cost
from nas.registry import Registry

__all__ = ["OpDef", "OPS", "register_op", "get_op"]


@dataclass(frozen=True)
class OpDef:
    """An op: ``build(**args) -> nn.Module`` and ``cost(in_size, **args) -> (Cost, out_size)``.

    ``in_size`` is the spatial (or spatio-temporal) input size tuple; everything else is shared.
    """

    name: str
    build: Callable[..., object]
    cost: Callable[..., Tuple[Cost, tuple]]


OPS: Registry[OpDef] = Registry("op")


def register_op(name: str, cost: Callable[..., Tuple[Cost, tuple]]) -> Callable:
    """Register the decorated module factory as op ``name`` together with its cost function."""

    def deco(build: Callable[..., object]) -> Callable[..., object]:
        OPS.add(name, OpDef(name, build, cost))
        return build

    return deco


def get_op(name: str) -> OpDef:
    """Return the registered op ``name``."""
    return OPS.get(name)

"""Registries of the torch side of each space: standalone model builders and supernet classes."""
from __future__ import annotations

from typing import Callable

from nas.registry import Registry

__all__ = ["MODEL_BUILDERS", "SUPERNETS", "register_model_builder", "register_supernet"]

MODEL_BUILDERS: Registry[Callable] = Registry("model builder")
SUPERNETS: Registry[type] = Registry("supernet")


def register_model_builder(space: str, builder: Callable) -> None:
    """Register ``builder(genotype, num_classes=..., ...)`` as the standalone model of ``space``."""
    MODEL_BUILDERS.add(space, builder)


def register_supernet(space: str) -> Callable[[type], type]:
    """Register the decorated Supernet subclass for ``space``."""
    return SUPERNETS.register(space)

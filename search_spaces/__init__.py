"""Search spaces shipped with nas: each sub-package registers a Space; its ``model`` module the torch side."""
from __future__ import annotations

import importlib

__all__ = ["SPACE_PACKAGES", "load_spaces", "load_models", "load_plotters"]

SPACE_PACKAGES = ("st_topo", "pv_st")


def load_spaces() -> None:
    """Import every space declaration (torch-free) so it registers itself."""
    for pkg in SPACE_PACKAGES:
        importlib.import_module(f"search_spaces.{pkg}")


def load_models() -> None:
    """Import every space's torch side (standalone model builders and supernets)."""
    load_spaces()
    for pkg in SPACE_PACKAGES:
        importlib.import_module(f"search_spaces.{pkg}.model")
        importlib.import_module(f"search_spaces.{pkg}.supernet")


def load_plotters() -> None:
    """Import every space's architecture plotter (needs matplotlib)."""
    load_spaces()
    for pkg in SPACE_PACKAGES:
        importlib.import_module(f"search_spaces.{pkg}.plot")

"""Search strategies and the per-space runners behind ``nas-search``."""
from __future__ import annotations

import importlib
from typing import Callable

from nas.registry import Registry

__all__ = ["RUNNERS", "get_runner"]

# A runner takes the parsed nas-search arguments (argparse.Namespace) and returns an exit code.
RUNNERS: Registry[Callable] = Registry("search runner")
_RUNNER_MODULES = {"st_topo": "nas.search.st_runner", "pv_st": "nas.search.pv_runner", "pv_st_m": "nas.search.pv_runner"}


def get_runner(space: str) -> Callable:
    """Return the search runner of ``space``, importing its module on first use."""
    module = _RUNNER_MODULES.get(space)
    if module is not None and space not in RUNNERS:
        importlib.import_module(module)
    return RUNNERS.get(space)

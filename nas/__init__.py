"""nas: neural architecture search under a compute budget, with standalone models you can retrain.

``import nas`` stays light: torch is imported only by the functions that build modules, and Ray only
inside ``nas.distributed``.
"""
from __future__ import annotations

from nas.api import (cost, create_backbone, create_model, create_supernet, get_space, list_spaces, list_tasks,
                     load_genotype, load_pretrained, save_genotype)
from nas.core.cost import Cost, parse_budget
from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.core.target import Target
from nas.errors import NasError
from nas.plugins import SpacePlugin, get_plugin
from nas.proxies import list_proxies, score_proxies
from nas.search.strategies import list_strategies

from nas.version import __version__

__all__ = [
    "Cost",
    "Genotype",
    "NasError",
    "Space",
    "SpacePlugin",
    "Target",
    "cost",
    "create_backbone",
    "create_model",
    "create_supernet",
    "get_plugin",
    "get_space",
    "list_spaces",
    "list_proxies",
    "list_strategies",
    "list_tasks",
    "load_genotype",
    "load_pretrained",
    "parse_budget",
    "save_genotype",
    "score_proxies",
    "__version__",
]


"""The nb201 plugin: NAS-Bench-201's cell space, its macro-skeleton model and its weight-sharing supernet."""
from nas.plugins import SpacePlugin
from search_spaces.nb201.space import Nb201Space

__all__ = ["PLUGIN"]

PLUGIN = SpacePlugin(
    space=Nb201Space(),
    model="search_spaces.nb201.model:build_model",
    backbone="search_spaces.nb201.model:build_backbone",
    supernet="search_spaces.nb201.supernet:Nb201Supernet",
    modality="image",
    default_strategy="evolution",
)

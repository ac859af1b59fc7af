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
    differentiable=True,
    benchmark="search_spaces.nb201.benchmark:TABLE",
    latency_block="search_spaces.nb201.latency:build_block",
    # The benchmark's own target (32 px CIFAR-10), no effective budget unless --madds is given (every cell
    # costs under 1G), no lower cost bound (for evolution and for the differentiable search's derivation and
    # hinge alike), and the population of regularized evolution in NAS-Bench-201.
    search_defaults={"resolution": 32, "num_classes": 10, "madds": "1G",
                     "evolution": {"min_budget_fraction": 0.0, "population": 20},
                     "search": {"min_budget_fraction": 0.0}},
)

"""The st_topo plugin: the ST-NAS-style topology space, its MobileNetV2-like model and its one-shot supernet."""
from nas.plugins import SpacePlugin
from search_spaces.st_topo.space import StTopoSpace

__all__ = ["PLUGIN"]

PLUGIN = SpacePlugin(
    space=StTopoSpace(),
    model="search_spaces.st_topo.model:build_model",
    backbone="search_spaces.st_topo.model:build_backbone",
    supernet="search_spaces.st_topo.supernet:StTopoSupernet",
    plotter="search_spaces.st_topo.plot:plot_st_topo",
    modality="image",
    default_strategy="evolution",
    latency_block="search_spaces.st_topo.latency:build_block",
    pretrained="search_spaces.st_topo.pretrained:import_mobilenet_v2",  # torchvision MobileNetV2-1.0
)

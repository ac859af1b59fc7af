"""The toy space's plugin: the one object nas finds through the ``nas.spaces`` entry point."""
from nas.plugins import SpacePlugin
from nas_toy_space.space import ToySpace

__all__ = ["PLUGIN"]

PLUGIN = SpacePlugin(
    space=ToySpace(),  # torch-free: built when nas lists its spaces
    model="nas_toy_space.model:build_model",  # the torch parts are strings, imported on first use
    backbone="nas_toy_space.model:build_backbone",
    supernet="nas_toy_space.supernet:ToySupernet",
    modality="image",
    default_strategy="evolution",
)

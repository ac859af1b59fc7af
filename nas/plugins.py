"""Plugins: spaces, strategies and tasks, each found through its own entry point group.

``load_entry_points`` discovers every group the same way. A space plugin bundles what the rest of nas needs to
know about a space: its torch-free declaration, the builders of its standalone model, backbone and supernet, its
plotter, its modality and its default search strategy. The torch parts are named as ``"module:attribute"``
strings and imported on first use, so listing spaces or computing a cost never imports torch. A package adds a
space, a strategy or a task with an entry point::

    [options.entry_points]
    nas.spaces =
        my_space = my_package.plugin:PLUGIN
    nas.strategies =
        my_strategy = my_package.strategy:MyStrategy
    nas.tasks =
        my_task = my_package.task:MyTask
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, List, Mapping, Optional, Set

from nas.core.space import Space
from nas.errors import NasError
from nas.registry import Registry

__all__ = ["SpacePlugin", "PLUGINS", "ENTRY_POINT_GROUP", "register_plugin", "get_plugin", "list_plugins",
           "load_plugins", "load_entry_points"]

ENTRY_POINT_GROUP = "nas.spaces"


def _accepts(fn: Any, option: str) -> bool:
    """Return whether callable ``fn`` takes keyword argument ``option``."""
    import inspect

    params = inspect.signature(fn).parameters.values()
    return any(p.name == option or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _resolve(ref: str, space: str) -> Any:
    """Import the object a ``"module:attribute"`` reference names; a one-line NasError when it cannot."""
    module, _, attr = ref.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise NasError(f"space {space!r}: cannot load {ref} ({type(exc).__name__}: {str(exc)[:120]})") from None
    return obj


@dataclass(frozen=True)
class SpacePlugin:
    """Everything nas needs about one search space.

    Args:
        space: the declaration (dimensions, membership, cost); torch-free.
        model: ``"module:function"`` building the standalone model ``(genotype, num_classes=..., **kw)``.
        backbone: ``"module:function"`` building the backbone ``(genotype, **kw)`` (pooled features,
            ``num_features``, ``forward_features``).
        supernet: ``"module:Class"`` of the weight-sharing supernet, or None when the space has none.
        plotter: ``"module:function"`` drawing a genotype ``(genotype, path, **kw)``, or None.
        modality: ``"image"`` (inputs ``(N, 3, H, W)``) or ``"video"`` (``(N, 3, T, H, W)``).
        default_strategy: the STRATEGIES name ``nas-search`` uses when none is given.
        differentiable: whether the supernet has architecture parameters (for gradient-based strategies).
        benchmark: ``"module:attribute"`` of a ``nas.benchmarks.TableSource`` (a tabular benchmark of measured
            accuracies for every member), or None.
        search_defaults: config values ``nas-search`` starts from on this space (under the recipe, flags and
            overrides), e.g. the target resolution and classes its cost model describes.
        latency_block: ``"module:function"`` turning a latency-table key (``Space.block_configs``) into
            ``(module, input shape without the batch)``, or None when the space has no latency model.
        pretrained: ``"module:function"`` mapping a torchvision-format 2-D state dict onto a model of the space
            ``(genotype, own_state, source, inflate) -> (tensors, notes)`` (see ``nas.train.pretrained``), or
            None when no pretrained 2-D network fits the space.
    """

    space: Space
    model: str
    backbone: str
    supernet: Optional[str] = None
    plotter: Optional[str] = None
    modality: str = "image"
    default_strategy: str = "evolution"
    differentiable: bool = False
    benchmark: Optional[str] = None
    search_defaults: Mapping[str, Any] = field(default_factory=dict)
    latency_block: Optional[str] = None
    pretrained: Optional[str] = None

    @property
    def name(self) -> str:
        """Return the space's name."""
        return self.space.name

    def build_model(self, genotype, **kwargs):
        """Build the standalone model of ``genotype``."""
        return _resolve(self.model, self.name)(genotype, **kwargs)

    def build_backbone(self, genotype, **kwargs):
        """Build the backbone (the model without its classifier) of ``genotype``."""
        return _resolve(self.backbone, self.name)(genotype, **kwargs)

    def build_supernet(self, **kwargs):
        """Build the space's supernet; a one-line error when it has none."""
        if self.supernet is None:
            raise NasError(f"space {self.name!r} has no supernet")
        return _resolve(self.supernet, self.name)(**kwargs)

    def supernet_accepts(self, option: str) -> bool:
        """Return whether the supernet's constructor takes keyword ``option`` (e.g. ``width``)."""
        return self.supernet is not None and _accepts(_resolve(self.supernet, self.name), option)

    def model_accepts(self, option: str) -> bool:
        """Return whether the standalone model's builder takes keyword ``option`` (e.g. ``dropout``)."""
        return _accepts(_resolve(self.model, self.name), option)

    def build_latency_block(self, key: str):
        """Return ``(module, input shape without batch)`` of latency-table key ``key``."""
        if self.latency_block is None:
            raise NasError(f"space {self.name!r} has no latency model")
        return _resolve(self.latency_block, self.name)(key)

    def pretrained_importer(self):
        """Return the space's importer of 2-D pretrained weights; a one-line error when it has none."""
        if self.pretrained is None:
            raise NasError(f"space {self.name!r} takes no pretrained 2-D weights (pv_st: ResNet-50, pv_st_m: "
                           f"ResNet-101, st_topo: MobileNetV2)")
        return _resolve(self.pretrained, self.name)

    def table_source(self):
        """Return the space's ``TableSource`` (its tabular benchmark), or None when it has none."""
        return None if self.benchmark is None else _resolve(self.benchmark, self.name)

    def plot(self, genotype, path, **kwargs) -> None:
        """Draw ``genotype`` to ``path``; a one-line error when the space has no plotter."""
        if self.plotter is None:
            raise NasError(f"space {self.name!r} has no plotter")
        _resolve(self.plotter, self.name)(genotype, path, **kwargs)


PLUGINS: Registry[SpacePlugin] = Registry("space")
_discovered: Set[str] = set()  # entry point groups fully loaded in this process


def register_plugin(plugin: SpacePlugin) -> SpacePlugin:
    """Register ``plugin`` under its space's name (the only registry of spaces); a duplicate raises."""
    if plugin.modality != plugin.space.modality:
        raise NasError(f"space plugin {plugin.name!r} says modality {plugin.modality!r} but its space says "
                       f"{plugin.space.modality!r}")
    PLUGINS.add(plugin.name, plugin)
    return plugin


def load_entry_points(group: str, registry: Registry, adopt: Callable[[str, Any], None]) -> None:
    """Register every object advertised in entry point ``group`` (in name order, once per process).

    ``adopt(name, obj)`` checks one loaded object and registers it in ``registry`` under its entry point's name,
    raising a one-line NasError when it does not fit. A name already in ``registry`` keeps its object.
    """
    if group in _discovered:
        return
    for ep in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
        if ep.name in registry:  # registered by hand in this process (tests, notebooks): that one stays
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # whatever broke inside a plugin, the user gets one line naming it
            raise NasError(f"cannot load {registry.kind} plugin {ep.name!r} ({ep.value}): {type(exc).__name__}: "
                           f"{_one_line(exc)}") from None
        if ep.name not in registry:  # its module may have registered it with the decorator while loading
            try:
                adopt(ep.name, obj)
            except NasError as exc:
                raise NasError(f"{registry.kind} entry point {ep.name!r} ({ep.value}): {_one_line(exc)}") from None
    _discovered.add(group)  # only after every entry point loaded, so a broken one is reported again, not hidden


def _one_line(exc: BaseException) -> str:
    """Return ``exc``'s message on one line, at most 200 characters."""
    return " ".join(str(exc).split())[:200]


def _adopt_space(name: str, plugin: Any) -> None:
    """Register a ``nas.spaces`` entry point's object: a SpacePlugin of the space its entry point names."""
    if not isinstance(plugin, SpacePlugin) or plugin.name != name:
        raise NasError(f"is not a SpacePlugin named {name!r}")
    register_plugin(plugin)


def load_plugins() -> None:
    """Register every plugin advertised in the ``nas.spaces`` entry point group (once per process)."""
    load_entry_points(ENTRY_POINT_GROUP, PLUGINS, _adopt_space)


def get_plugin(name: str) -> SpacePlugin:
    """Return the plugin of space ``name``."""
    load_plugins()
    return PLUGINS.get(name)


def list_plugins(pattern: str = "*") -> List[str]:
    """Return the names of the registered spaces matching an fnmatch pattern."""
    load_plugins()
    return PLUGINS.list(pattern)


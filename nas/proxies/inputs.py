"""The input of every proxy: a genotype, a builder of freshly initialised networks and one checked batch."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple

import numpy as np
import torch

from nas.core.cost import Cost
from nas.core.genotype import Genotype
from nas.core.target import Target
from nas.errors import NasError
from nas.utils.seeds import derive_seed, seeded_init

__all__ = ["Probe", "make_probe", "embedded_batch"]


@dataclass(frozen=True)
class Probe:
    """One genotype, its cost target and the batch its proxies are scored on (drawn only when a proxy asks)."""

    genotype: Genotype
    target: Target
    modality: str  # "image" or "video"
    batch_size: int  # embedded inputs drawn when ``data`` is None
    data: Optional[Tuple[torch.Tensor, torch.Tensor]]  # the caller's (inputs, labels), checked; None: embedded
    seed: int
    device: torch.device
    model_options: Mapping[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def batch(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return (inputs, labels) on the device: the caller's data or the embedded batch, made once."""
        x, y = self.data if self.data is not None else embedded_batch(
            self.modality, self.batch_size, self.target.resolution, self.target.frames, self.target.num_classes,
            self.seed)
        return x.to(self.device), y.to(self.device)

    @property
    def inputs(self) -> torch.Tensor:
        """Return the batch's inputs: (N, 3, H, W) images or (N, 3, T, H, W) clips."""
        return self.batch[0]

    @property
    def labels(self) -> torch.Tensor:
        """Return the batch's labels, int64 in [0, num_classes)."""
        return self.batch[1]

    def build(self) -> torch.nn.Module:
        """Return a fresh network of the genotype, its init fixed by the probe's seed, on the device."""
        from nas.spaces import create_model

        with seeded_init(derive_seed(self.seed, "proxy-init")):
            model = create_model(self.genotype, num_classes=self.target.num_classes, **dict(self.model_options))
        return model.to(self.device)

    def cost(self) -> Cost:
        """Return the genotype's exact cost at the probe's target (the space's pure cost model)."""
        from nas.spaces import get_space

        return get_space(self.genotype.space).cost_at(self.genotype, self.target)

    def ones(self) -> torch.Tensor:
        """Return one all-ones input shaped like the batch's, in float64 (synflow's data-free input)."""
        if self.data is not None:
            shape = tuple(self.data[0].shape[1:])
        else:
            side = self.target.resolution
            shape = (3, self.target.frames, side, side) if self.modality == "video" else (3, side, side)
        return torch.ones((1, *shape), dtype=torch.float64, device=self.device)


def embedded_batch(modality: str, n: int, resolution: int, frames: Optional[int], num_classes: int,
                   seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Return ``n`` images of the embedded shapes set (or clips of the embedded motion set), seeded."""
    if modality == "video":
        from nas.data.video_synthetic import make_clips

        x, y = make_clips(n, frames or 8, resolution, seed=derive_seed(seed, "proxy-data"))
        return torch.from_numpy(x), torch.from_numpy(y) % num_classes
    from nas.data.synthetic import make_shapes

    x, y = make_shapes(n, resolution, 0.05, np.random.default_rng(derive_seed(seed, "proxy-data")))
    return (torch.from_numpy(x) - 0.5) / 0.25, torch.from_numpy(y) % num_classes  # as shapes_datasets normalises


def _checked_data(data: Any, target: Target, modality: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Return ``data`` as (float inputs, int64 labels) after checking its shape; a misfit is a one-line error."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2 and all(torch.is_tensor(t) for t in data)):
        raise NasError("proxy data must be a pair (inputs, labels) of tensors")
    x, y = data
    dims = 5 if modality == "video" else 4
    if x.dim() != dims or x.shape[1] != 3:
        raise NasError(f"proxy inputs of a {modality} space must be (N, 3, {'T, ' if dims == 5 else ''}H, W); "
                       f"got shape {tuple(x.shape)[:6]}")
    if y.dim() != 1 or y.shape[0] != x.shape[0] or x.shape[0] < 2:
        raise NasError(f"proxy labels must be (N,) with N = {x.shape[0]} >= 2 inputs; got shape {tuple(y.shape)[:3]}")
    return x.float(), y.long() % target.num_classes


def make_probe(genotype: Any, *, num_classes: int, resolution: int, batch_size: int = 64, seed: int = 0,
               data: Optional[Tuple[Any, Any]] = None, frames: Optional[int] = None,
               model_options: Optional[Mapping[str, Any]] = None, device: Any = "cpu") -> Probe:
    """Return the checked probe of ``genotype`` (a bad target, batch or data is a one-line error)."""
    from nas.plugins import get_plugin
    from nas.spaces import load_genotype

    g = load_genotype(genotype)
    plugin = get_plugin(g.space)
    target = plugin.space.target(resolution, num_classes, frames)
    if data is None and (not isinstance(batch_size, int) or batch_size < 2):
        raise NasError(f"proxy batch_size must be an integer >= 2, got {str(batch_size)[:20]}")
    checked = None if data is None else _checked_data(data, target, plugin.modality)
    return Probe(g, target, plugin.modality, batch_size, checked, int(seed), torch.device(device),
                 dict(model_options or {}))

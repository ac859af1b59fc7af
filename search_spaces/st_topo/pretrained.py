"""Import a torchvision MobileNetV2-1.0 state dict into an st_topo genotype (exactly into ``st_topo:mobilenetv2``).

MobileNetV2's 17 blocks map, stage by stage, onto the first stem edges of each st_topo stage (the layout of
the named genotype). Where the genotype's op differs the weights are fitted as OFA shares them: a larger
depthwise kernel gets the 3x3 in its centre and zeros around it (the output is unchanged), a smaller one
would get the centre crop, and an expansion of 3 takes the first half of the expanded channels. A stem edge
that is an identity in the genotype drops its MobileNetV2 block; stem edges with no MobileNetV2 block (the
third of stage 2, the fourth of stage 6) and every branch edge are left new.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Tuple

import torch

from nas.core.genotype import Genotype
from nas.errors import NasError
from nas.nn.pretrained import BN_KEYS, Source, classifier, fit_tensor
from search_spaces.st_topo import skeleton as sk
from search_spaces.st_topo.cost import parse_op
from search_spaces.st_topo.genotypes import MOBILENETV2_BLOCKS

__all__ = ["import_mobilenet_v2", "block_of_edge"]

Tensors = Dict[str, torch.Tensor]


def block_of_edge() -> List[Optional[int]]:
    """Return, per stem edge s01..s19, the MobileNetV2 block (``features.N``) at its place, or None."""
    out: List[Optional[int]] = []
    block = 1
    for (_, _, n), (_, depth, _) in zip(MOBILENETV2_BLOCKS, sk.STAGES):
        out += [block + i for i in range(n)] + [None] * (depth - n)
        block += n
    return out


class _Fitter:
    """Copy tensors from the file into the model, fitting kernels and channels; counts what it changed."""

    def __init__(self, src: Source, own: Mapping[str, torch.Tensor], out: Tensors):
        self.src, self.own, self.out, self.fitted = src, own, out, 0

    def tensor(self, key: str, dst: str, kernel_dims=(2, 3)) -> None:
        """Fit tensor ``key`` of the file into ``dst``."""
        t = self.src.take(key, rank=self.own[dst].dim())
        try:
            self.out[dst], changed = fit_tensor(t, self.own[dst].shape, kernel_dims)
        except ValueError:
            raise NasError(f"{self.src.what} does not fit this model: tensor {key} is {list(t.shape)}, smaller "
                           f"than the model's {list(self.own[dst].shape)}") from None
        self.fitted += changed

    def conv_bn(self, conv: str, bn: str, dst: str) -> None:
        """Fit a conv (``conv.weight``) and its BN into our ``conv_bn`` module ``dst`` (``.0`` and ``.1``)."""
        self.tensor(f"{conv}.weight", f"{dst}.0.weight")
        for name in BN_KEYS:
            self.tensor(f"{bn}.{name}", f"{dst}.1.{name}", ())
        if self.src.has(f"{bn}.num_batches_tracked"):
            self.out[f"{dst}.1.num_batches_tracked"] = self.src.take(f"{bn}.num_batches_tracked")


def _ir(fit: _Fitter, tv: str, ours: str, expand: int) -> bool:
    """Import torchvision block ``tv`` into our inverted residual ``ours``; False where their layouts differ."""
    fit.src.take(f"{tv}.conv.0.0.weight", rank=4)  # a file without the block is refused here, naming it
    tv_expand = fit.src.has(f"{tv}.conv.3.weight")  # torchvision: 4 parts with the 1x1 expansion, 3 without
    if tv_expand != (expand != 1):
        return False
    parts = [f"{tv}.conv.0", f"{tv}.conv.1"] if tv_expand else [f"{tv}.conv.0"]
    for i, part in enumerate(parts):
        fit.conv_bn(f"{part}.0", f"{part}.1", f"{ours}.conv.{i}")
    n = len(parts)
    fit.conv_bn(f"{tv}.conv.{n}", f"{tv}.conv.{n + 1}", f"{ours}.conv.{n}")
    return True


def import_mobilenet_v2(genotype: Genotype, own: Mapping[str, torch.Tensor], src: Source,
                        inflate: str = "centre") -> Tuple[Tensors, List[str]]:
    """Return the model's tensors made from a torchvision MobileNetV2 state dict, and notes on what was copied.

    ``inflate`` is unused (the space is 2-D); it is part of every importer's signature.
    """
    from nas import get_space

    out: Tensors = {}
    fit = _Fitter(src, own, out)
    fit.conv_bn("features.0.0", "features.0.1", "stem")
    space = get_space(genotype.space)
    choice = genotype.as_dict()
    used, dropped, new = 0, [], []
    for d, (edge, block) in enumerate(zip(space.stem, block_of_edge())):
        parsed = parse_op(choice[edge.key])
        ours = f"nodes.{d}.edges.0"
        if block is None:
            new += [edge.key] if parsed[0] == "ir" else []
        elif parsed[0] == "ir" and _ir(fit, f"features.{block}", ours, parsed[1]["expand"]):
            used += 1
        else:
            src.skip(f"features.{block}.")
            dropped.append(f"features.{block}")
    fit.conv_bn("features.18.0", "features.18.1", "head.conv")
    branches = sum(1 for e in space.branch if choice[e.key] != "-")
    notes = [f"{used} of 17 MobileNetV2 blocks copied ({fit.fitted} tensors kernel-padded/cropped or "
             f"channel-sliced)"]
    notes += [f"blocks dropped (identity edges): {', '.join(dropped)}"] if dropped else []
    notes += [f"stem edges left new: {', '.join(new)}"] if new else []
    notes += [f"{branches} branch edges left new"] if branches else []
    return out, notes + [classifier(src, "classifier.1", "head.fc", own, out)]

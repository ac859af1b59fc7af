"""Import a torchvision ResNet-50 (``pv_st``) or ResNet-101 (``pv_st_m``) state dict into any pv_st genotype.

Every 2-D conv and BN is copied (a 2-D kernel gains a time axis of 1); the slot ops' temporal parts are set
so that the imported network gives the 2-D ResNet's output on every frame (with TSM's shift as the one
exception: the shift is parameter-free and moves features whatever the weights). Each op's rule is in
:data:`OP_INIT`; docs/pretrained.md explains the choices.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Mapping, Tuple

import torch

from nas.core.genotype import Genotype
from nas.errors import NasError
from nas.nn.pretrained import Source, classifier, identity_bn, inflate_kernel, temporal_identity
from search_spaces.pv_st import skeleton as sk

__all__ = ["OP_INIT", "import_resnet"]

Tensors = Dict[str, torch.Tensor]
# op -> (what its import does, rule(prefix, own, 2-D 3x3 kernel, inflate) -> new tensors of the op)
OpRule = Callable[[str, Mapping[str, torch.Tensor], torch.Tensor, str], Tensors]


def _spatial(pre: str, own, w, how) -> Tensors:
    return {f"{pre}.0.weight": inflate_kernel(w, own[f"{pre}.0.weight"].shape[2], how)}


def _temporal_then_spatial(pre: str, own, w, how) -> Tensors:
    return {f"{pre}.0.weight": temporal_identity(own[f"{pre}.0.weight"].shape),
            f"{pre}.1.weight": inflate_kernel(w, 1, how)}


def _r21d(pre: str, own, w, how) -> Tensors:
    return {f"{pre}.spatial.weight": inflate_kernel(w, 1, how),
            f"{pre}.temporal.weight": temporal_identity(own[f"{pre}.temporal.weight"].shape)}


def _full3d(pre: str, own, w, how) -> Tensors:
    return {f"{pre}.weight": inflate_kernel(w, own[f"{pre}.weight"].shape[2], how)}


OP_INIT: Dict[str, Tuple[str, OpRule]] = {
    "t_id": ("3x3 copied", _spatial),
    "t_shift": ("3x3 copied (the shift has no weights)", _spatial),
    "t_dw3": ("3x3 copied, depthwise temporal conv = identity (centre tap 1)", _temporal_then_spatial),
    "t_dw5": ("3x3 copied, depthwise temporal conv = identity (centre tap 1)", _temporal_then_spatial),
    "t_conv3": ("3x3 copied, full temporal conv = identity (centre tap = identity matrix)", _temporal_then_spatial),
    "t_r21d": ("3x3 and its BN copied into the (2+1)-D op, temporal conv = identity, block BN after it = identity",
               _r21d),
    "t_3d": ("3x3 inflated to 3x3x3 ({inflate})", _full3d),
}
_INFLATE_WORDS = {"centre": "centre frame, zeros elsewhere", "mean": "I3D: repeated and divided by 3"}


def _conv(src: Source, key: str, dst: str, own, out: Tensors) -> None:
    """Copy a 2-D conv ``key`` into the per-frame (``1 x k x k``) conv ``dst``."""
    shape = own[dst].shape
    out[dst] = src.take(key, (shape[0], shape[1], *shape[3:])).unsqueeze(2).clone()


def _block(src: Source, tv: str, ours: str, op: str, own, how: str, out: Tensors) -> None:
    """Import torchvision bottleneck ``tv`` into our block ``ours`` whose slot holds op ``op``."""
    _conv(src, f"{tv}.conv1.weight", f"{ours}.conv1.weight", own, out)
    src.bn(f"{tv}.bn1", f"{ours}.bn1", own, out)
    mid = own[f"{ours}.conv1.weight"].shape[0]
    w = src.take(f"{tv}.conv2.weight", (mid, mid, 3, 3))
    out.update(OP_INIT[op][1](f"{ours}.op", own, w, how))
    if op == "t_r21d":  # the 2-D BN moves inside the op, before its ReLU; the block's BN passes through
        src.bn(f"{tv}.bn2", f"{ours}.op.bn", own, out)
        out.update(identity_bn(own, f"{ours}.bn2"))
    else:
        src.bn(f"{tv}.bn2", f"{ours}.bn2", own, out)
    _conv(src, f"{tv}.conv3.weight", f"{ours}.conv3.weight", own, out)
    src.bn(f"{tv}.bn3", f"{ours}.bn3", own, out)
    if f"{ours}.shortcut.0.weight" in own:
        _conv(src, f"{tv}.downsample.0.weight", f"{ours}.shortcut.0.weight", own, out)
        src.bn(f"{tv}.downsample.1", f"{ours}.shortcut.1", own, out)


def _slot_names(skel: sk.Skeleton) -> List[str]:
    """Return torchvision's name of every block in slot order: ``layer1.0`` .. ``layer4.2``."""
    return [f"layer{s + 1}.{i}" for s, st in enumerate(skel.stages) for i in range(st.depth)]


def import_resnet(genotype: Genotype, own: Mapping[str, torch.Tensor], src: Source,
                  inflate: str = "centre") -> Tuple[Tensors, List[str]]:
    """Return the model's tensors made from a torchvision ResNet state dict, and notes on what each op got.

    ``own`` is the model's state dict (its keys and shapes; ``fc.*`` only when it has a classifier). Blocks
    follow torchvision's order, so the first tensor that does not fit is the one named.
    """
    from nas import get_space

    skel = get_space(genotype.space).skeleton
    if skel.block != "bottleneck" or not skel.max_pool:
        raise NasError(f"space {genotype.space} has no torchvision counterpart (ResNet-50 fits pv_st, "
                       f"ResNet-101 pv_st_m)")
    out: Tensors = {}
    stem_w = own["stem.0.weight"]
    out["stem.0.weight"] = src.take("conv1.weight", (stem_w.shape[0], 3, *stem_w.shape[3:])).unsqueeze(2).clone()
    src.bn("bn1", "stem.1", own, out)
    choice = genotype.as_dict()
    ops = [choice[s.key] for s in sk.slots(skel)]
    for j, (tv, op) in enumerate(zip(_slot_names(skel), ops)):
        _block(src, tv, f"blocks.{j}", op, own, inflate, out)
    notes = [f"{op} x{ops.count(op)}: {OP_INIT[op][0].format(inflate=_INFLATE_WORDS[inflate])}"
             for op in sorted(set(ops))]
    return out, notes + [classifier(src, "fc", "fc", own, out)]

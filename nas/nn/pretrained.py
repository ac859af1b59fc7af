"""Shared parts of importing 2-D pretrained weights: a checked source state dict, kernel inflation and fitting.

A space's importer (``SpacePlugin.pretrained``) walks a torchvision-format state dict in its own order through
:class:`Source`, which names the first tensor that is missing or mis-shaped, and remembers which tensors found
a place, so a file of a deeper network is refused too. The kernel helpers are pure functions of tensors.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Tuple

import torch

from nas.errors import NasError

__all__ = ["Source", "INFLATE", "inflate_kernel", "temporal_identity", "identity_bn", "fit_tensor", "fresh_keys",
           "classifier", "BN_KEYS"]

# How a 2-D k x k kernel becomes a t x k x k one: "centre" puts it in the middle frame (zeros elsewhere), so
# the 3-D conv gives the 2-D conv's per-frame output; "mean" is I3D's inflation (Carreira & Zisserman 2017:
# repeated t times and divided by t), equal to the 2-D conv on a clip that does not move.
INFLATE = ("centre", "mean")
BN_KEYS = ("weight", "bias", "running_mean", "running_var")  # plus num_batches_tracked where the file has it


def _key(key: str) -> str:
    """Return a tensor name cut to a bounded length for messages."""
    return key if len(key) <= 80 else key[:77] + "..."


class Source:
    """A torchvision-format state dict handed out tensor by tensor, with one-line errors naming the tensor.

    ``what`` names the file in messages (e.g. ``"resnet50.pth (ResNet-50)"``).
    """

    def __init__(self, state: Mapping[str, torch.Tensor], what: str):
        self.state, self.what = state, what
        self.used: set = set()

    def has(self, key: str) -> bool:
        """Return whether the file holds tensor ``key``."""
        return key in self.state

    def take(self, key: str, shape: Sequence[int] = None, rank: int = None) -> torch.Tensor:
        """Return tensor ``key``; a one-line error when it is missing, or not of ``shape`` (or ``rank``)."""
        if key not in self.state:
            raise NasError(f"{self.what} does not fit this model: it has no tensor {_key(key)} "
                           f"(another architecture, or a torn file?)")
        t = self.state[key]
        if (shape is not None and tuple(t.shape) != tuple(shape)) or (rank is not None and t.dim() != rank):
            want = list(shape) if shape is not None else f"{rank} dimensions"
            raise NasError(f"{self.what} does not fit this model: tensor {_key(key)} is {list(t.shape)}, "
                           f"the model needs {want}")
        self.used.add(key)
        return t

    def skip(self, prefix: str) -> None:
        """Mark every tensor under ``prefix`` as known but not used (a block the model leaves out)."""
        self.used.update(k for k in self.state if k.startswith(prefix))

    def check_used(self) -> None:
        """Raise a one-line error naming the first tensor of the file that found no place (a deeper network?)."""
        rest = [k for k in self.state if k not in self.used]
        if rest:
            raise NasError(f"{self.what} does not fit this model: tensor {_key(rest[0])} has no place in it "
                           f"({len(rest)} such tensors; a larger network?)")

    def bn(self, src: str, dst: str, own: Mapping[str, torch.Tensor], out: Dict[str, torch.Tensor]) -> None:
        """Copy BN ``src`` into ``dst`` (num_batches_tracked only where the file has it, as torch allows)."""
        for name in BN_KEYS:
            out[f"{dst}.{name}"] = self.take(f"{src}.{name}", own[f"{dst}.{name}"].shape)
        if self.has(f"{src}.num_batches_tracked") and f"{dst}.num_batches_tracked" in own:
            out[f"{dst}.num_batches_tracked"] = self.take(f"{src}.num_batches_tracked")


def inflate_kernel(w: torch.Tensor, frames: int, how: str = "centre") -> torch.Tensor:
    """Return the ``(O, I, frames, k, k)`` kernel made from a 2-D ``(O, I, k, k)`` one (see :data:`INFLATE`)."""
    if frames == 1:
        return w.unsqueeze(2).clone()
    if how == "mean":
        return w.unsqueeze(2).repeat(1, 1, frames, 1, 1) / frames
    out = torch.zeros(w.shape[0], w.shape[1], frames, *w.shape[2:], dtype=w.dtype)
    out[:, :, frames // 2] = w
    return out


def temporal_identity(shape: Sequence[int]) -> torch.Tensor:
    """Return a ``(C, C / groups, k, 1, 1)`` temporal kernel that passes every channel through unchanged."""
    out = torch.zeros(*shape)
    c, per_group, k = shape[0], shape[1], shape[2]
    idx = torch.arange(c)
    out[idx, idx % per_group, k // 2] = 1.0  # depthwise (per_group 1): tap 0; full: the channel's own input
    return out


def identity_bn(own: Mapping[str, torch.Tensor], prefix: str, eps: float = 1e-5) -> Dict[str, torch.Tensor]:
    """Return BN values that make ``prefix`` the identity in eval mode (variance ``1 - eps`` cancels eps)."""
    c = own[f"{prefix}.weight"].shape[0]
    return {f"{prefix}.weight": torch.ones(c), f"{prefix}.bias": torch.zeros(c),
            f"{prefix}.running_mean": torch.zeros(c), f"{prefix}.running_var": torch.full((c,), 1.0 - eps)}


def _fit_dim(t: torch.Tensor, dim: int, size: int, kernel: bool) -> torch.Tensor:
    """Fit one dimension: channels are sliced from the start; kernel sides are centre-cropped or zero-padded."""
    have = t.shape[dim]
    if have == size:
        return t
    if not kernel:
        return t.narrow(dim, 0, size)
    if have > size:
        return t.narrow(dim, (have - size) // 2, size)
    pad_shape = list(t.shape)
    pad_shape[dim] = size
    out = torch.zeros(pad_shape, dtype=t.dtype)
    out.narrow(dim, (size - have) // 2, have).copy_(t)
    return out


def fit_tensor(t: torch.Tensor, shape: Sequence[int],
               kernel_dims: Tuple[int, ...] = (2, 3)) -> Tuple[torch.Tensor, bool]:
    """Return ``t`` fitted to ``shape`` and whether it changed, or raise ValueError where a channel count is short.

    Channel dimensions are sliced (the first channels, our reading of OFA's channel sorting without the
    sort); kernel dimensions ``kernel_dims`` are centre-cropped (OFA) or, for a larger kernel, zero-padded
    around the source kernel, which leaves the conv's output unchanged.
    """
    if t.dim() != len(shape):
        raise ValueError("rank")
    for d, (have, want) in enumerate(zip(t.shape, shape)):
        if d not in kernel_dims and have < want:
            raise ValueError(f"dimension {d}")
    out = t
    for d, want in enumerate(shape):
        out = _fit_dim(out, d, want, d in kernel_dims)
    return out.clone(), tuple(t.shape) != tuple(shape)


def fresh_keys(own: Mapping[str, torch.Tensor], new: Mapping[str, torch.Tensor]) -> List[str]:
    """Return the model's tensors the import left at their fresh values (buffers that count, not BN counters)."""
    return [k for k in own if k not in new and not k.endswith("num_batches_tracked")]


def classifier(src: Source, tv: str, ours: str, own: Mapping[str, torch.Tensor], out: Dict[str, torch.Tensor]) -> str:
    """Copy the linear classifier ``tv`` into ``ours`` where its shape fits; return what happened to it.

    A model of other classes keeps its fresh classifier (the file's is marked known, not refused).
    """
    w, b = f"{tv}.weight", f"{tv}.bias"
    n = src.state[w].shape[0] if src.has(w) and src.state[w].dim() == 2 else None
    if f"{ours}.weight" not in own:
        src.skip(f"{tv}.")
        return "the file's classifier is not used (no classifier here: a backbone)"
    if n is not None and tuple(src.state[w].shape) == tuple(own[f"{ours}.weight"].shape):
        out[f"{ours}.weight"] = src.take(w)
        out[f"{ours}.bias"] = src.take(b, own[f"{ours}.bias"].shape)
        return f"classifier copied ({n} classes)"
    src.take(w, rank=2)  # a file without one is refused here, naming the tensor
    src.skip(f"{tv}.")
    return f"classifier left new (the file has {n} classes, the model {own[f'{ours}.weight'].shape[0]})"

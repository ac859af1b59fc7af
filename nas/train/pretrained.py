"""Start a model from 2-D pretrained weights the user already has: ``load_pretrained``, ``--init pretrained:FILE``.

The file is a torchvision-format state dict (``torch.save(model.state_dict(), path)`` of ``resnet50``,
``resnet101`` or ``mobilenet_v2``), read with ``weights_only=True``; nothing is downloaded. The genotype's
space plugin maps it onto the model (``SpacePlugin.pretrained``); this module reads the file, loads the
result and says what was copied and what was left new. A forgery detector takes the weights in its
backbone streams, as it does for ``backbone:FILE``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

from nas.errors import NasError
from nas.nn.pretrained import INFLATE, Source, fresh_keys
from nas.utils.readers import show_path

__all__ = ["load_pretrained", "pretrained_state", "read_state_dict"]


def read_state_dict(path: Any) -> Dict[str, Any]:
    """Read a plain state dict (names to tensors) weights-only; one-line errors for anything else."""
    import torch

    from nas.train.checkpoint import load_state

    state = load_state(Path(path), "pretrained weights")
    if not isinstance(state, Mapping):
        raise NasError(f"pretrained weights {show_path(path)} are not a state dict (a {type(state).__name__})")
    bad = next((k for k, v in state.items() if not isinstance(v, torch.Tensor)), None)
    if bad is not None:
        raise NasError(f"pretrained weights {show_path(path)} are not a plain state dict: entry {str(bad)[:60]!r} "
                       f"is not a tensor (a training checkpoint? save model.state_dict() instead)")
    return dict(state)


def pretrained_state(genotype: Any, own: Mapping[str, Any], state: Mapping[str, Any], what: str,
                     inflate: str = "centre") -> Tuple[Dict[str, Any], str]:
    """Return the model's state dict built from the 2-D ``state`` (fresh values where nothing fits) and a summary.

    ``own`` is the model's current state dict; ``what`` names the file in messages.
    """
    from nas.plugins import get_plugin

    if inflate not in INFLATE:
        raise NasError(f"inflate must be one of {', '.join(INFLATE)}, got {str(inflate)[:40]!r}")
    importer = get_plugin(genotype.space).pretrained_importer()
    src = Source(state, what)
    new, notes = importer(genotype, own, src, inflate)
    src.check_used()
    fresh = fresh_keys(own, new)
    copied = len([k for k in new if not k.endswith("num_batches_tracked")])
    left = f"{len(fresh)} tensors left new" + (f" (first: {fresh[0][:80]})" if fresh else "")
    return {**own, **new}, f"{copied} tensors set from {what}, {left}; " + "; ".join(notes)


def _genotype(model: Any, genotype: Any) -> Any:
    """Return the genotype the model was built from (given, or its ``genotype`` string)."""
    from nas.spaces import load_genotype

    g = genotype if genotype is not None else getattr(model, "genotype", None)
    if not g:
        raise NasError("this model does not record its genotype; pass genotype= to load_pretrained")
    return load_genotype(g)


def _backbone_state(genotype: Any, width: float) -> Dict[str, Any]:
    """Return a fresh backbone state dict of ``genotype`` (built under a fixed seed: the caller's RNG is untouched)."""
    from nas.spaces import create_backbone
    from nas.utils.seeds import seeded_init

    with seeded_init(0):
        return create_backbone(genotype, **({} if width == 1.0 else {"width": width})).state_dict()


def load_pretrained(model: Any, path: Any, genotype: Any = None, inflate: str = "centre", width: float = 1.0) -> str:
    """Load the torchvision-format 2-D weights in file ``path`` into ``model``; return what was copied.

    ``genotype`` defaults to the one the model records. ``inflate`` sets how a 2-D kernel fills a 3-D
    ``t x k x k`` one (``t_3d`` slots): ``"centre"`` (the middle frame; the model then gives the 2-D network's
    per-frame output) or ``"mean"`` (I3D's inflation). A forgery detector takes the weights in its backbone
    streams (stems inflated to the stream's input) and keeps fresh heads; ``width`` is the channel multiplier
    its backbone was built at (``model.width``).

    Example:
        >>> import nas, torch
        >>> model = nas.create_model("st_topo:mobilenetv2", num_classes=10)
        >>> torch.save(model.state_dict(), "/tmp/not_torchvision.pt")  # our layout, not torchvision's
        >>> nas.load_pretrained(model, "/tmp/not_torchvision.pt")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nas.errors.NasError: ... does not fit this model: it has no tensor features.0.0.weight (another ...)
    """
    g = _genotype(model, genotype)
    state = read_state_dict(path)
    what = show_path(path)
    if hasattr(model, "load_backbone_state"):
        own = _backbone_state(g, width)
        new, summary = pretrained_state(g, own, state, what, inflate)
        streams = model.load_backbone_state(new, str(g))
        return f"{summary} (in the {'/'.join(streams)} stream(s), fresh heads)"
    new, summary = pretrained_state(g, model.state_dict(), state, what, inflate)
    model.load_state_dict(new)
    return summary

"""The checkpoint convention: atomic writes that load with ``torch.load(weights_only=True)``, no pickled objects.

``save_checkpoint`` writes beside the target and renames, so a kill mid-write leaves the previous file;
``load_state`` reads with the weights-only unpickler, and a torn, foreign or unsafe file is a one-line error.
Every tensor file the project writes goes through these two functions: search checkpoints, supernet weights,
SGLD snapshots, the scoring cache and retraining checkpoints. Random-number state is stored in one form,
``nas.utils.seeds.rng_state`` (generator tensors and Python ``random`` states as plain lists).

A retraining checkpoint (``last.pt``, ``best.pt``; read by ``load_checkpoint``) holds the model, optimizer,
scheduler, EMA and grad-scaler states, the epoch and global step, the metric history, the genotype string,
the task, the resolved config as a plain dict and the state of the generators the run owns
(``nas.utils.seeds.rng_state``) as tensors and lists.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import torch
from torch import nn

from nas.errors import NasError
from nas.utils.io import atomic_torch_save

__all__ = ["save_checkpoint", "load_state", "load_checkpoint", "check_architecture", "load_model_state"]


def save_checkpoint(path: Path, state: Dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (a kill mid-write leaves the previous file intact)."""
    atomic_torch_save(state, Path(path))


def load_state(path: Path, what: str = "checkpoint", map_location: Optional[str] = "cpu") -> Any:
    """Read what ``save_checkpoint`` wrote, weights-only; ``what`` names the file in one-line errors."""
    from nas.utils.readers import load_torch

    return load_torch(path, what, map_location)


def load_checkpoint(path: Path) -> Dict[str, Any]:
    """Read a retraining checkpoint with ``weights_only=True``; unreadable files are one-line errors."""
    path = Path(path)
    ckpt = load_state(path, "checkpoint")
    if not isinstance(ckpt, dict) or "model" not in ckpt or "genotype" not in ckpt:
        raise NasError(f"{path} is not a nas-retrain checkpoint")
    return ckpt


def check_architecture(ckpt: Dict[str, Any], genotype: str, path: Path) -> None:
    """Raise a one-line NasError if the checkpoint was trained for another genotype."""
    if ckpt["genotype"] != genotype:
        raise NasError(f"checkpoint {path} is for another architecture ({_short(ckpt['genotype'])}, "
                       f"not {_short(genotype)})")


def load_model_state(model: nn.Module, state: Dict[str, torch.Tensor], path: Path) -> None:
    """Load a state dict, turning key or shape mismatches into a one-line NasError."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    bad = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or extra or bad:
        first = (missing or extra or bad)[0]
        raise NasError(f"checkpoint {path} does not fit this architecture ({len(missing)} missing, {len(extra)} "
                       f"unexpected, {len(bad)} mis-shaped tensors; first: {first})")
    model.load_state_dict(state)


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."

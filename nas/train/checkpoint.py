"""Atomic retraining checkpoints that load with ``torch.load(weights_only=True)``: no pickled objects inside.

A checkpoint holds the model, optimizer, scheduler, EMA and grad-scaler states, the epoch and global step, the
metric history, the genotype string, the resolved config as a plain dict and every RNG state (Python, NumPy,
torch, the DataLoader generator) as tensors and lists.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch
from torch import nn

from nas.errors import NasError
from nas.utils.io import atomic_torch_save

__all__ = ["rng_state", "set_rng_state", "save_checkpoint", "load_checkpoint", "check_architecture",
           "load_model_state"]


def rng_state(loader_generator: Optional[torch.Generator] = None) -> Dict[str, Any]:
    """Return every RNG state as tensors, lists and numbers."""
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": [version, list(mt), gauss],
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "loader": loader_generator.get_state() if loader_generator is not None else None,
    }


def set_rng_state(state: Dict[str, Any], loader_generator: Optional[torch.Generator] = None) -> None:
    """Restore the RNG states written by :func:`rng_state`."""
    version, mt, gauss = state["python"]
    random.setstate((version, tuple(mt), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if loader_generator is not None and state["loader"] is not None:
        loader_generator.set_state(state["loader"])


def save_checkpoint(path: Path, state: Dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (a kill mid-write leaves the previous file intact)."""
    atomic_torch_save(state, Path(path))


def load_checkpoint(path: Path) -> Dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; unreadable files are one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise NasError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for torn or foreign files
        raise NasError(f"cannot read checkpoint {path}: {str(exc).splitlines()[0]}") from None
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

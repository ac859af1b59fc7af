"""Atomic retraining checkpoints that load with ``torch.load(weights_only=True)``: no pickled objects inside.

A checkpoint holds the model, optimizer, scheduler, EMA and grad-scaler states, the epoch and global step, the
metric history, the genotype string, the task, the resolved config as a plain dict and the state of the
generators the run owns (``nas.utils.seeds.rng_state``) as tensors and lists.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import torch
from torch import nn

from nas.errors import NasError
from nas.utils.io import atomic_torch_save

__all__ = ["save_checkpoint", "load_checkpoint", "check_architecture", "load_model_state"]


def save_checkpoint(path: Path, state: Dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (a kill mid-write leaves the previous file intact)."""
    atomic_torch_save(state, Path(path))


def load_checkpoint(path: Path) -> Dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; unreadable files are one-line errors."""
    from nas.utils.readers import load_torch

    path = Path(path)
    ckpt = load_torch(path, "checkpoint")
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

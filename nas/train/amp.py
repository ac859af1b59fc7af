"""Device-side step options shared by search and retraining: autocast, grad scaler, channels_last, backends.

Every helper takes its decision as an argument (a dtype, a flag), so the CUDA branches run the same code on
the CPU when a test (or a user) asks for them there: bf16 autocast, an fp16 GradScaler and NHWC tensors all
work on the CPU in torch 2.x, only more slowly.
"""
from __future__ import annotations

import os
from typing import Optional, Union

import torch
from torch import nn

from nas.data.loader import loader_options  # re-exported: the loader options live with the loader factory
from nas.errors import NasError

__all__ = ["amp_dtype", "autocast", "grad_scaler", "to_channels_last", "configure_backends", "maybe_compile",
           "loader_options", "to_device"]

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "off": None}


def amp_dtype(mode: str, device: torch.device) -> Optional[torch.dtype]:
    """Return the autocast dtype of an ``amp`` setting on ``device`` (None: float32 throughout).

    ``auto`` is bf16 on CUDA (fp16 with a grad scaler on GPUs without bf16) and off on the CPU, where
    autocast is slower than float32; an explicit ``bf16`` or ``fp16`` is honoured on any device.
    """
    if mode == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if mode not in _DTYPES:
        raise NasError(f"amp must be auto, bf16, fp16 or off, got {str(mode)[:20]!r}")
    return _DTYPES[mode]


def autocast(device: torch.device, dtype: Optional[torch.dtype]):
    """Return the autocast context of ``dtype`` on ``device`` (a no-op when ``dtype`` is None)."""
    return torch.autocast(device_type=device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def grad_scaler(device: torch.device, dtype: Optional[torch.dtype]) -> torch.amp.GradScaler:
    """Return a GradScaler, enabled for fp16 only (bf16 has float32's range and needs no loss scaling)."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)


def to_channels_last(obj: Union[nn.Module, torch.Tensor], enabled: bool = True):
    """Return ``obj`` in NHWC memory format (4-D tensors and the 4-D weights of a module); else unchanged."""
    if not enabled:
        return obj
    if isinstance(obj, torch.Tensor):
        return obj.contiguous(memory_format=torch.channels_last) if obj.dim() == 4 else obj
    return obj.to(memory_format=torch.channels_last)


def configure_backends(device: torch.device, deterministic: bool) -> None:
    """Set the process's kernel choices for a run on ``device``: fast (cuDNN autotuning) or deterministic.

    The CPU kernels are deterministic already. On CUDA, ``deterministic`` turns cuDNN autotuning off, asks
    for deterministic algorithms (warning where an op has none) and fixes the cuBLAS workspace, which must
    happen before the first cuBLAS call; otherwise cuDNN may pick the fastest, non-deterministic kernels.
    """
    if device.type != "cuda":
        return
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def maybe_compile(model: nn.Module, enabled: bool) -> nn.Module:
    """Return ``torch.compile(model)`` when ``enabled`` (the parameters stay shared with ``model``)."""
    return torch.compile(model) if enabled else model


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy ``x`` to ``device`` without blocking the host (the copy overlaps compute when ``x`` is pinned)."""
    return x.to(device, non_blocking=device.type == "cuda")

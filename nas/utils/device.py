"""Resolve the device a run uses; library code takes the resolved ``torch.device`` and never picks one itself."""
from __future__ import annotations

__all__ = ["resolve_device"]


def resolve_device(name: str = "auto"):
    """Return ``torch.device`` for ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    import torch

    from nas.errors import NasError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise NasError(f"unknown device {name[:40]!r} (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NasError(f"device {name!r} asked for, but this machine has no CUDA device")
    return device

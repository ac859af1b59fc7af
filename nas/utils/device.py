"""Resolve the device a run uses; library code takes the resolved ``torch.device`` and never picks one itself."""
from __future__ import annotations

import re
from typing import Callable, Optional

__all__ = ["resolve_device", "check_device_name", "trial_device", "DEVICE_NAMES"]

DEVICE_NAMES = "auto, cpu, cuda or cuda:N"
_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d{1,3})?)$")


def check_device_name(name: object, key: str = "device") -> str:
    """Return ``name`` if it is auto, cpu, cuda or cuda:N; otherwise raise a one-line error naming ``key``."""
    from nas.errors import NasError

    if not isinstance(name, str) or not _PATTERN.match(name):
        shown = repr(name[:40]) if isinstance(name, str) else type(name).__name__
        raise NasError(f"{key} must be {DEVICE_NAMES}, got {shown}")
    return name


def resolve_device(name: str = "auto", log: Optional[Callable[[str], None]] = print):
    """Return the ``torch.device`` for ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    A CUDA device this machine does not have is a one-line error; ``auto`` without CUDA says in one line
    (through ``log``, stdout by default, so that an error
    after it is still the one line on stderr; None keeps it quiet) that it runs on the CPU.
    """
    import torch

    from nas.errors import NasError

    check_device_name(name, "--device (device)")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if log is not None:
            log("device auto: no CUDA device on this machine, running on the CPU")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        raise NasError(f"device {name!r} asked for, but this machine has no CUDA device (use --device cpu or auto)")
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise NasError(f"device {name!r} asked for, but this machine has {count} CUDA device(s): "
                       f"cuda:0..cuda:{count - 1}")
    return device


def trial_device(name: str, gpu_ids) -> str:
    """Return the device name a Ray Tune trial runs on, given the GPUs Ray assigned it (``ray.get_gpu_ids()``).

    Ray makes a trial's GPUs the only visible ones (``CUDA_VISIBLE_DEVICES``), so the first assigned GPU is
    ``cuda:0`` inside the trial. A trial without GPUs runs on the CPU even where the machine has some, so
    that trials never share a GPU Ray did not give them.
    """
    from nas.errors import NasError

    check_device_name(name, "--device (device)")
    if name.startswith("cuda:"):
        raise NasError(f"--device {name} does not apply to trials: each trial uses the GPU Ray assigned it "
                       f"(use --device cuda or auto with --gpus-per-trial)")
    if gpu_ids:
        return "cpu" if name == "cpu" else "cuda:0"
    if name == "cuda":
        raise NasError("--device cuda with trials needs --gpus-per-trial > 0 (a trial uses only the GPU Ray gives it)")
    return "cpu"

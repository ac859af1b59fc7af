"""The one DataLoader factory: skipping collate, a generator of its own, pinned memory only for a GPU."""
from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader

from nas.data.collate import collate_skip
from nas.utils.seeds import torch_generator

__all__ = ["make_loader", "loader_options"]


def loader_options(device: Any, workers: int) -> dict:
    """Return DataLoader keyword arguments for ``device``: pinned host memory when feeding a GPU.

    Pinned batches copy to the GPU without blocking; on the CPU pinning only costs a copy, so it follows the
    device the run trains on, not whether the machine happens to have a GPU.
    """
    out = {"pin_memory": torch.device(device).type == "cuda"}
    if workers > 0:
        out["persistent_workers"] = False  # each epoch's workers start from that epoch's dataset key
    return out


def make_loader(ds: Any, batch_size: int, workers: int = 0, *, device: Any = "cpu", **kwargs: Any) -> DataLoader:
    """Return a DataLoader of ``(x, y, skipped)`` batches (see ``collate_skip``) feeding ``device``.

    Without a ``generator`` it gets a fixed one of its own: every DataLoader iterator draws a base seed, and
    from torch's global generator unless it has one, which would move the caller's random state.
    """
    kwargs.setdefault("generator", torch_generator(0))
    return DataLoader(ds, batch_size=batch_size, num_workers=workers, collate_fn=collate_skip,
                      **loader_options(device, workers), **kwargs)

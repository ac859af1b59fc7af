"""The one collate function for datasets that return ``None`` for an unreadable sample."""
from __future__ import annotations

import warnings
from typing import Any, Optional, Sequence, Tuple

import torch

__all__ = ["collate_skip", "warn_skipped"]


def collate_skip(batch: Sequence[Optional[tuple]]) -> Tuple[Optional[torch.Tensor], Optional[Any], int]:
    """Stack the readable ``(x, target)`` samples; return ``(x or None, targets or None, number skipped)``.

    The count travels with the batch so it stays right with any number of DataLoader worker processes; the
    caller sums it and warns once per epoch. Targets may be ints or tensors (stacked either way).
    """
    kept = [b for b in batch if b is not None]
    skipped = len(batch) - len(kept)
    if not kept:
        return None, None, skipped
    xs, ys = zip(*kept)
    return torch.stack(xs), torch.stack([torch.as_tensor(y) for y in ys]), skipped


def warn_skipped(n: int, what: str = "images") -> None:
    """Emit one warning naming how many unreadable files were skipped (nothing if none)."""
    if n:
        warnings.warn(f"skipped {n} unreadable {what}", RuntimeWarning, stacklevel=2)

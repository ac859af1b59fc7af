"""The one collate function for datasets that return ``None`` for an unreadable sample."""
from __future__ import annotations

import warnings
from typing import Any, Optional, Sequence, Tuple

import torch

from nas.errors import NasError

__all__ = ["collate_skip", "warn_skipped", "check_readable"]


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


def warn_skipped(n: int, what: str = "images", where: str = "") -> None:
    """Emit one warning naming how many unreadable files were skipped (nothing if none), ``where`` first."""
    if n:
        place = f"{where}: " if where else ""
        warnings.warn(f"{place}skipped {n} unreadable {what}", RuntimeWarning, stacklevel=2)


def check_readable(read: int, skipped: int, what: str = "images", min_readable: float = 0.5, where: str = "") -> None:
    """Raise a one-line NasError when a pass read nothing, or a smaller share than ``min_readable`` of its files.

    Below the floor a run would train or score on whatever few files happened to decode, and still look
    like a result; above it, the skipped files are only counted (and warned about by :func:`warn_skipped`).
    """
    total = read + skipped
    place = f" in {where}" if where else ""
    if read == 0:
        reason = f"all {skipped} were unreadable" if skipped else "there were none"
        raise NasError(f"no readable {what}{place}: {reason}")
    if read < min_readable * total:
        raise NasError(f"only {read} of {total} {what}{place} were readable ({read / total:.0%}, below "
                       f"data.min_readable {min_readable:g}); fix or remove the unreadable files")

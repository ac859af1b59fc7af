"""The ranges of the numbers a config may hold: one table, checked by ``from_dict`` as every config is built.

A row applies to every config field of that name (``seed`` in the search, retraining and profile configs alike,
``data.seed`` too), or to one dotted key where a name alone would be ambiguous. The upper limits refuse values
that would exhaust memory before the first step, long before any run folder is written; they sit far above any
run on record, so a value above one is a typo (an extra digit or three), not a bigger experiment.

Example:
    >>> check_limit("data.seed", 3)
    >>> check_limit("seed", -5)
    Traceback (most recent call last):
    ...
    nas.errors.NasError: seed must be in 0..9223372036854775807 (torch and numpy take a 63-bit seed), got -5
"""
from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional

from nas.errors import NasError

__all__ = ["Limit", "LIMITS", "limit_of", "check_limit"]


class Limit(NamedTuple):
    """The range ``lo..hi`` of a number and why it ends there (None: no bound on that side here)."""

    lo: Optional[int]
    hi: Optional[int]
    why: str


_PIXELS = Limit(None, 4096, "a 4096 px RGB image is 200 MB in float32, before any activation")
_BATCH = Limit(None, 65_536, "the activations of one step would not fit in memory")
_SET = Limit(None, 1_000_000, "an embedded or scored set is held in memory at once")

# field name (or dotted key) -> its range; lower bounds that other options decide stay in each config's validate()
LIMITS: Dict[str, Limit] = {
    "seed": Limit(0, 2 ** 63 - 1, "torch and numpy take a 63-bit seed"),
    "num_classes": Limit(2, 100_000, "a classifier needs two classes; 100,000 on 1,280 features is 128M weights"),
    "resolution": _PIXELS,
    "proxy_resolution": _PIXELS,
    "data.size": _PIXELS,
    "batch_size": _BATCH,
    "eval_batch_size": _BATCH,
    "bn_batch_size": _BATCH,
    "batch": _BATCH,
    "population": Limit(None, 100_000, "every member is built and scored each round"),
    "frames": Limit(None, 1024, "a clip of 1024 frames at 224 px is 600 MB in float32, per sample"),
    "train_size": _SET,
    "val_size": _SET,
    "alpha_size": _SET,
    "val_images": _SET,
}


def limit_of(key: str) -> Optional[Limit]:
    """Return the limit of dotted config ``key`` (its own row, else its field name's), or None."""
    return LIMITS.get(key) or LIMITS.get(key.rsplit(".", 1)[-1])


def check_limit(key: str, value: Any) -> None:
    """Raise a one-line NasError when the int ``value`` of dotted config ``key`` lies outside its row's range."""
    row = limit_of(key)
    if row is None or isinstance(value, bool) or not isinstance(value, int):
        return
    if row.lo is not None and row.hi is not None and not row.lo <= value <= row.hi:
        raise NasError(f"{key} must be in {row.lo}..{row.hi} ({row.why}), got {_show(value)}")
    if row.lo is not None and value < row.lo:
        raise NasError(f"{key} must be at least {row.lo} ({row.why}), got {_show(value)}")
    if row.hi is not None and value > row.hi:
        raise NasError(f"{key} {_show(value)} is above the limit {row.hi:,} ({row.why})")


def _show(value: int) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."

"""Small statistics helpers used by benchmarks and reports: Kendall's tau-b and its bootstrap interval."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

__all__ = ["kendall_tau", "kendall_tau_ci", "TauCI"]


def _tie_pairs(sorted_values: np.ndarray) -> int:
    """Return the number of tied pairs in a sorted array: sum of t(t-1)/2 over runs of equal values."""
    if sorted_values.size == 0:
        return 0
    edges = np.flatnonzero(np.diff(sorted_values)) + 1
    runs = np.diff(np.concatenate(([0], edges, [sorted_values.size])))
    return int((runs * (runs - 1) // 2).sum())


def _inversions(ranks: np.ndarray, m: int) -> int:
    """Return the pairs ``i < j`` with ``ranks[i] > ranks[j]``: a bottom-up merge sort, vectorised per level."""
    arr, n, width, total = ranks.astype(np.int64), ranks.size, 1, 0
    pos = np.arange(n)
    while width < n:
        pair = pos // (2 * width)
        keys = pair * (m + 1) + arr  # globally sorted within each left half and each right half
        left = (pos % (2 * width)) < width
        lk, rk, rp = keys[left], keys[~left], pair[~left]
        end = np.searchsorted(lk, (rp + 1) * (m + 1), "left")  # end of the left half of each right element's pair
        total += int((end - np.searchsorted(lk, rk, "right")).sum())  # left elements greater than it
        arr = np.sort(keys) - pair * (m + 1)  # merge: pairs stay in order, values sort within each pair
        width *= 2
    return total


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Return Kendall's tau-b between two equally long sequences (ties handled; 0.0 when undefined).

    O(n log n) (Knight 1966), so the 15,625 cells of NAS-Bench-201 take milliseconds.

    Example:
        >>> kendall_tau([1, 2, 3, 4], [1, 3, 2, 4])
        0.6666666666666666
    """
    if len(a) != len(b):
        raise ValueError("sequences differ in length")
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = x.size
    if n < 2:
        return 0.0
    order = np.lexsort((y, x))  # by a, then b: pairs tied in a are never counted as inversions of b
    xs, ys = x[order], y[order]
    n0 = n * (n - 1) // 2
    n1 = _tie_pairs(xs)
    n2 = _tie_pairs(np.sort(ys))
    joint = np.flatnonzero((np.diff(xs) != 0) | (np.diff(ys) != 0)) + 1
    runs = np.diff(np.concatenate(([0], joint, [n])))
    n3 = int((runs * (runs - 1) // 2).sum())
    _, ranks = np.unique(ys, return_inverse=True)
    discordant = _inversions(ranks, int(ranks.max()) + 1)
    concordant = n0 - n1 - n2 + n3 - discordant
    denom = math.sqrt((n0 - n1) * (n0 - n2))
    return (concordant - discordant) / denom if denom else 0.0


@dataclass(frozen=True)
class TauCI:
    """Kendall's tau-b with a percentile bootstrap confidence interval."""

    tau: float
    low: float
    high: float
    n: int  # pairs of values the tau is computed over

    def __str__(self) -> str:
        return f"{self.tau:.3f} [{self.low:.3f}, {self.high:.3f}] (n={self.n})"


def kendall_tau_ci(a: Sequence[float], b: Sequence[float], *, level: float = 0.95, resamples: int = 1000,
                   seed: int = 0) -> TauCI:
    """Return Kendall's tau-b of ``a`` and ``b`` with a percentile bootstrap interval at ``level``.

    Items (pairs ``(a[i], b[i])``) are resampled with replacement ``resamples`` times from a generator seeded
    with ``seed``, so the interval is reproducible. It describes the uncertainty of tau over the population
    the items were drawn from (e.g. twenty random architectures out of a whole space).

    Example:
        >>> ci = kendall_tau_ci([1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 6, 5], resamples=200)
        >>> ci.low <= ci.tau <= ci.high
        True
    """
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size != y.size:
        raise ValueError("sequences differ in length")
    tau = kendall_tau(x, y)
    rng = np.random.default_rng(seed)
    draws = [kendall_tau(x[i], y[i]) for i in (rng.integers(0, x.size, x.size) for _ in range(resamples))]
    low, high = _percentiles(np.asarray(draws), level) if draws else (tau, tau)
    return TauCI(tau, low, high, int(x.size))


def _percentiles(draws: np.ndarray, level: float) -> Tuple[float, float]:
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)

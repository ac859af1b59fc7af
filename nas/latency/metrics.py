"""How well one figure tracks measured latency: mean absolute percentage error and rank correlations."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from nas.utils.stats import kendall_tau

__all__ = ["mape", "spearman", "kendall_tau", "agreement"]


def mape(predicted: Sequence[float], measured: Sequence[float]) -> float:
    """Return the mean absolute percentage error of ``predicted`` against ``measured``, in percent."""
    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    return float(np.mean(np.abs(p - m) / m) * 100)


def _ranks(values: Sequence[float]) -> np.ndarray:
    """Return average ranks (ties share their mean rank)."""
    v = np.asarray(values, float)
    order = np.argsort(v, kind="mergesort")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(len(v), dtype=float)
    for value in np.unique(v):
        tied = v == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Return Spearman's rank correlation (Pearson on average ranks); 0.0 when a side is constant."""
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def agreement(figure: Sequence[float], measured: Sequence[float]) -> dict:
    """Return Spearman and Kendall of ``figure`` against ``measured``."""
    return {"spearman": spearman(figure, measured), "kendall": kendall_tau(figure, measured)}

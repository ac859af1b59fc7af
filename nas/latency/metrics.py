"""How well one figure tracks measured latency: mean absolute percentage error and rank correlations."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from nas.utils.stats import kendall_tau, spearman

__all__ = ["mape", "spearman", "kendall_tau", "agreement"]


def mape(predicted: Sequence[float], measured: Sequence[float]) -> float:
    """Return the mean absolute percentage error of ``predicted`` against ``measured``, in percent."""
    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    return float(np.mean(np.abs(p - m) / m) * 100)


def agreement(figure: Sequence[float], measured: Sequence[float]) -> dict:
    """Return Spearman and Kendall of ``figure`` against ``measured``."""
    return {"spearman": spearman(figure, measured), "kendall": kendall_tau(figure, measured)}

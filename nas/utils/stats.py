"""Small statistics helpers used by benchmarks and reports."""
from __future__ import annotations

import math
from typing import Sequence

__all__ = ["kendall_tau"]


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Return Kendall's tau-b between two equally long sequences (ties handled; 0.0 when undefined)."""
    if len(a) != len(b):
        raise ValueError("sequences differ in length")
    concordant = discordant = ties_a = ties_b = 0
    n = len(a)
    for i in range(n):
        for j in range(i + 1, n):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif (da > 0) == (db > 0):
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b))
    return (concordant - discordant) / denom if denom else 0.0

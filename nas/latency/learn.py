"""A latency table that learns: every whole-model timing made against it can refit its calibration.

A table predicts ``overhead + scale * (sum of block entries)`` (``nas.latency.table``). Its overhead and scale
are fitted on a handful of whole models timed when it was built; the search's latency check, ``nas-derive
--latency --lut --learn`` and ``nas-profile --refine`` time more whole models against the same table. ``refine``
adds those timings to the table's samples, refits its calibration and appends one entry to the table's
``history``: when, from what, how many, how well the table predicted the new timings before it learned from them
(the honest figure: they were not in its fit) and the refitted figures.

Calibrations (``LatencyTable.calibration``):

- ``additive`` (the reference): scale 1 and the median gap between measured and summed blocks.
- ``affine``: an overhead and one scale, least squares on the relative error.
- ``stages`` (ours, in the spirit of kernel-level predictors such as nn-Meter, with far fewer samples): one
  scale per block group (the blocks at one feature-map size, ``block_group``) and an overhead, fitted on the
  relative error with a ridge penalty that pulls every scale towards 1. The penalty's strength is chosen by
  leave-one-out error over a fixed grid, so with few samples the fit stays near the additive sum and moves away
  from it only as far as the timings support. Blocks timed alone carry costs a model does not pay per block, and
  the share differs by stage (small maps are call-bound, large ones memory-bound): one scale cannot hold both.

Which calibration predicts better is a measurement (``tools/bench_latency.py``); the default is the one that
did (docs/latency.md).
"""
from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from nas.errors import NasError
from nas.latency.table import (CALIBRATIONS, LatencyTable, fit_calibration, group_sums, load_table,
                               predict_latency, save_table)

__all__ = ["RIDGE_GRID", "fit_stages", "refit", "refine", "learn_into"]

RIDGE_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # penalty strengths tried, per sample (our reading)
MAX_HISTORY = 200  # refits kept in a table file; the oldest go first


def _solve(rows: Sequence[Tuple[float, Dict[str, float]]], groups: List[str], lam: float) -> np.ndarray:
    """Return ``[overhead, scale per group]`` minimising the relative error plus ``lam * n * sum((s - 1) ** 2)``."""
    m = np.array([r[0] for r in rows])
    a = np.column_stack([1 / m] + [[r[1].get(g, 0.0) / mi for r, mi in zip(rows, m)] for g in groups])
    penalty = np.diag([0.0] + [lam * len(rows)] * len(groups))
    prior = np.array([0.0] + [1.0] * len(groups))
    lhs = a.T @ a + penalty
    rhs = a.T @ np.ones(len(rows)) + penalty @ prior
    lhs[0, 0] += 1e-12 * max(lhs[0, 0], 1e-300)  # a single sample still fixes the overhead
    return np.linalg.lstsq(lhs, rhs, rcond=None)[0]


def fit_stages(rows: Sequence[Tuple[float, Dict[str, float]]]) -> Tuple[float, Dict[str, float], float]:
    """Return ``(overhead_ms, scale per group, ridge)`` fitted to ``(measured ms, block ms per group)`` rows.

    The ridge strength is the grid's value of least leave-one-out mean absolute relative error (ties: the
    stronger penalty). Pure: numpy only.
    """
    rows = [(float(m), dict(sums)) for m, sums in rows if m > 0]
    if not rows:
        raise NasError("a latency calibration needs at least one whole-model timing")
    groups = sorted({g for _, sums in rows for g in sums})
    best = (float("inf"), RIDGE_GRID[-1])
    if len(rows) >= 3:
        for lam in sorted(RIDGE_GRID, reverse=True):
            errors = []
            for i in range(len(rows)):
                theta = _solve(rows[:i] + rows[i + 1:], groups, lam)
                m, sums = rows[i]
                errors.append(abs(theta[0] + sum(s * sums.get(g, 0.0) for s, g in zip(theta[1:], groups)) - m) / m)
            err = statistics.fmean(errors)
            if err < best[0] - 1e-12:
                best = (err, lam)
    theta = _solve(rows, groups, best[1])
    return float(theta[0]), {g: float(s) for g, s in zip(groups, theta[1:])}, best[1]


def refit(table: LatencyTable, mode: Optional[str] = None, space: Any = None) -> Tuple[LatencyTable, Dict[str, Any]]:
    """Return ``table`` with its calibration refitted from its own samples in ``mode`` (default: the table's),
    and the refit's figures (for the history).

    Every sample's block sum is recomputed from the table's current entries (a sample stores the sum of its
    day, which an edited or rebuilt entry would leave stale).
    """
    mode = table.calibration if mode is None else mode
    if mode not in CALIBRATIONS:
        raise NasError(f"the latency calibration is one of {', '.join(CALIBRATIONS)}, got {str(mode)[:20]!r}")
    from nas.spaces import get_space, load_genotype

    space = space if space is not None else get_space(table.space)
    blocks_only = replace(table, overhead_ms=0.0, scale=1.0, stage_scales={})
    sums = [group_sums(load_genotype(g), blocks_only, space) for g, _, _ in table.overhead_samples]
    samples = tuple((g, m, sum(s.values())) for (g, m, _), s in zip(table.overhead_samples, sums))
    if mode != "stages":
        overhead, scale = fit_calibration(samples, mode)
        new = replace(table, overhead_samples=samples, overhead_ms=overhead, scale=scale, calibration=mode,
                      stage_scales={})
        return new, {"overhead_ms": overhead, "scale": scale}
    overhead, stages, ridge = fit_stages([(m, s) for (_, m, _), s in zip(samples, sums)])
    new = replace(table, overhead_samples=samples, overhead_ms=overhead, scale=1.0, calibration=mode,
                  stage_scales=stages)
    return new, {"overhead_ms": overhead, "stage_scales": stages, "ridge": ridge}


def refine(table: LatencyTable, timings: Sequence[Tuple[Any, float]], source: str,
           space: Any = None) -> Tuple[LatencyTable, Dict[str, Any]]:
    """Return ``table`` refitted with the whole-model ``timings`` (``(genotype, measured ms)``) added, and the
    history entry it appended.

    A genotype already among the samples has its measurement replaced (the newest timing stands). The entry
    records the table's error on the new timings before the refit, which is out of sample.
    """
    from nas.spaces import get_space

    space = space if space is not None else get_space(table.space)
    timings = [(g, float(ms)) for g, ms in timings if float(ms) > 0]
    if not timings:
        raise NasError("no whole-model timing to learn from")
    before = [abs(predict_latency(g, table, space) - ms) / ms for g, ms in timings]
    new = {str(g): (str(g), ms, 0.0) for g, ms in timings}  # block sums: refit recomputes every sample's
    kept = tuple(s for s in table.overhead_samples if s[0] not in new)
    learned, fitted = refit(replace(table, overhead_samples=kept + tuple(new.values())), space=space)
    entry = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "source": str(source)[:80],
             "added": len(new), "samples": len(learned.overhead_samples), "calibration": learned.calibration,
             "mape_before_pct": 100 * statistics.fmean(before), **fitted}
    history = (table.history + (entry,))[-MAX_HISTORY:]
    return replace(learned, history=history), entry


def learn_into(path: str | Path, timings: Sequence[Tuple[Any, float]], source: str,
               log: Callable[[str], None] = print) -> LatencyTable:
    """Refine the table file at ``path`` with ``timings`` and write it back atomically; log one line."""
    table, entry = refine(load_table(path), timings, source)
    save_table(table, path)
    log(f"latency table {str(path)[-80:]} learned from {entry['added']} timing(s) ({entry['source']}): it was "
        f"off by {entry['mape_before_pct']:.1f}% on them; {entry['samples']} whole-model samples now, "
        f"{entry['calibration']} calibration refitted")
    return table

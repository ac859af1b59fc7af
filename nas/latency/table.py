"""The latency lookup table: per-block timings of one space at one target, with where and how they were taken.

No torch: a table is read, checked and summed without it. ``nas.latency.profile`` builds tables.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from nas.errors import NasError

__all__ = ["SCHEMA", "LatencyTable", "load_table", "save_table", "check_compatible", "predict_latency",
           "block_group", "group_sums", "fit_calibration", "CALIBRATIONS"]

SCHEMA = "nas-latency-lut/1"
# What must match the machine a table is used on (unless forced): a timing from elsewhere means little here.
ENV_KEYS = ("device", "torch", "threads")


@dataclass(frozen=True)
class LatencyTable:
    """Per-block median latencies (ms) of a space at a target, plus a whole-model calibration.

    ``entries`` maps a block key (from ``Space.latency_blocks``) to its median forward time, timed alone. A
    model's prediction is ``overhead_ms + scale * (sum of its blocks' entries)``: both numbers are fitted on
    whole models (``fit_calibration``). ``overhead_ms`` holds the stem, head, pooling and per-call cost (it may
    be negative); ``scale`` the systematic gap between blocks timed alone and inside a model (cache, memory
    traffic). A table without a ``scale`` (written before it existed) reads as scale 1. ``env`` records the
    device name, torch version, threads, batch, memory format, model form, and the date.
    """

    space: str
    target: Mapping[str, Any]  # resolution, num_classes, frames
    env: Mapping[str, Any]  # device, torch, threads, batch, channels_last, script, date
    overhead_ms: float
    entries: Mapping[str, float] = field(default_factory=dict)
    iqr_ms: Mapping[str, float] = field(default_factory=dict)
    overhead_samples: tuple = ()  # (genotype, measured ms, sum of its block entries) used for the calibration
    scale: float = 1.0  # whole-model time per unit of summed block time (fitted with the overhead)
    calibration: str = "additive"  # how overhead and scales were fitted (CALIBRATIONS; nas.latency.learn)
    stage_scales: Mapping[str, float] = field(default_factory=dict)  # "stages": one scale per block group
    history: tuple = ()  # one mapping per refit from new whole-model timings (nas.latency.learn.refine)

    def to_dict(self) -> Dict[str, Any]:
        """Return the JSON form."""
        return {"schema": SCHEMA, "space": self.space, "target": dict(self.target), "env": dict(self.env),
                "overhead_ms": self.overhead_ms, "scale": self.scale, "calibration": self.calibration,
                "stage_scales": dict(self.stage_scales), "history": [dict(h) for h in self.history],
                "overhead_samples": [list(s) for s in self.overhead_samples],
                "entries": {k: {"median_ms": v, "iqr_ms": self.iqr_ms.get(k, 0.0)} for k, v in self.entries.items()}}

    def describe(self) -> str:
        """Return a one-line summary: space, target, device, torch and threads."""
        t, e = self.target, self.env
        frames = f"x{t['frames']} frames" if t.get("frames") else ""
        return (f"{self.space}@{t['resolution']}px{frames} on {e['device']}, torch {e['torch']}, "
                f"{e['threads']} thread(s), batch {e['batch']}")


def _number(value: Any, what: str, signed: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (
            value < 0 and not signed):
        raise NasError(f"malformed latency table: {what} must be a {'' if signed else 'non-negative '}number")
    return float(value)


def from_dict(data: Any, source: str = "latency table") -> LatencyTable:
    """Return the table of a parsed JSON document; anything malformed is a one-line NasError."""
    if not isinstance(data, Mapping) or data.get("schema") != SCHEMA:
        raise NasError(f"malformed {source}: not a {SCHEMA} document (write one with nas-profile)")
    for key in ("space", "target", "env", "overhead_ms", "entries"):
        if key not in data:
            raise NasError(f"malformed {source}: missing key {key!r}")
    target, env, entries = data["target"], data["env"], data["entries"]
    if not isinstance(target, Mapping) or not isinstance(target.get("resolution"), int):
        raise NasError(f"malformed {source}: 'target' must hold an integer resolution")
    if not isinstance(env, Mapping) or any(k not in env for k in ENV_KEYS + ("batch",)):
        raise NasError(f"malformed {source}: 'env' must record {', '.join(ENV_KEYS)} and batch")
    if not isinstance(entries, Mapping) or not entries:
        raise NasError(f"malformed {source}: 'entries' must be a non-empty mapping")
    med, iqr = {}, {}
    for k, v in entries.items():
        if not isinstance(v, Mapping):
            raise NasError(f"malformed {source}: entry {str(k)[:40]!r} must be a mapping with median_ms")
        med[str(k)] = _number(v.get("median_ms"), f"entry {str(k)[:40]!r} median_ms")
        iqr[str(k)] = _number(v.get("iqr_ms", 0.0), f"entry {str(k)[:40]!r} iqr_ms")
    samples = data.get("overhead_samples", [])
    if not isinstance(samples, list) or any(
            not isinstance(s, list) or len(s) != 3 or not isinstance(s[0], str) for s in samples):
        raise NasError(f"malformed {source}: 'overhead_samples' must be [genotype, measured ms, block ms] rows")
    samples = tuple((s[0], _number(s[1], "a sample's measured ms"), _number(s[2], "a sample's block ms"))
                    for s in samples)
    scale = _number(data.get("scale", 1.0), "scale")
    if scale == 0:
        raise NasError(f"malformed {source}: scale must be positive")
    calibration = data.get("calibration", "additive")
    if calibration not in CALIBRATIONS:
        raise NasError(f"malformed {source}: calibration must be one of {', '.join(CALIBRATIONS)}")
    stages = data.get("stage_scales", {})
    if not isinstance(stages, Mapping):
        raise NasError(f"malformed {source}: 'stage_scales' must map a block group to its scale")
    stages = {str(k)[:40]: _number(v, f"stage scale {str(k)[:40]!r}", signed=True) for k, v in stages.items()}
    history = data.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, Mapping) for h in history):
        raise NasError(f"malformed {source}: 'history' must be a list of refits")
    return LatencyTable(str(data["space"]), dict(target), dict(env), _number(data["overhead_ms"], "overhead_ms", signed=True),
                        med, iqr, samples, scale, calibration, stages, tuple(dict(h) for h in history))


def load_table(path: str | Path) -> LatencyTable:
    """Read a table written by ``nas-profile``; a missing, torn or malformed file is a one-line NasError."""
    from nas.utils.readers import read_json, show_path

    return from_dict(read_json(path, "latency table"), f"latency table {show_path(path)}")


def save_table(table: LatencyTable, path: str | Path) -> None:
    """Write ``table`` as JSON, atomically."""
    from nas.utils.io import atomic_write_json

    atomic_write_json(Path(path), table.to_dict())


def check_compatible(table: LatencyTable, env: Mapping[str, Any], *, space: str, target: Mapping[str, Any],
                     force: bool = False) -> List[str]:
    """Refuse a table made for another space or target, or (unless ``force``) on another device, torch or thread count.

    Returns the environment mismatches that ``force`` let through (empty when the table matches).
    """
    if table.space != space:
        raise NasError(f"the latency table is for space {table.space[:40]!r}, not {space!r}")
    for key in ("resolution", "num_classes", "frames"):
        if table.target.get(key) != target.get(key):
            raise NasError(f"the latency table was built for {key} {str(table.target.get(key))[:20]}, "
                           f"not {str(target.get(key))[:20]} (build one with nas-profile)")
    diffs = [f"{k} {str(table.env.get(k))[:60]!r} here {str(env.get(k))[:60]!r}" for k in ENV_KEYS
             if str(table.env.get(k)) != str(env.get(k))]
    if diffs and not force:
        raise NasError(f"the latency table was made elsewhere ({diffs[0]}); rebuild it with nas-profile or pass "
                       f"--lut-force")
    return diffs


def predict_latency(genotype, table: LatencyTable, space: Optional[Any] = None) -> float:
    """Return the predicted latency (ms) of ``genotype``: the overhead plus scale times its blocks' entries.

    With ``stage_scales`` (the ``stages`` calibration) each group of blocks (``block_group``: the blocks at one
    feature-map size) has its own scale; a group the fit did not see takes ``scale``. A pure function of the
    genotype and the table (the space only names the blocks, as for MAdds).
    """
    if table.stage_scales:
        sums = group_sums(genotype, table, space)
        return table.overhead_ms + sum(table.stage_scales.get(k, table.scale) * v for k, v in sums.items())
    return table.overhead_ms + table.scale * sum(group_sums(genotype, table, space).values())


_SIZE = re.compile(r"^\d+(x\d+)+$")


def block_group(key: str) -> str:
    """Return the group of a block key: its first ``HxW`` (or ``TxHxW``) field, the stage it runs at; else ``all``."""
    return next((part for part in key.split("|") if _SIZE.match(part)), "all")


def group_sums(genotype, table: LatencyTable, space: Optional[Any] = None) -> Dict[str, float]:
    """Return ``genotype``'s summed block entries per ``block_group``; a block missing from the table is an error."""
    from nas.core.target import Target

    if space is None:
        from nas.spaces import get_space

        space = get_space(genotype.space)
    target = Target(table.target["resolution"], table.target.get("num_classes", 1000), table.target.get("frames"))
    sums: Dict[str, float] = {}
    entries = table.entries
    for key in space.latency_blocks(genotype, target):
        try:
            value = entries[key]
        except KeyError:
            raise NasError(f"the latency table has no entry for block {key[:60]!r} (rebuild it with nas-profile "
                           f"for this space and target)") from None
        group = block_group(key)
        sums[group] = sums.get(group, 0.0) + value
    return sums


# additive and affine: nas.latency.table.fit_calibration; stages: nas.latency.learn.fit_stages
CALIBRATIONS = ("additive", "affine", "stages")


def fit_calibration(samples, mode: str = "additive") -> tuple:
    """Return ``(overhead_ms, scale)`` fitted to ``(genotype, measured ms, summed block ms)`` samples.

    ``additive`` (the default): scale 1 and the median gap ``m - s``. ``affine``: least squares on the relative
    error, ``sum(((overhead + scale * s) / m - 1) ** 2)``, so fast and slow models weigh alike; with fewer than
    three distinct sums, or a non-positive fitted scale, it falls back to the additive fit. The additive fit is the
    default because it predicted held-out members better in every measurement so far (README, *Latency budgets*):
    a scale fitted on 8 noisy timings moves every prediction. Pure: no numpy or torch.
    """
    import statistics

    if mode not in CALIBRATIONS[:2]:
        raise NasError(f"the latency calibration here is additive or affine, got {str(mode)[:20]!r}")
    pts = [(float(m), float(s)) for _, m, s in samples if m > 0]
    if not pts:
        raise NasError("a latency calibration needs at least one whole-model timing")
    fallback = (statistics.median(m - s for m, s in pts), 1.0)
    if mode == "additive" or len({round(s, 9) for _, s in pts}) < 3:
        return fallback
    # normal equations of min sum (b * z + a * x - 1)^2 with z = 1/m, x = s/m
    zz = sum(1 / m ** 2 for m, _ in pts)
    xx = sum((s / m) ** 2 for m, s in pts)
    zx = sum(s / m ** 2 for m, s in pts)
    z1 = sum(1 / m for m, _ in pts)
    x1 = sum(s / m for m, s in pts)
    det = zz * xx - zx * zx
    if det <= 1e-12 * zz * xx:
        return fallback
    overhead, scale = (z1 * xx - x1 * zx) / det, (x1 * zz - z1 * zx) / det
    return (overhead, scale) if scale > 0 else fallback

"""Build a latency table: time every distinct block configuration of a space at a target, then the overhead."""
from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional, Sequence

from nas.latency.measure import MeasureSpec, Timing, device_name, measure, measure_checked
from nas.latency.table import LatencyTable, predict_latency

__all__ = ["environment", "measure_genotype", "build_table", "calibration_genotypes"]


def environment(device, n_threads: int, batch: int, spec: MeasureSpec) -> Dict[str, object]:
    """Return what a table records about where and how it was measured."""
    import torch

    return {"device": device_name(device), "torch": torch.__version__, "threads": n_threads, "batch": batch,
            "channels_last": spec.channels_last, "script": spec.script, "clock": spec.clock,
            "warmup": spec.warmup, "reps": spec.reps,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def measure_genotype(genotype, target, device, spec: MeasureSpec, n_threads: int, batch: int = 1,
                     checked: bool = False) -> Timing:
    """Return the measured latency of ``genotype``'s standalone model (freshly initialised) at ``target``;
    ``checked``: with the noise check (``measure_checked``)."""
    import torch

    from nas.spaces import create_model

    model = create_model(genotype, num_classes=target.num_classes)
    timer = measure_checked if checked else measure
    return timer(model, torch.randn(target.input_shape(batch)), device, spec, n_threads)


def calibration_genotypes(space, n_random: int = 6, seed: int = 0) -> List:
    """Return the members whose whole-model timings fit the calibration: the default, the cheapest and
    ``n_random`` distinct random ones (fewer only when the space has fewer members)."""
    rng = random.Random(seed)
    out = list(dict.fromkeys([space.default(), space.cheapest()]))
    for _ in range(50 * (n_random + 1)):
        if len(out) >= n_random + 2:
            break
        g = space.sample(rng)
        if g not in out:
            out.append(g)
    return out


def build_table(space_name: str, target, device, spec: MeasureSpec, n_threads: int, batch: int = 1,
                calibrate: Optional[Sequence] = None,
                on_step: Callable[[str], None] = lambda key: None, calibration: str = "additive") -> LatencyTable:
    """Measure every key of ``Space.block_configs(target)`` once, then the overhead on whole models.

    The ``calibrate`` genotypes are then timed whole, and ``overhead + scale * (sum of block entries)`` is
    fitted to them (``nas.latency.learn.refit`` in mode ``calibration``; each timing with the noise check of
    ``measure_checked``): the overhead holds the stem, head, pooling and
    per-call cost; an ``affine`` fit's scale (our reading) the systematic gap between blocks timed alone and
    inside a model, which the ``additive`` fit leaves at 1.
    ``on_step(key)`` is called after each measurement (a progress bar).
    """
    import torch

    from nas.plugins import get_plugin

    plugin = get_plugin(space_name)
    space = plugin.space
    entries, iqr, noisy = {}, {}, 0
    for key in space.block_configs(target):
        module, shape = plugin.build_latency_block(key)
        t = measure_checked(module, torch.randn(batch, *shape), device, spec, n_threads)
        entries[key], iqr[key] = t.median_ms, t.iqr_ms
        noisy += t.noisy
        on_step(key)
    target_d = {"resolution": target.resolution, "num_classes": target.num_classes, "frames": target.frames}
    env = {**environment(device, n_threads, batch, spec), "noisy_entries": noisy}
    blocks_only = LatencyTable(space_name, target_d, env, 0.0, entries, iqr)
    samples = []
    for g in calibrate if calibrate is not None else calibration_genotypes(space):
        measured = measure_genotype(g, target, device, spec, n_threads, batch, checked=True).median_ms
        samples.append((str(g), measured, predict_latency(g, blocks_only, space)))
        on_step(str(g))
    from nas.latency.learn import refit

    return refit(LatencyTable(space_name, target_d, env, 0.0, entries, iqr, tuple(samples)), calibration, space)[0]

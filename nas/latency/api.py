"""The latency verbs the commands share: measure a genotype in every asked form, open a table for use here."""
from __future__ import annotations

from dataclasses import replace
from typing import Dict, List, Optional, Sequence, Tuple

from nas.latency.measure import MeasureSpec, all_threads, device_name
from nas.latency.table import LatencyTable, check_compatible, load_table

__all__ = ["thread_counts", "measure_forms", "open_table", "here", "table_spec", "table_target"]


def thread_counts(threads: Optional[int]) -> List[int]:
    """Return the thread counts to measure: ``threads`` when given, else 1 and all of this machine's cores."""
    if threads is not None:
        return [threads]
    return sorted({1, all_threads()})


def measure_forms(genotype, target, device, spec: MeasureSpec, threads: Sequence[int], batch: int = 1,
                  forms: Sequence[str] = ("eager", "script")) -> List[Dict[str, object]]:
    """Measure ``genotype``'s model at each thread count, eager and as TorchScript; return one row per run."""
    from nas.latency.profile import measure_genotype

    rows = []
    for n in threads:
        for form in forms:
            t = measure_genotype(genotype, target, device, replace(spec, script=form == "script"), n, batch, checked=True)
            rows.append({"form": form, **t.to_dict()})
    return rows


def here(device, threads: int) -> Dict[str, object]:
    """Return this machine's side of a table's compatibility check (device name, torch version, threads)."""
    import torch

    return {"device": device_name(device), "torch": torch.__version__, "threads": threads}


def open_table(path: str, space: str, target, device, threads: Optional[int],
               force: bool = False) -> Tuple[LatencyTable, List[str]]:
    """Load ``path`` and check it fits ``space``, ``target`` and this machine; return it and the forced mismatches.

    ``threads`` None means the table's own thread count.
    """
    table = load_table(path)
    n = table.env["threads"] if threads is None else threads
    target_d = {"resolution": target.resolution, "num_classes": target.num_classes, "frames": target.frames}
    diffs = check_compatible(table, here(device, n), space=space, target=target_d, force=force)
    return table, diffs


def table_spec(table: LatencyTable) -> MeasureSpec:
    """Return how ``table`` was timed (warm-up, repetitions, memory format, model form, clock): a whole-model
    timing meant to be compared with its predictions, or to refine it, is taken the same way."""
    env, default = table.env, MeasureSpec()
    return MeasureSpec(warmup=int(env.get("warmup", default.warmup)), reps=int(env.get("reps", default.reps)),
                       channels_last=bool(env.get("channels_last", False)), script=bool(env.get("script", False)),
                       clock=str(env.get("clock", "wall")))


def table_target(table: LatencyTable):
    """Return the ``Target`` a table was built for."""
    from nas.core.target import Target

    t = table.target
    return Target(t["resolution"], t.get("num_classes", 1000), t.get("frames"))

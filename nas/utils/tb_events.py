"""TensorBoard event files that survive an interrupt.

A killed run leaves behind the scalars it wrote after its last checkpoint; the resumed run writes them again.
Steps alone cannot tell the two apart (a search logs supernet epochs, SGLD segments and rounds on separate step
counters, so TensorBoard's single ``purge_step`` would drop the wrong ones). Wall time can: a checkpoint records
the time it was taken, after the writer was flushed, and on resume :func:`trim_events` keeps only the events
written up to that time, merged into one file. Duplicates from a trim that was itself interrupted are identical
records and are dropped by the next trim.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Tuple

from nas.utils.io import atomic_write

__all__ = ["event_files", "read_events", "read_scalars", "trim_events"]


def event_files(folder: Path) -> List[Path]:
    """Return the event files in ``folder`` in the order TensorBoard reads them (by name)."""
    folder = Path(folder)
    return sorted(p for p in folder.glob("*tfevents*") if p.is_file()) if folder.is_dir() else []


def read_events(folder: Path) -> list:
    """Return every event of every file in ``folder``; a record torn by a kill ends its file's events."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    events = []
    for path in event_files(folder):
        events.extend(EventFileLoader(str(path)).Load())
    return events


def read_scalars(folder: Path) -> Dict[str, List[Tuple[int, float]]]:
    """Return ``tag -> [(step, value), ...]`` as written, duplicates included (for checks and tools)."""
    from tensorboard.util import tensor_util

    out: Dict[str, List[Tuple[int, float]]] = {}
    for event in read_events(folder):
        if not event.HasField("summary"):
            continue
        for value in event.summary.value:
            if value.HasField("simple_value"):
                number = float(value.simple_value)
            elif value.HasField("tensor") and value.metadata.plugin_data.plugin_name == "scalars":
                number = float(tensor_util.make_ndarray(value.tensor).item())
            else:
                continue
            out.setdefault(value.tag, []).append((int(event.step), number))
    return out


def trim_events(folder: Path, cutoff: float) -> int:
    """Keep the events of ``folder`` written at or before wall time ``cutoff`` in one file; return how many went.

    ``cutoff = float("-inf")`` drops every event (a run that restarts from nothing).
    """
    from tensorboard.summary.writer.record_writer import RecordWriter

    files = event_files(folder)
    if not files:
        return 0
    events = read_events(folder)
    header = next((e for e in events if e.HasField("file_version")), None)
    kept, seen = [], set()
    for event in events:
        if event.HasField("file_version") or event.wall_time > cutoff:
            continue
        blob = event.SerializeToString()
        if blob not in seen:
            seen.add(blob)
            kept.append(blob)
    dropped = sum(1 for e in events if not e.HasField("file_version")) - len(kept)
    if dropped == 0 and len(files) == 1:
        return 0
    if kept:
        first = min(e.wall_time for e in events if not e.HasField("file_version") and e.wall_time <= cutoff)
        target = Path(folder) / f"events.out.tfevents.{int(first):010d}.nas-kept"
        blobs = ([header.SerializeToString()] if header is not None else []) + kept

        def write(f) -> None:
            writer = RecordWriter(f)
            for blob in blobs:
                writer.write(blob)

        atomic_write(target, write)
    else:
        target = None
    for path in files:
        if path != target:
            os.unlink(path)
    return dropped

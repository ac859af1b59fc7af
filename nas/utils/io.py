"""Atomic file writes (a temporary file beside the target, renamed over it), and the append-only JSONL logs of the
benchmarks, whose last line a kill may tear."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, List

__all__ = ["atomic_write", "atomic_write_text", "atomic_write_json", "atomic_torch_save", "read_jsonl"]


def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Call ``write(fileobj)`` on a temp file in ``path``'s folder, fsync it and rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, lambda f: f.write(text), mode="w")


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` to ``path`` atomically, so an interrupted save never leaves a torn checkpoint."""
    import torch

    atomic_write(path, lambda f: torch.save(obj, f))


def read_jsonl(path: Path) -> List[Any]:
    """Return the rows of an append-only JSONL file, oldest first; a line torn by a kill mid-write is left out
    (its row is then measured again); a missing file has no rows."""
    path = Path(path)
    rows = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows

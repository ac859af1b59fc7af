"""Run folders: create a new one, refuse a folder that is not ours, reopen one to resume, and its ``meta.json``.

A new run that fails before its first checkpoint removes what it wrote (:func:`new_run`), so the same command
can be given again as it was; a run that fails later keeps its folder and is continued with ``--resume``.

A run folder belongs to one command (its *kind*: ``search``, ``retrain``, ``trials``). A command writes only
into a new or empty folder, or into a folder holding a run of its own kind that it is resuming; any other
existing folder is a one-line error naming what is there. ``meta.json`` records the kind, seed, versions, git
hash and command line when the run starts; each resume appends a record instead of rewriting it.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from nas.errors import NasError

__all__ = ["default_run_dir", "run_metadata", "git_hash", "versions", "RunFolder", "META", "KIND_MARKERS",
           "new_run"]

META = "meta.json"
# Files that identify a run of each kind in folders written before meta.json recorded the kind.
KIND_MARKERS = {"search": ("checkpoint.pt",), "retrain": ("last.pt",), "trials": ("trials.json",)}


def default_run_dir(prefix: str) -> Path:
    """Return ``runs/<prefix>-<YYYYmmdd-HHMMSS>`` (not created)."""
    return Path("runs") / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"


def git_hash() -> str:
    """Return the git commit of the installed source tree, or '' outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def versions() -> Dict[str, str]:
    """Return the versions of nas, torch, numpy and python."""
    import numpy
    import torch

    from nas.version import __version__

    return {"nas": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def run_metadata(seed: int, **extra: Any) -> Dict[str, Any]:
    """Return seed, versions of python/torch/numpy/nas, the git hash, command line, host and time."""
    return {"seed": seed, **versions(), "git": git_hash(), "argv": list(sys.argv), "host": platform.node(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **extra}


def _listing(path: Path, n: int = 3) -> str:
    names = sorted(p.name for p in path.iterdir())
    shown = ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")
    return shown


def _short(path: Path, n: int = 120) -> str:
    text = str(path)
    return text if len(text) <= n else "..." + text[-(n - 3):]


class RunFolder:
    """One run's folder of a given kind; build it with ``create`` (new run) or ``reopen`` (resume).

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> run = RunFolder.create(root / "r", "search")
        >>> run.write_meta(seed=0)
        >>> RunFolder.kind_of(root / "r")
        'search'
    """

    def __init__(self, path: Path, kind: str):
        self.path, self.kind = Path(path), kind

    @staticmethod
    def kind_of(path: Path) -> Optional[str]:
        """Return the kind of run held in ``path`` (from meta.json, else from marker files), or None."""
        path = Path(path)
        meta = path / META
        if meta.is_file():
            try:
                kind = json.loads(meta.read_text()).get("kind")
            except (OSError, ValueError, AttributeError):
                kind = None
            if isinstance(kind, str):
                return kind
        for kind, markers in KIND_MARKERS.items():
            if any((path / m).is_file() for m in markers):
                return kind
        return None

    @classmethod
    def create(cls, path: Path, kind: str) -> "RunFolder":
        """Make a new run folder; refuse a file, a run of any kind, or a non-empty folder that is not a run."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise NasError(f"--out {_short(path)} is a file, not a folder")
        if path.is_dir() and any(path.iterdir()):
            found = cls.kind_of(path)
            if found == kind:
                raise NasError(f"{_short(path)} already holds a {kind} run; continue it with --resume "
                               f"{_short(path)} or pick another --out")
            what = f"a {found} run" if found else f"files that are not a run ({_listing(path)})"
            raise NasError(f"refusing to write into {_short(path)}: it holds {what}; pick a new or empty --out")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a default --out (runs/...) under a folder we may not write in
            reason = exc.strerror or type(exc).__name__
            raise NasError(f"cannot create the run folder {_short(path)}: {reason}") from None
        return cls(path, kind)

    @classmethod
    def check(cls, path: Path, kind: str, needs: tuple = ()) -> None:
        """Refuse ``--resume path`` unless it is a run of ``kind`` holding ``needs`` (reads only)."""
        path = Path(path)
        if not path.is_dir():
            raise NasError(f"--resume {_short(path)}: run folder not found")
        found = cls.kind_of(path)
        if found != kind:
            what = f"a {found} run" if found else "no run of nas"
            raise NasError(f"--resume {_short(path)}: not a {kind} run folder (it holds {what})")
        missing = [n for n in needs if not (path / n).is_file()]
        if missing:
            raise NasError(f"--resume {_short(path)}: the run has no {missing[0]} (nothing to resume from)")

    @classmethod
    def reopen(cls, path: Path, kind: str, needs: tuple = ()) -> "RunFolder":
        """Open an interrupted run of ``kind`` for resuming; remove temp files left by a killed atomic write."""
        path = Path(path)
        cls.check(path, kind, needs)
        for tmp in path.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        return cls(path, kind)

    def write_meta(self, seed: int, **extra: Any) -> None:
        """Write the start record of a new run."""
        from nas.utils.io import atomic_write_json

        atomic_write_json(self.path / META, {"kind": self.kind, **run_metadata(seed, **extra)})

    def record_resume(self, **extra: Any) -> None:
        """Append a resume record (time, command line, versions) to meta.json, keeping the original fields."""
        from nas.utils.io import atomic_write_json

        path = self.path / META
        try:
            meta = json.loads(path.read_text()) if path.is_file() else {}
        except ValueError:
            meta = {}
        if not isinstance(meta, dict):
            meta = {}
        meta.setdefault("kind", self.kind)
        resumes: List[Dict[str, Any]] = list(meta.get("resumes") or [])
        resumes.append({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": list(sys.argv), **versions(),
                        "git": git_hash(), "pid": os.getpid(), **extra})
        meta["resumes"] = resumes
        atomic_write_json(path, meta)


def _topmost_missing(path: Path) -> Optional[Path]:
    """Return the highest folder of ``path`` (itself included) that does not exist yet, or None if it exists."""
    path = Path(path).absolute()
    if os.path.lexists(path):
        return None
    while not os.path.lexists(path.parent) and path.parent != path:
        path = path.parent
    return path


@contextmanager
def new_run(out: Path, kind: str) -> Iterator[None]:
    """Start a new run of ``kind`` in ``out``; if it fails before its first checkpoint, remove what it wrote.

    "What it wrote" is the folders it made (``out`` and any missing parents) or, for a folder that was empty
    before, what is in it now; a folder that held anything is left alone (``RunFolder.create`` refuses it). The
    error says which happened: a NasError gets the note in its one line, any other exception a ``__notes__`` line.
    A run with its first checkpoint (``KIND_MARKERS``) keeps its folder, and the note names ``--resume``.
    """
    out = Path(out)
    made = _topmost_missing(out)
    was_empty = made is None and out.is_dir() and not any(out.iterdir())
    try:
        yield
    except BaseException as exc:
        wrote = os.path.lexists(made) if made is not None else was_empty and any(out.iterdir())
        if not wrote:  # a folder that held files before, or nothing written yet: nothing of ours to remove
            raise
        note = _discard(out, kind, made)
        if isinstance(exc, NasError):
            raise NasError(f"{exc} ({note})") from exc.__cause__
        exc.add_note(note)
        raise


def _discard(out: Path, kind: str, made: Optional[Path]) -> str:
    """Remove a failed new run's folder unless it reached its first checkpoint; return what was done, in words."""
    shown = _short(out)
    if any((out / m).is_file() for m in KIND_MARKERS.get(kind, ())):
        return f"the run folder is kept: continue it with --resume {shown}"
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)
        given = next((p for p in (out, *out.parents) if p.absolute() == made), made)  # as the user wrote it
        return f"it failed before its first checkpoint, so its new folder {_short(given)} was removed"
    for child in list(out.iterdir()):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink()
    return f"it failed before its first checkpoint, so what it wrote in {shown} was removed"

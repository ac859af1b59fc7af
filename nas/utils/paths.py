"""The one check of every path a user hands a command: names the file system takes, and a place that can hold it.

Each path flag of the CLIs declares its role (``Flag.path``) and reaches :func:`check_path` as argparse parses it,
so a path that cannot work is a one-line error before any config is built or any file is written:

- ``read``: a file or folder to read; its names must fit the file system (whether it exists is the reader's
  question, answered by ``nas.utils.readers`` with the file's role in the message);
- ``dir``: a folder to create or fill (``--out``): also, the nearest existing folder above it must be a folder
  in which this user can make one (not a regular file, not ``/proc``, not read-only);
- ``file``: a file to write (``--export``, ``--plot``): the same for its folder, and it must not be a folder.

Example:
    >>> check_path("runs/x", "dir", "--out")
    'runs/x'
    >>> check_path("x" * 300, "read", "--recipe")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nas.errors.NasError: --recipe: the name 'xxx...'... is 300 bytes long; this file system takes at most 255
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from nas.errors import NasError
from nas.utils.readers import show_path

__all__ = ["ROLES", "check_path"]

ROLES = ("read", "dir", "file")


def check_path(text: str, role: str, flag: str) -> str:
    """Return ``text`` when it can serve as a path of ``role`` (``read``, ``dir`` or ``file``); else a NasError."""
    if role not in ROLES:
        raise ValueError(f"unknown path role {role!r}")
    if not text:
        raise NasError(f"{flag}: give a path, not an empty string")
    path = Path(text)
    _check_names(path, flag)
    if role == "read":
        return text
    try:
        if role == "dir" and path.exists() and not path.is_dir():
            raise NasError(f"{flag} {show_path(path)} is a file, not a folder")
        if role == "file" and path.is_dir():
            raise NasError(f"{flag} {show_path(path)} is a folder; name the file to write")
        _check_can_hold(path if role == "dir" else path.parent, flag, path)
    except OSError as exc:  # e.g. a folder on the way that this user may not enter
        raise NasError(f"{flag} {show_path(path)}: {exc.strerror or type(exc).__name__}") from None
    return text


def _nearest_existing(path: Path) -> Path:
    """Return ``path`` or the closest folder above it that exists (``.`` for a relative path with none)."""
    here = path.absolute()
    while not os.path.lexists(here) and here != here.parent:
        here = here.parent
    return here


def _check_names(path: Path, flag: str) -> None:
    """Refuse a path whose whole length, or one of whose names, is longer than the file system takes."""
    base = _nearest_existing(path.parent)
    name_max = _pathconf(base, "PC_NAME_MAX", 255)
    path_max = _pathconf(base, "PC_PATH_MAX", 4096)
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > name_max:
            raise NasError(f"{flag}: the name {part[:30]!r}... is {size} bytes long; this file system takes at most "
                           f"{name_max}")
    size = len(os.fsencode(str(path.absolute())))
    if size >= path_max:
        raise NasError(f"{flag} {show_path(path)}: the path is {size} bytes long; this system takes at most "
                       f"{path_max - 1}")


def _pathconf(path: Path, name: str, default: int) -> int:
    try:
        return int(os.pathconf(path, name))
    except (OSError, ValueError):
        return default


def _check_can_hold(folder: Path, flag: str, path: Path) -> None:
    """Refuse a ``folder`` that cannot be made or written in: a file above it, no permission, a pseudo file system.

    The last word is a probe: an empty folder made in the nearest existing folder and removed at once (it leaves
    nothing behind), since neither the permission bits nor the mount flags tell that ``/proc`` takes no folder.
    """
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise NasError(f"{flag} {show_path(path)}: {show_path(base, 60)} is a file, so it cannot hold a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".nas-probe-", dir=base))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise NasError(f"{flag} {show_path(path)}: cannot make a folder in {show_path(base, 60)} ({reason})") from None

"""Readers of user files: every recipe, genotype, list, JSON record and checkpoint nas opens goes through here.

Each reader turns what can go wrong with a file a user handed us (missing, a folder, unreadable, not UTF-8,
torn, malformed, a checkpoint that ``weights_only`` loading refuses) into a one-line :class:`NasError` that
names the file and the problem. Messages never echo file contents: values are shown by :func:`brief`.

Example:
    >>> from nas.utils.readers import brief
    >>> brief("x" * 500)[-5:]
    "...'"
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Optional

from nas.errors import NasError

__all__ = ["brief", "show_path", "read_text", "read_yaml", "read_json", "load_torch", "MAX_TEXT_BYTES"]

MAX_TEXT_BYTES = 64 * 1024 * 1024  # recipes, genotypes and lists are small; a bigger "text" file is a mistake


def brief(value: Any, limit: int = 60) -> str:
    """Return a bounded repr of ``value`` for an error message (long values are cut, containers summarised)."""
    if isinstance(value, (dict, list, tuple, set)):
        return f"a {type(value).__name__} of {len(value)} items"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def show_path(path: Any, limit: int = 120) -> str:
    """Return ``path`` as text, cut to ``limit`` characters."""
    text = str(path)
    return text if len(text) <= limit else "..." + text[-(limit - 3):]


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def read_text(path: Any, what: str = "file", limit: int = MAX_TEXT_BYTES) -> str:
    """Return the UTF-8 text of ``path``; missing, unreadable, oversized or non-UTF-8 files are one-line errors."""
    path = Path(path)
    try:
        if not path.is_file():
            raise NasError(f"{what} not found: {show_path(path)}" if not path.exists()
                           else f"{what} {show_path(path)} is not a file")
        if path.stat().st_size > limit:
            raise NasError(f"{what} {show_path(path)} is too large ({path.stat().st_size:,} bytes) to be a {what}")
        data = path.read_bytes()
    except OSError as exc:
        raise NasError(f"cannot read {what} {show_path(path)}: {_os_reason(exc)}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise NasError(f"{what} {show_path(path)} is not UTF-8 text (bad byte at line {line})") from None


def read_yaml(path: Any, what: str = "YAML file") -> Any:
    """Return the ``yaml.safe_load`` of ``path`` (None for an empty file); malformed YAML names its line."""
    import yaml

    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise NasError(f"malformed {what} {show_path(path)}{where}") from None
    except RecursionError:
        raise NasError(f"malformed {what} {show_path(path)}: nested too deeply") from None


def read_json(path: Any, what: str = "JSON file") -> Any:
    """Return the parsed JSON of ``path``; a torn or malformed file names its line."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NasError(f"malformed {what} {show_path(path)} at line {exc.lineno} (torn or not JSON)") from None
    except RecursionError:
        raise NasError(f"malformed {what} {show_path(path)}: nested too deeply") from None


def load_torch(path: Any, what: str = "checkpoint", map_location: Optional[str] = "cpu") -> Any:
    """Return ``torch.load(path, weights_only=True)``; torn, foreign or unsafe files are one-line errors.

    A file the weights-only unpickler refuses holds objects nas never writes, so it is reported as not a nas
    file (possibly unsafe), and the protection is never suggested to be turned off.
    """
    import errno
    import pickle
    import struct
    import zipfile

    import torch

    path = Path(path)
    try:
        if not path.is_file():
            raise NasError(f"{what} not found: {show_path(path)}" if not path.exists()
                           else f"{what} {show_path(path)} is not a file")
    except OSError as exc:  # e.g. a name longer than the file system takes
        raise NasError(f"cannot read {what} {show_path(path)}: {_os_reason(exc)}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol notes are not the user's business
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise NasError(f"{what} {show_path(path)} is not a file written by nas (it holds objects that "
                       "weights-only loading refuses; possibly unsafe)") from None
    except OSError as exc:
        if exc.errno == errno.EINVAL:  # torch's zip reader on a file cut short in the middle of a write
            raise NasError(f"{what} {show_path(path)} is torn or not a checkpoint (cannot be loaded)") from None
        raise NasError(f"cannot read {what} {show_path(path)}: {_os_reason(exc)}") from None
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile, KeyError, IndexError, TypeError, struct.error):
        # torch reports torn and foreign files under several types; none of their texts help the user
        raise NasError(f"{what} {show_path(path)} is torn or not a checkpoint (cannot be loaded)") from None

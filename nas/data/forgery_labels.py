"""Labels of ForgeryNet list lines: list columns against folder ids, the count of disagreements, two-class checks.

A list line carries its labels twice: in the columns (``<binary> <triple> <16cls>``) and in the folder id after
``*_release/`` (1-15 the methods, 16-19 the real sources). The maintainers advise trusting the folder, and one
released archive numbers its folders the other way round, so neither is safe blindly. ``forgery.labels`` picks:

- ``auto`` (default, our choice): the folder id, unless the two disagree on the real/fake label of more than
  half of the lines, which is an error naming the likely cause and the option;
- ``folder``: the folder id, always (disagreements are counted and reported);
- ``list``: the list's columns, always (same report).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Tuple

from nas.data.forgery_methods import METHODS, triple_label
from nas.errors import NasError

__all__ = ["LABEL_MODES", "folder_id", "LabelAudit", "check_two_classes"]

LABEL_MODES = ("auto", "folder", "list")
WHOLESALE = 0.5  # auto: more than this share of binary disagreements is an error, not a count


def folder_id(relpath: str) -> Optional[int]:
    """Return the numeric folder id after ``*_release/`` in a ForgeryNet relpath (e.g. train_release/7/...)."""
    parts = Path(relpath).parts
    for a, b in zip(parts, parts[1:]):
        if a.endswith("_release") and b.isdigit():
            return int(b)
    return None


@dataclass
class LabelAudit:
    """Choose each line's labels by ``mode`` and count where the list's columns and the folder ids disagree."""

    mode: str = "auto"
    replaced_label: int = 1
    lines: int = 0  # lines with a folder id (the ones that can disagree)
    binary: int = 0  # of those, real/fake disagreements
    method: int = 0  # 16-class disagreements
    first: Optional[str] = field(default=None)  # where the first binary disagreement is

    def __post_init__(self) -> None:
        if self.mode not in LABEL_MODES:
            raise NasError(f"forgery.labels must be one of {'|'.join(LABEL_MODES)}, got {str(self.mode)[:40]!r}")

    def labels(self, rel: str, columns: Tuple[int, int, int], where: str) -> Tuple[int, int, int]:
        """Return the labels of one line (``columns``: its binary, triple, 16-class fields), counting disagreement."""
        folder = folder_id(rel)
        if folder is None:
            return columns
        cls16 = folder if folder in METHODS else 0
        by_folder = (int(cls16 > 0), triple_label(cls16, self.replaced_label, 3 - self.replaced_label), cls16)
        self.lines += 1
        if by_folder[0] != columns[0]:
            self.binary += 1
            self.first = self.first or where
        self.method += int(by_folder[2] != columns[2])
        return columns if self.mode == "list" else by_folder

    def report(self, name: str) -> str:
        """Return one line on the disagreements of list ``name``; raise when ``auto`` meets a wholesale one."""
        if self.mode == "auto" and self.lines and self.binary > WHOLESALE * self.lines:
            raise NasError(f"{name}: the real/fake column disagrees with the folder id on {self.binary} of "
                           f"{self.lines} lines (first: {self.first}); this archive likely numbers its folders "
                           "the other way round: set forgery.labels=list to trust the list's columns, or "
                           "forgery.labels=folder to trust the folders")
        used = "list columns" if self.mode == "list" else "folder ids"
        return (f"{name}: list labels vs folder ids: {self.binary} of {self.lines} lines disagree on real/fake, "
                f"{self.method} on the method; {used} used (forgery.labels={self.mode})")

    def warn(self, name: str) -> None:
        """Warn with :meth:`report` when anything disagrees (raising on a wholesale disagreement under ``auto``)."""
        line = self.report(name)
        if self.binary or self.method:
            warnings.warn(line, RuntimeWarning, stacklevel=2)


def check_two_classes(binary: Iterable[int], where: str) -> None:
    """Raise a one-line NasError when ``where`` holds real samples only, or fake ones only (AUC needs both)."""
    seen = list(binary)
    n_fake = sum(1 for b in seen if b)
    if not seen:
        raise NasError(f"{where} holds no samples")
    if n_fake in (0, len(seen)):
        kind = "fake" if n_fake else "real"
        raise NasError(f"{where} holds {kind} samples only ({len(seen)}); real/fake metrics and training need both "
                       "(check the list, the folder ids and forgery.labels)")

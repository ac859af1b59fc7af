"""Progress for long jobs: one tqdm bar with ETA on stderr, log lines that do not break it, and run hooks."""
from __future__ import annotations

import sys
from typing import Any, Callable, Optional

from tqdm import tqdm

__all__ = ["Progress", "Hooks"]


class Progress:
    """A bar over ``total`` work units; ``log`` prints a line above it."""

    def __init__(self, total: int, desc: str):
        self.bar = tqdm(total=total, desc=desc, unit="it", file=sys.stderr, dynamic_ncols=True,
                        mininterval=1.0, smoothing=0.05)

    def advance(self, n: int = 1) -> None:
        """Mark ``n`` units done."""
        if n:
            self.bar.update(n)

    def log(self, line: str) -> None:
        """Print a status line without corrupting the bar."""
        self.bar.write(line, file=sys.stderr)

    def set_total(self, total: int) -> None:
        """Set the number of work units once it is known."""
        self.bar.total = total
        self.bar.refresh()

    def postfix(self, **values: object) -> None:
        """Show ``values`` after the bar (refreshed with the next update)."""
        self.bar.set_postfix(values, refresh=False)

    def close(self) -> None:
        """Finish the bar."""
        self.bar.close()


class Hooks:
    """What a search phase may tell its run: progress, log lines, scalars, Ray reports and checkpoints.

    Every hook defaults to doing nothing, so phases also run outside a ``SearchRun`` (tools, tests).
    """

    def __init__(self, progress: Optional[Progress] = None, writer: Any = None,
                 report: Optional[Callable[[dict], None]] = None, save: Optional[Callable[..., None]] = None):
        self.progress, self.writer, self._report, self._save = progress, writer, report, save

    def advance(self, n: int = 1) -> None:
        """Mark ``n`` work units done."""
        if self.progress is not None:
            self.progress.advance(n)

    def log(self, line: str) -> None:
        """Print a status line."""
        if self.progress is not None:
            self.progress.log(line)

    def scalar(self, tag: str, value: float, step: int) -> None:
        """Log a TensorBoard scalar."""
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def report(self, **metrics: Any) -> None:
        """Send metrics to the run's ``on_report`` (Ray Tune)."""
        if self._report is not None:
            self._report(metrics)

    def save(self, phase: str, position: int) -> None:
        """Checkpoint the run at ``position`` within ``phase``."""
        if self._save is not None:
            self._save(phase, position)

"""Run hooks of a search phase (progress, log lines, scalars, reports, checkpoints) over the one progress bar."""
from __future__ import annotations

from typing import Any, Callable, Optional

from nas.utils.progress import Progress  # re-exported: the one progress bar

__all__ = ["Progress", "Hooks"]


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

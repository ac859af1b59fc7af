"""Progress for long jobs: one tqdm bar with ETA on stderr, plus log lines that do not break it."""
from __future__ import annotations

import sys

from tqdm import tqdm

__all__ = ["Progress"]


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

    def close(self) -> None:
        """Finish the bar."""
        self.bar.close()

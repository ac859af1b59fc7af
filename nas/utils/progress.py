"""The one progress bar of long jobs: tqdm with ETA on stderr, and log lines that do not break it."""
from __future__ import annotations

import sys

from tqdm import tqdm

__all__ = ["Progress"]


class Progress:
    """A bar over ``total`` work units; ``log`` prints a line above it.

    ``leave=False`` clears the bar when it closes (one bar per epoch); ``tty_only`` hides it unless stderr is
    a terminal, for jobs whose log lines already say everything when the output goes to a file.
    """

    def __init__(self, total: int, desc: str, leave: bool = True, tty_only: bool = False):
        self.bar = tqdm(total=total, desc=desc, unit="it", file=sys.stderr, dynamic_ncols=True, leave=leave,
                        disable=None if tty_only else False, mininterval=1.0, smoothing=0.05)

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

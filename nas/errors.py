"""User-facing errors: the CLI prints them as one line and exits with code 2."""
from __future__ import annotations

__all__ = ["NasError", "EXIT_USAGE"]

EXIT_USAGE = 2


class NasError(Exception):
    """A problem caused by user input (bad name, bad file, infeasible budget); shown without a traceback."""

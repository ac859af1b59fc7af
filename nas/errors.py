"""User-facing errors (the CLI prints them as one line and exits with code 2) and one-line warnings."""
from __future__ import annotations

import warnings
from typing import Callable

__all__ = ["NasError", "EXIT_USAGE", "plain_warnings", "use_plain_warnings"]

EXIT_USAGE = 2


class NasError(Exception):
    """A problem caused by user input (bad name, bad file, infeasible budget); shown without a traceback."""


def plain_warnings(prog: str) -> Callable[..., str]:
    """Return a ``warnings.formatwarning`` that prints ``prog: warning: message`` as one line.

    Python's own format adds the warning's file and line and then that line of source, which reads to a user
    as if the program had printed its own code.
    """

    def format(message, category, filename, lineno, line=None) -> str:
        text = " ".join(str(message).split())
        return f"{prog}: warning: {text}\n"

    return format


def use_plain_warnings(prog: str) -> None:
    """Print this process's warnings as ``prog: warning: message`` lines (Ray trial, task and DDP workers)."""
    warnings.formatwarning = plain_warnings(prog)

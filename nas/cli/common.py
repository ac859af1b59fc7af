"""Shared CLI plumbing: turn user-facing errors into one line on stderr and exit code 2."""
from __future__ import annotations

import argparse
import functools
import os
import sys
import warnings
from typing import Callable, List, NoReturn, Optional

from nas.errors import EXIT_USAGE, NasError, plain_warnings  # plain_warnings: re-exported

__all__ = ["cli_main", "ArgumentParser", "plain_warnings"]


class ArgumentParser(argparse.ArgumentParser):
    """An ``argparse`` parser whose usage errors are one bounded line, like every other bad input.

    argparse prints the whole usage block before its message, and echoes unrecognised arguments in full; here the
    message is cut to a bounded length, points at ``--help``, and reaches :func:`cli_main` as a :class:`NasError`.
    """

    def error(self, message: str) -> NoReturn:
        text = message if len(message) <= 200 else message[:200] + "..."
        raise NasError(f"{text} (see {self.prog} --help)")


def cli_main(prog: str) -> Callable[[Callable[[List[str]], int]], Callable[[Optional[List[str]]], int]]:
    """Wrap a ``run(argv) -> exit code`` function so bad input prints ``prog: error: ...`` with no traceback, and
    warnings print as ``prog: warning: ...`` (:func:`plain_warnings`)."""

    def deco(run: Callable[[List[str]], int]) -> Callable[[Optional[List[str]]], int]:
        @functools.wraps(run)
        def main(argv: Optional[List[str]] = None) -> int:
            before = warnings.formatwarning
            warnings.formatwarning = plain_warnings(prog)
            try:
                return run(sys.argv[1:] if argv is None else argv)
            except NasError as exc:
                print(f"{prog}: error: {exc}", file=sys.stderr)
                return EXIT_USAGE
            except KeyboardInterrupt as exc:
                print(f"{prog}: interrupted", *getattr(exc, "__notes__", []), sep="; ", file=sys.stderr)
                return 130
            except BrokenPipeError:
                # the reader of our output went away (e.g. `| head`): stop quietly, as Unix tools do
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                return 141
            finally:
                warnings.formatwarning = before

        return main

    return deco

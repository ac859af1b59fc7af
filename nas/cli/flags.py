"""One flag table per command: each flag's argparse form, the config key it sets, its modality and its resume rule.

A command declares its flags once as a tuple of :class:`Flag` rows. :func:`add_flags` builds the parser from
them, :func:`config_flags` turns the parsed arguments into ``{dotted config key: value}`` for
``nas.config.build_config`` (refusing a flag of another modality), and :func:`check_resume` refuses, with
``--resume``, every flag that would change what the run computes. Those three rules live here and nowhere else.

Example:
    >>> import argparse
    >>> table = (Flag("--seed", "random seed", key="seed", type=int),
    ...          Flag("--frames", "clip length", key="frames", type=int, modality="video"))
    >>> args = add_flags(argparse.ArgumentParser(), table).parse_args(["--seed", "3"])
    >>> config_flags(args, table, modality="image")
    {'seed': 3, 'frames': None}
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence

from nas.errors import NasError

__all__ = ["Flag", "add_flags", "config_flags", "given_flags", "check_resume"]


@dataclass(frozen=True)
class Flag:
    """One command-line flag.

    Args:
        name: the flag as typed, e.g. ``--num-classes``.
        help: its one-line help.
        key: the dotted config key it sets; None for a flag that steers the command (``--out``, ``--trials``).
        type: argparse's converter; ``bool`` makes a switch (``store_true``).
        modality: ``"image"`` or ``"video"`` when only that modality's spaces take it; None for every space.
        resume: whether it may be given with ``--resume`` (it does not change what the run computes).
        group: the help section it is listed under; None for the main one.
        metavar: argparse's metavar.
        path: for a path, its role in ``nas.utils.paths.check_path`` (``read``, ``dir`` or ``file``): the flag's
            value is checked there as it is parsed, before anything is built or written.
    """

    name: str
    help: str
    key: Optional[str] = None
    type: Any = str
    modality: Optional[str] = None
    resume: bool = False
    group: Optional[str] = None
    metavar: Optional[str] = None
    path: Optional[str] = None

    @property
    def dest(self) -> str:
        """Return the attribute name argparse stores the flag under."""
        return self.name.lstrip("-").replace("-", "_")


def add_flags(parser: argparse.ArgumentParser, table: Sequence[Flag]) -> argparse.ArgumentParser:
    """Add every flag of ``table`` to ``parser`` (grouped by ``Flag.group``) and return the parser."""
    groups: Dict[str, Any] = {}
    for f in table:
        where = parser if f.group is None else groups.setdefault(f.group, parser.add_argument_group(f.group))
        if f.type is bool:
            where.add_argument(f.name, action="store_true", default=None, help=f.help)
        else:
            where.add_argument(f.name, type=f.type if f.path is None else _path_type(f), metavar=f.metavar,
                               help=f.help)
    return parser


def _path_type(flag: Flag):
    """Return argparse's converter of a path flag: the one path check, with the flag's role and name."""
    from nas.utils.paths import check_path

    def convert(text: str) -> str:
        return check_path(text, flag.path, flag.name)

    return convert


def given_flags(args: argparse.Namespace, table: Sequence[Flag]) -> Dict[str, Any]:
    """Return ``{flag name: value}`` of the flags of ``table`` that were given."""
    return {f.name: getattr(args, f.dest) for f in table if getattr(args, f.dest, None) not in (None, [], False)}


def config_flags(args: argparse.Namespace, table: Sequence[Flag], modality: Optional[str] = None,
                 space: str = "") -> Dict[str, Any]:
    """Return ``{config key: value or None}`` of the flags of ``table`` that set a key.

    A given flag of another modality than ``modality`` is a one-line error naming the flag and the space.
    """
    out: Dict[str, Any] = {}
    setter: Dict[str, str] = {}  # config key -> the flag that set it
    for f in table:
        value = getattr(args, f.dest, None)
        if f.modality is not None and modality is not None and f.modality != modality:
            if value is not None:
                raise NasError(f"{f.name} does not apply to {modality} space {space!r}")
            continue
        if f.key is None:
            continue
        if value is not None and f.key in setter:
            raise NasError(f"{setter[f.key]} and {f.name} both set {f.key}; give one of them")
        if value is not None:
            setter[f.key] = f.name
        out[f.key] = value if out.get(f.key) is None else out[f.key]
    return out


def check_resume(args: argparse.Namespace, table: Sequence[Flag], extra: Optional[Mapping[str, Any]] = None) -> None:
    """Refuse, with ``--resume``, every given flag of ``table`` that may not change on resume (one line)."""
    from nas.config import refuse_on_resume

    fixed = {name: v for name, v in given_flags(args, table).items()
             if not next(f for f in table if f.name == name).resume}
    refuse_on_resume({**fixed, **(extra or {})})

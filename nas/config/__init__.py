"""Typed, frozen configs: YAML recipes plus dotted ``key=value`` overrides, validated, dumped beside each run.

Each command has its own dataclass tree (``nas.config.search``, ``nas.config.retrain``, ...); this module
holds the shared machinery. Unknown keys and wrong types are one-line errors naming the key.
"""
from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Type, TypeVar

import yaml

from nas.config.limits import check_limit
from nas.errors import NasError
from nas.utils.readers import brief

__all__ = ["path_field", "Budget", "Precision", "PRECISIONS", "from_dict", "to_dict", "load_recipe", "apply_overrides",
           "merge", "dump_config", "build_config", "nest_flags", "refuse_on_resume", "check_renamed", "migrate_renamed",
           "foreign_key", "drop_foreign", "config_dict", "scoped_field", "changed_keys"]

C = TypeVar("C")
PRECISIONS = ("auto", "bf16", "fp16", "off")  # ``amp`` values: auto = bf16 on CUDA, off on the CPU


def path_field(role: str, default: Any = None, **metadata: Any) -> Any:
    """Return a dataclass field holding a path of ``role`` (see ``nas.utils.paths.check_path``), checked on build."""
    return dataclasses.field(default=default, metadata={"path": role, **metadata})


class Budget(int):
    """A MAdds budget field: written as ``330M``, ``0.5G`` or an integer, held (and dumped) as a plain int.

    The text is parsed once, when the config is built; a bad one is a one-line error naming the budget.
    """


class Precision(str):
    """An ``amp`` field: auto, bf16, fp16 or off; the older true / false read as auto / off."""


def _precision(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "auto" if value else "off"
    if isinstance(value, str) and value in PRECISIONS:
        return value
    raise NasError(f"config key {key!r} must be one of {'|'.join(PRECISIONS)}, got {brief(value)}")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise NasError(f"config key {key!r} must be a mapping")
        return from_dict(tp, value, prefix=f"{key}.")
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key)
    if origin in (tuple, list, Sequence):
        if not isinstance(value, (list, tuple)):
            value = [value]
        item = args[0] if args else Any
        return tuple(_coerce(v, item, key) for v in value)
    if tp is Any:
        return value
    if tp is Budget:  # a flag's budget arrives parsed (an int); a recipe's text is parsed here, once
        from nas.core.cost import parse_budget

        return parse_budget(value)
    if tp is Precision:
        return _precision(value, key)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise NasError(f"config key {key!r} must be true or false, got {brief(value)}")
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise NasError(f"config key {key!r} must be {getattr(tp, '__name__', tp)}, got {brief(value)}")


def _lookup(data: Mapping[str, Any], keys: List[str]) -> bool:
    """Return whether the dotted path ``keys`` is present in nested ``data``."""
    head = data.get(keys[0], None) if isinstance(data, Mapping) else None
    if len(keys) == 1:
        return isinstance(data, Mapping) and keys[0] in data
    return isinstance(head, Mapping) and _lookup(head, keys[1:])


def check_renamed(cls: type, data: Mapping[str, Any], where: str) -> None:
    """Raise a one-line NasError if ``data`` (a recipe, the flags or the overrides) uses a key ``cls`` renamed.

    ``cls.RENAMED`` maps old dotted keys to new ones (yacs's renamed keys): a user who writes the old name is
    told the new one instead of having two spellings of one option.
    """
    for old, new in getattr(cls, "RENAMED", {}).items():
        if _lookup(data, old.split(".")):
            raise NasError(f"config key {old!r} ({where}) was renamed to {new!r}; write {new}=... instead")


def migrate_renamed(cls: type, data: Mapping[str, Any]) -> Dict[str, Any]:
    """Return ``data`` with ``cls``'s renamed keys moved to their new names (a stored config of an older run)."""
    out = dict(data)
    for old, new in getattr(cls, "RENAMED", {}).items():
        path = old.split(".")
        if not _lookup(out, path):
            continue
        value, out = _pop(out, path)
        if not _lookup(out, new.split(".")) or _pop(out, new.split("."))[0] is None:  # an unset new key takes it
            out = merge(out, _nest(new.split("."), value))
    return out


def _pop(data: Mapping[str, Any], path: List[str]) -> tuple:
    """Return ``(value at path, data without it)`` for a present dotted path; ``data`` is not changed."""
    out = dict(data)
    if len(path) == 1:
        return out.pop(path[0]), out
    value, out[path[0]] = _pop(out[path[0]], path[1:])
    return value, out


def scoped_field(scope: str, default: Any = None, **kwargs: Any) -> Any:
    """Return a dataclass field that only some runs read: ``scope`` names who (see :func:`changed_keys`).

    Pass ``default_factory=`` for a section; a scope on a section covers every key inside it.
    """
    if "default_factory" in kwargs:
        return dataclasses.field(metadata={"scope": scope}, **kwargs)
    return dataclasses.field(default=default, metadata={"scope": scope}, **kwargs)


def changed_keys(cfg: Any, prefix: str = "", scope: Optional[str] = None) -> Iterator[tuple]:
    """Yield ``(dotted key, scope)`` of every leaf of ``cfg`` whose value differs from its default.

    ``scope`` is the metadata of :func:`scoped_field` on the key or the nearest section above it (None for
    keys every run reads); the command's task decides what each scope means (``nas.tasks.base.Task.check``).
    """
    for f in dataclasses.fields(cfg):
        value, here = getattr(cfg, f.name), f.metadata.get("scope", scope)
        if dataclasses.is_dataclass(value):
            yield from changed_keys(value, f"{prefix}{f.name}.", here)
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if value != default:
            yield prefix + f.name, here


def _modal_keys(cls: type, prefix: str = "") -> Iterator[tuple]:
    """Yield ``(dotted key, modality)`` of every field of ``cls`` (nested) that one modality alone reads."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        modality = f.metadata.get("modality")
        if modality is not None:
            yield prefix + f.name, modality
        elif dataclasses.is_dataclass(hints[f.name]):
            yield from _modal_keys(hints[f.name], f"{prefix}{f.name}.")


def foreign_key(cls: type, data: Mapping[str, Any], modality: str) -> Optional[str]:
    """Return the first key set in ``data`` that ``cls`` marks as another modality's, else None."""
    for key, owner in _modal_keys(cls):
        if owner != modality and _lookup(data, key.split(".")):
            return key
    return None


def drop_foreign(cls: type, data: Mapping[str, Any], modality: str) -> Dict[str, Any]:
    """Return ``data`` without the keys ``cls`` marks as another modality's."""
    out = dict(data)
    for key, owner in _modal_keys(cls):
        if owner != modality and _lookup(out, key.split(".")):
            out = _pop(out, key.split("."))[1]
    return out


def from_dict(cls: Type[C], data: Mapping[str, Any], prefix: str = "") -> C:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types.

    At the top level, keys that ``cls`` renamed are migrated first, so run folders of older versions still load.
    """
    if not prefix and getattr(cls, "RENAMED", None):
        data = migrate_renamed(cls, data)
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in set(data) - fields)
    if unknown:
        raise NasError(f"unknown config key {brief(prefix + unknown[0])} (known: {', '.join(sorted(fields))})")
    kwargs = {k: _coerce(v, hints[k], prefix + k) for k, v in data.items()}
    roles = {f.name: f.metadata.get("path") for f in dataclasses.fields(cls)}
    for k, v in kwargs.items():
        check_limit(prefix + k, v)  # the one table of ranges (nas.config.limits), before the config's own rules
        if roles[k] and isinstance(v, str) and v:
            from nas.utils.paths import check_path

            check_path(v, roles[k], prefix + k)  # the one path check, as for the path flags
            if roles[k] == "read":  # inputs resolve against the directory the command ran in, here and on every
                kwargs[k] = os.path.abspath(os.path.expanduser(v))  # Ray worker (whose working directory differs)
    cfg = cls(**kwargs)
    validate = getattr(cfg, "validate", None)
    if validate is not None:
        validate()
    return cfg


def to_dict(cfg: Any) -> Dict[str, Any]:
    """Return a plain nested dict (tuples as lists) suitable for YAML/JSON."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return plain(cfg)


def load_recipe(path: str | Path) -> Dict[str, Any]:
    """Read a recipe YAML (safe_load) into a dict; missing or malformed files are one-line errors."""
    from nas.utils.readers import read_yaml, show_path

    data = read_yaml(path, "recipe")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise NasError(f"malformed recipe {show_path(path)}: the top level must be a mapping")
    return data


def merge(base: Dict[str, Any], update: Mapping[str, Any]) -> Dict[str, Any]:
    """Return ``base`` deep-updated with ``update``."""
    out = dict(base)
    for k, v in update.items():
        out[k] = merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def apply_overrides(data: Dict[str, Any], overrides: Optional[List[str]]) -> Dict[str, Any]:
    """Apply dotted ``a.b=value`` overrides (values parsed as YAML scalars) to a config dict."""
    out = dict(data)
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise NasError(f"bad override {brief(item)}: use key=value, e.g. supernet.epochs=3")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise NasError(f"bad override value in {brief(item)}") from None
        out = merge(out, _nest(key.split("."), value))
    return out


def _nest(keys: List[str], value: Any) -> Dict[str, Any]:
    return {keys[0]: value} if len(keys) == 1 else {keys[0]: _nest(keys[1:], value)}


def dump_config(cfg: Any, path: str | Path) -> None:
    """Write the resolved config as YAML, atomically."""
    from nas.utils.io import atomic_write_text

    atomic_write_text(Path(path), yaml.safe_dump(config_dict(cfg), sort_keys=False))


def config_dict(cfg: Any) -> Dict[str, Any]:
    """Return the plain dict a run records of ``cfg``: its ``as_dict()`` (only the keys that apply) or all keys."""
    as_dict = getattr(cfg, "as_dict", None)
    return as_dict() if as_dict is not None else to_dict(cfg)


def nest_flags(flags: Mapping[str, Any]) -> Dict[str, Any]:
    """Turn ``{"supernet.epochs": 3, "seed": None}`` into a nested dict, dropping flags left unset (None)."""
    out: Dict[str, Any] = {}
    for key, value in flags.items():
        if value is not None:
            out = merge(out, _nest(key.split("."), value))
    return out


def build_config(cls: Type[C], *, recipe: Optional[str | Path] = None, flags: Optional[Mapping[str, Any]] = None,
                 opts: Optional[List[str]] = None, base: Optional[Mapping[str, Any]] = None) -> C:
    """Build the typed config of a command: defaults (or ``base``), then the recipe, flags and overrides.

    ``flags`` maps dotted config keys to the values of the explicit command-line flags (None = not given);
    ``opts`` are the trailing ``key=value`` overrides, applied last. This is the one path from the command
    line to a config for every command.
    """
    data: Dict[str, Any] = migrate_renamed(cls, base) if base is not None else {}
    given: Dict[str, Any] = {}  # what the user wrote: the recipe, the flags and the overrides
    if recipe:
        given = load_recipe(recipe)
        check_renamed(cls, given, f"in recipe {Path(recipe).name[:60]}")
    layer = nest_flags(flags or {})
    check_renamed(cls, layer, "a flag")
    for item in opts or []:
        check_renamed(cls, apply_overrides({}, [item]), "an override")
    given = apply_overrides(merge(given, layer), opts)
    cfg = from_dict(cls, merge(data, given))
    check_keys = getattr(cfg, "check_keys", None)  # e.g. a video key given for an image space
    if check_keys is not None:
        check_keys(given)
    return cfg


def refuse_on_resume(given: Mapping[str, Any]) -> None:
    """Raise a one-line error if any option that would change a resumed run's config was given.

    A resumed run continues with its own stored config, so that it ends as the uninterrupted run would;
    ``given`` maps flag names (as typed, e.g. ``--epochs``) to their values, None when absent.
    """
    used = [name for name, value in given.items() if value not in (None, [], False)]
    if used:
        raise NasError(f"--resume continues with the run's own config; drop {', '.join(used[:4])}"
                       f"{' ...' if len(used) > 4 else ''}")

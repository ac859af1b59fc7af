"""The installed spaces and their genotypes: look-up, loading and saving, standalone models, exact cost.

This is the layer the rest of the library builds on; ``nas.api`` (re-exported by ``import nas``) adds the
task-aware pieces on top of it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Union

import yaml

from nas.core.cost import Cost
from nas.core.genotype import Genotype
from nas.core.space import Space
from nas.errors import NasError
from nas.plugins import get_plugin, list_plugins
from nas.utils.readers import brief

__all__ = ["GenotypeLike", "load_genotype", "create_model", "create_backbone", "create_supernet", "model_cost",
           "check_genotype", "save_genotype", "get_space", "list_spaces"]

GenotypeLike = Union[Genotype, str, os.PathLike]


def get_space(name: str) -> Space:
    """Return the declaration of space ``name``, from its plugin."""
    return get_plugin(name).space


def list_spaces(pattern: str = "*") -> List[str]:
    """Return the names of the installed spaces matching an fnmatch pattern."""
    return list_plugins(pattern)


def check_genotype(g: Genotype) -> Genotype:
    """Return ``g`` if it belongs to its space, else raise a one-line NasError naming the wrong choice."""
    problem = get_space(g.space).contains(g)
    if problem:
        raise NasError(problem)
    return g


def _from_yaml(path: Path, seen: tuple = ()) -> Genotype:
    """Read a genotype YAML: ``space`` and ``choices``, or a ``genotype`` string (which may name another file)."""
    from nas.utils.readers import read_yaml, show_path

    data = read_yaml(path, "YAML genotype file")
    if isinstance(data, dict) and "choices" in data:
        try:
            return Genotype.from_dict(data)
        except (TypeError, ValueError, AttributeError):
            raise NasError(f"genotype file {show_path(path)}: 'space' must be a name and 'choices' a list") from None
    if isinstance(data, dict) and isinstance(data.get("genotype"), str):
        return _load(data["genotype"], seen + (path.resolve(),))
    raise NasError(f"{show_path(path)} holds no genotype (expected 'space' and 'choices', or a 'genotype' string)")


def _as_path(text: str) -> Optional[Path]:
    """Return ``text`` as an existing path, or None when it names nothing on disk (or cannot be a file name)."""
    try:
        path = Path(text)
        return path if path.exists() else None
    except (OSError, ValueError):  # too long for a file name, or a NUL byte: a genotype string, not a path
        return None


def _from_text(text: str) -> Genotype:
    space_name, sep, body = text.partition(":")
    if not sep:
        for name in list_plugins():  # a space's own foreign notation, e.g. a NAS-Bench-201 arch string
            g = get_space(name).parse_alias(text)
            if g is not None:
                return g
        raise NasError(f"not a genotype, file or run folder: {brief(text)}")
    space = get_space(space_name)
    alias = space.parse_alias(body)
    if alias is not None:
        return alias
    if "," not in body:
        named = space.named()
        if body not in named:
            known = ", ".join(f"{space_name}:{n}" for n in sorted(named)) or "none"
            raise NasError(f"unknown genotype name {brief(text)} (known: {known})")
        return named[body]
    return space.parse(text)


def load_genotype(x: GenotypeLike) -> Genotype:
    """Load a genotype from a Genotype, a YAML file, a run folder, a canonical string or a name.

    Example:
        >>> import nas
        >>> g = nas.load_genotype("st_topo:mobilenetv2")
        >>> nas.load_genotype(str(g)) == g
        True
    """
    return _load(x, ())


def _load(x: GenotypeLike, seen: tuple) -> Genotype:
    if isinstance(x, Genotype):
        return check_genotype(x)
    text = str(x).strip()
    path = _as_path(str(x))
    if path is not None and path.resolve() in seen:
        raise NasError(f"genotype file {str(path)[:120]} refers back to itself")
    if len(seen) > 8:
        raise NasError("genotype files refer to each other more than 8 deep")
    if path is not None and path.is_dir():
        target = path / "genotype.yaml"
        if not target.is_file():
            raise NasError(f"{str(path)[:120]} is a folder without genotype.yaml (not a finished run?)")
        return check_genotype(_from_yaml(target, seen))
    if path is not None:
        return check_genotype(_from_yaml(path, seen))
    if text.lower().endswith((".yaml", ".yml")):
        raise NasError(f"genotype file not found: {text[:120]}")
    return check_genotype(_from_text(text))


def save_genotype(g: Genotype, path: Union[str, os.PathLike], **extra: object) -> None:
    """Write ``g`` (and any extra fields such as cost or score) as YAML, atomically."""
    from nas.utils.io import atomic_write_text

    data = {**g.to_dict(), **extra}
    atomic_write_text(Path(path), yaml.safe_dump(data, sort_keys=False))


def create_model(genotype: GenotypeLike, num_classes: int = 1000, **kwargs):
    """Build the standalone ``nn.Module`` of a genotype: its backbone plus a linear classifier."""
    g = load_genotype(genotype)
    return get_plugin(g.space).build_model(g, num_classes=num_classes, **kwargs)


def create_backbone(genotype: GenotypeLike, **kwargs):
    """Build a genotype's backbone: pooled ``forward`` of shape ``(N, num_features)``, plus ``forward_features``."""
    g = load_genotype(genotype)
    return get_plugin(g.space).build_backbone(g, **kwargs)


def create_supernet(space: str, **kwargs):
    """Build the supernet of a space."""
    return get_plugin(space).build_supernet(**kwargs)


def model_cost(genotype: GenotypeLike, resolution: Optional[int] = None, num_classes: Optional[int] = None,
               **target) -> Cost:
    """Return the exact MAdds and parameters of a genotype's standalone model (``nas.cost`` without a task)."""
    g = load_genotype(genotype)
    return get_space(g.space).cost(g, resolution=resolution, num_classes=num_classes, **target)

"""The Space declaration: named discrete dimensions, membership, uniform sampling and exact size. No torch."""
from __future__ import annotations

import abc
import itertools
import math
import random
from typing import Dict, Iterator, Mapping, Optional, Tuple

from nas.core.genotype import Genotype
from nas.errors import NasError
from nas.registry import Registry

__all__ = ["Space", "SPACES", "register_space", "get_space", "list_spaces"]


class Space(abc.ABC):
    """A search space: an ordered set of named dimensions, each a tuple of allowed string values.

    Subclasses declare ``name`` and implement ``dims()``; they may override ``contains`` for extra
    constraints, ``default`` and ``named`` (published members). A genotype is valid when every dimension
    holds one of its values.

    Example:
        >>> class Toy(Space):
        ...     name = "toy"
        ...     def dims(self):
        ...         return {"a": ("x", "y"), "b": ("p", "q", "r")}
        >>> s = Toy()
        >>> s.size()
        6
        >>> g = s.sample(random.Random(0))
        >>> s.contains(g) is None
        True
    """

    name: str = ""
    modality: str = "image"  # "image" inputs are (N, 3, H, W); "video" inputs are (N, 3, T, H, W)

    @abc.abstractmethod
    def dims(self) -> Dict[str, Tuple[str, ...]]:
        """Return the ordered ``{dimension: allowed values}`` mapping."""

    def contains(self, g: Genotype) -> Optional[str]:
        """Return a one-line description of why ``g`` is not in the space, or ``None`` if it is."""
        if g.space != self.name:
            return f"genotype belongs to space {g.space!r}, not {self.name!r}"
        dims = self.dims()
        names = [k for k, _ in g.choices]
        if names != list(dims):
            missing = [d for d in dims if d not in names]
            extra = [n for n in names if n not in dims]
            return f"genotype dimensions do not match space {self.name!r} (missing {missing}, unexpected {extra})"
        for dim, value in g.choices:
            if value not in dims[dim]:
                return f"choice {dim}={value!r} is not allowed in {self.name!r}; allowed: {', '.join(dims[dim])}"
        return None

    def freeze(self, sample: Mapping[str, str]) -> Genotype:
        """Turn a ``{dimension: value}`` sample into a Genotype in dimension order."""
        return Genotype(self.name, tuple((d, sample[d]) for d in self.dims()))

    def sample(self, rng: random.Random) -> Genotype:
        """Draw a genotype uniformly at random from the whole space."""
        return self.freeze({d: rng.choice(vals) for d, vals in self.dims().items()})

    def default(self) -> Genotype:
        """Return a representative member (the first value of every dimension unless overridden)."""
        return self.freeze({d: vals[0] for d, vals in self.dims().items()})

    def grid(self) -> Iterator[Genotype]:
        """Iterate over every member in dimension order (lazily; most spaces are far too big to finish)."""
        dims = self.dims()
        for combo in itertools.product(*dims.values()):
            yield self.freeze(dict(zip(dims, combo)))

    def size(self) -> int:
        """Return the exact number of members."""
        return math.prod(len(v) for v in self.dims().values())

    def cheapest(self) -> Genotype:
        """Return the member of least cost (spaces with a cost model override this)."""
        raise NasError(f"space {self.name!r} has no cost model to find its cheapest member")

    def largest(self) -> Genotype:
        """Return the member of greatest cost (spaces with a cost model override this)."""
        raise NasError(f"space {self.name!r} has no cost model to find its largest member")

    def named(self) -> Dict[str, Genotype]:
        """Return the published members of this space by name."""
        return {}

    def example_input_shape(self, resolution: int, frames: int | None = None) -> tuple:
        """Return the shape of one example input batch (used for export and checks)."""
        del frames
        return (1, 3, resolution, resolution)

    def parse(self, text: str) -> Genotype:
        """Parse a canonical genotype string of this space (membership is not checked here)."""
        return Genotype.from_str(text, list(self.dims()))


SPACES: Registry[Space] = Registry("space")


def register_space(space_cls: type) -> type:
    """Register a Space subclass under its ``name`` (class decorator)."""
    SPACES.add(space_cls.name, space_cls())
    return space_cls


def get_space(name: str) -> Space:
    """Return the registered space called ``name``."""
    from nas import _load_spaces

    _load_spaces()
    return SPACES.get(name)


def list_spaces(pattern: str = "*") -> list:
    """Return the names of registered spaces matching an fnmatch pattern."""
    from nas import _load_spaces

    _load_spaces()
    return SPACES.list(pattern)

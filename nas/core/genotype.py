"""The immutable Genotype: a space name plus one value for every choice of that space."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Sequence, Tuple

from nas.errors import NasError

__all__ = ["Genotype"]

_SEP = ","


@dataclass(frozen=True)
class Genotype:
    """An architecture: the space it belongs to and an ordered ``(dimension, value)`` pair per choice.

    The canonical string is ``"<space>:<v1>,<v2>,..."`` with the values in the space's dimension order;
    it is what ``str(g)`` returns and what run folders, logs and the CLI use.

    Example:
        >>> g = Genotype("toy", (("a", "x"), ("b", "y")))
        >>> str(g)
        'toy:x,y'
        >>> Genotype.from_str("toy:x,y", ["a", "b"]) == g
        True
        >>> Genotype.from_dict(g.to_dict()) == g
        True
    """

    space: str
    choices: Tuple[Tuple[str, str], ...]

    def __post_init__(self) -> None:
        # Accept any iterable of pairs but store tuples so the object stays hashable.
        object.__setattr__(self, "choices", tuple((str(k), str(v)) for k, v in self.choices))

    @property
    def values(self) -> Tuple[str, ...]:
        """Return the chosen values in dimension order."""
        return tuple(v for _, v in self.choices)

    def as_dict(self) -> Dict[str, str]:
        """Return the choices as an ordered ``{dimension: value}`` dict."""
        return dict(self.choices)

    def __getitem__(self, dim: str) -> str:
        for k, v in self.choices:
            if k == dim:
                return v
        raise KeyError(dim)

    def replace(self, **changes: str) -> "Genotype":
        """Return a copy with some dimensions set to new values."""
        unknown = set(changes) - {k for k, _ in self.choices}
        if unknown:
            raise KeyError(f"unknown dimensions {sorted(unknown)}")
        return Genotype(self.space, tuple((k, changes.get(k, v)) for k, v in self.choices))

    def to_str(self) -> str:
        """Return the canonical compact string."""
        return f"{self.space}:{_SEP.join(self.values)}"

    __str__ = to_str

    @classmethod
    def from_str(cls, text: str, dims: Sequence[str]) -> "Genotype":
        """Parse a canonical string, given the space's dimension names in order."""
        space, sep, body = text.strip().partition(":")
        if not sep or not space:
            raise NasError(f"not a genotype string (expected '<space>:<values>'): {text[:80]!r}")
        values = body.split(_SEP) if body else []
        if len(values) != len(dims):
            raise NasError(f"genotype for {space!r} has {len(values)} values, the space has {len(dims)} choices")
        return cls(space, tuple(zip(dims, values)))

    def to_dict(self) -> Dict[str, object]:
        """Return the plain YAML/JSON form: space, canonical string and named choices."""
        return {"space": self.space, "genotype": self.to_str(), "choices": self.as_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "Genotype":
        """Build from the plain form written by ``to_dict`` (``choices`` wins over ``genotype``)."""
        if not isinstance(data, Mapping) or "space" not in data or "choices" not in data:
            raise NasError("a genotype mapping needs 'space' and 'choices' keys")
        choices = data["choices"]
        if not isinstance(choices, Mapping):
            raise NasError("genotype 'choices' must be a mapping of dimension -> value")
        return cls(str(data["space"]), tuple(choices.items()))

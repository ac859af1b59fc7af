"""One generic name -> object registry, instantiated once per kind (spaces, ops, optimizers, ...)."""
from __future__ import annotations

import fnmatch
from typing import Callable, Dict, Generic, Iterator, List, TypeVar

from nas.errors import NasError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Map names to objects of one kind; registering a name twice raises.

    Example:
        >>> OPS = Registry("op")
        >>> @OPS.register("double")
        ... def double(x):
        ...     return 2 * x
        >>> OPS.get("double")(3)
        6
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: Dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Return a decorator that registers its argument under ``name``."""

        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` under ``name``; a duplicate name raises ``ValueError``."""
        if name in self._items:
            raise ValueError(f"a {self.kind} is already registered under the name {name!r}")
        self._items[name] = obj

    def get(self, name: str) -> T:
        """Return the object registered as ``name`` or raise a one-line ``NasError``."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._items)) or "none"
            shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:56] + "...'"
            raise NasError(f"unknown {self.kind} {shown} (known: {known})") from None

    def list(self, pattern: str = "*") -> List[str]:
        """Return the sorted registered names matching an fnmatch ``pattern``."""
        return sorted(n for n in self._items if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

"""The Space declaration: named discrete dimensions, membership, sampling, size and the cost hooks. No torch."""
from __future__ import annotations

import abc
import itertools
import math
import random
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

from nas.core.cost import Cost
from nas.core.genotype import Genotype
from nas.core.target import TARGET_KEYS, Target, check_min
from nas.errors import NasError

__all__ = ["Space"]


class Space(abc.ABC):
    """A search space: an ordered set of named dimensions, each a tuple of allowed string values.

    Subclasses declare ``name`` and implement ``dims()``; they may override ``contains`` for extra
    constraints, ``default`` and ``named`` (published members). A genotype is valid when every dimension
    holds one of its values.

    Everything a strategy may call is declared here. A space with a cost model implements ``cost_at``
    (and may refine ``breakdown_at``, ``cheapest`` and ``largest``); ``cost`` and ``cost_breakdown`` take
    the target as keywords, fill in the space's ``default_target`` and check it (:meth:`target`) first.
    Spaces are found through their plugin (``nas.get_space``), never registered here.

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
    default_target: Target = Target(224, 1000)  # video spaces set frames too
    min_resolution: int = 1  # the smallest input the space's strides turn into a non-empty last map

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

    def target(self, resolution: Optional[int] = None, num_classes: Optional[int] = None,
               frames: Optional[int] = None, **unknown: object) -> Target:
        """Return the checked Target of these keywords, the space's defaults filling those left as None.

        An unknown keyword, a non-positive or non-integer value, ``frames`` on an image space or a
        resolution below ``min_resolution`` is a one-line NasError.
        """
        if unknown:
            names = ", ".join(sorted(unknown)[:3])[:60]
            raise NasError(f"unsupported cost keyword(s) for {self.name!r}: {names} (known: {', '.join(TARGET_KEYS)})")
        d = self.default_target
        if frames is not None and d.frames is None:
            raise NasError(f"frames applies to video spaces only; {self.name!r} is an image space")
        t = Target(d.resolution if resolution is None else resolution,
                   d.num_classes if num_classes is None else num_classes,
                   d.frames if frames is None else frames)
        check_min("resolution", t.resolution, self.min_resolution, f"the smallest input {self.name!r} allows")
        return t

    def cost(self, g: Genotype, resolution: Optional[int] = None, num_classes: Optional[int] = None,
             frames: Optional[int] = None, **unknown: object) -> Cost:
        """Return the exact MAdds and parameters of ``g``'s standalone model at the given target."""
        return self.cost_at(g, self.target(resolution, num_classes, frames, **unknown))

    def cost_breakdown(self, g: Genotype, resolution: Optional[int] = None, num_classes: Optional[int] = None,
                       frames: Optional[int] = None, **unknown: object) -> List[Tuple[str, Cost]]:
        """Return ``(part, Cost)`` rows that sum to :meth:`cost` at the given target."""
        return self.breakdown_at(g, self.target(resolution, num_classes, frames, **unknown))

    def cost_at(self, g: Genotype, target: Target) -> Cost:
        """Return the cost of ``g`` at a checked ``target`` (spaces with a cost model implement this)."""
        raise NasError(f"space {self.name!r} has no cost model")

    def breakdown_at(self, g: Genotype, target: Target) -> List[Tuple[str, Cost]]:
        """Return ``g``'s cost per part at a checked ``target`` (one ``total`` row unless overridden)."""
        return [("total", self.cost_at(g, target))]

    def cheapest(self) -> Genotype:
        """Return the member of least cost (spaces with a cost model override this)."""
        raise NasError(f"space {self.name!r} has no cost model to find its cheapest member")

    def largest(self) -> Genotype:
        """Return the member of greatest cost (spaces with a cost model override this)."""
        raise NasError(f"space {self.name!r} has no cost model to find its largest member")

    def named(self) -> Dict[str, Genotype]:
        """Return the published members of this space by name."""
        return {}

    def latency_blocks(self, g: Genotype, target: Target) -> List[str]:
        """Return the latency-table keys of ``g``'s blocks at ``target``, one per block run (repeats kept).

        A key names one distinct (op, input shape, stride, width) configuration; the space plugin's
        ``latency_block`` builds the module it stands for. Spaces with a latency model override this.
        """
        raise NasError(f"space {self.name!r} has no latency model")

    def block_configs(self, target: Target) -> List[str]:
        """Return every distinct latency-table key that some member of the space has at ``target``, sorted."""
        raise NasError(f"space {self.name!r} has no latency model")

    def example_input_shape(self, resolution: int, frames: int | None = None) -> tuple:
        """Return the shape of one example input batch (used for export and checks)."""
        del frames
        return (1, 3, resolution, resolution)

    def parse(self, text: str) -> Genotype:
        """Parse a canonical genotype string of this space (membership is not checked here)."""
        return Genotype.from_str(text, list(self.dims()))

    def parse_alias(self, text: str) -> Optional[Genotype]:
        """Return the genotype a foreign string without the ``<space>:`` prefix names, or None (the default).

        A space whose members have a well-known notation elsewhere (NAS-Bench-201's arch strings) overrides
        this, so ``nas.load_genotype`` accepts that notation as it is.
        """
        del text
        return None

"""Seeds and random state: derive named seeds from a run seed, and save/restore the generators a run owns.

Library code never seeds a global generator for good. Every random draw comes from a ``random.Random`` or
``torch.Generator`` that the run creates from ``derive_seed(run_seed, tag, ...)`` and checkpoints with
``rng_state``. Module constructors draw their initial weights from torch's global generator, so
``seeded_init`` seeds it inside ``torch.random.fork_rng`` and restores the caller's state afterwards.
"""
from __future__ import annotations

import contextlib
import random
from typing import Any, Dict, Iterator, Mapping, Union

__all__ = ["derive_seed", "seeded_random", "torch_generator", "seeded_init", "rng_state", "set_rng_state"]

Rng = Union[random.Random, "torch.Generator"]  # noqa: F821


def derive_seed(*parts: object) -> int:
    """Return a stable 63-bit seed for ``parts`` (Python's ``hash()`` is salted per process, so not that).

    Example:
        >>> derive_seed(0, "evolution") == derive_seed(0, "evolution")
        True
    """
    return random.Random("-".join(map(str, parts))).getrandbits(63)


def seeded_random(*parts: object) -> random.Random:
    """Return a ``random.Random`` seeded by ``parts`` (the string form, as every run has always used)."""
    return random.Random("-".join(str(p) for p in parts))


def torch_generator(seed: int, device: Any = "cpu"):
    """Return a ``torch.Generator`` on ``device`` seeded with ``seed``."""
    import torch

    return torch.Generator(device=device).manual_seed(int(seed))


@contextlib.contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Build modules inside this block to get a weight init fixed by ``seed``, leaving global RNGs untouched."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def rng_state(generators: Mapping[str, Rng]) -> Dict[str, Any]:
    """Return the state of each named generator as plain lists and tensors (loads with ``weights_only``)."""
    out: Dict[str, Any] = {}
    for name, gen in generators.items():
        if isinstance(gen, random.Random):
            version, internal, gauss = gen.getstate()
            out[name] = {"python": [version, list(internal), gauss]}
        else:
            out[name] = {"torch": gen.get_state()}
    return out


def set_rng_state(state: Mapping[str, Any], generators: Mapping[str, Rng]) -> None:
    """Restore what ``rng_state`` returned into the same named generators."""
    for name, gen in generators.items():
        saved = state[name]
        if isinstance(gen, random.Random):
            version, internal, gauss = saved["python"]
            gen.setstate((version, tuple(internal), gauss))
        else:
            gen.set_state(saved["torch"])

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

__all__ = ["derive_seed", "seeded_random", "epoch_seed", "torch_generator", "seeded_init", "forked_rng", "rng_state",
           "set_rng_state", "rng_to_list", "rng_from_list"]

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


def epoch_seed(seed: int, epoch: int) -> int:
    """Return the seed of a retraining epoch's data order, augmentation and dropout draws (the historic formula)."""
    return seed * 100_003 + epoch


def torch_generator(seed: int, device: Any = "cpu"):
    """Return a ``torch.Generator`` on ``device`` seeded with ``seed``."""
    import torch

    return torch.Generator(device=device).manual_seed(int(seed))


@contextlib.contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Build modules inside this block to get a weight init fixed by ``seed``, leaving global RNGs untouched."""
    import torch

    with torch.random.fork_rng(devices=[]):
        # the CPU generator only: torch.manual_seed would also reseed every CUDA generator, which fork_rng(devices=[])
        # does not restore, a lasting global reseed on a GPU machine
        torch.random.default_generator.manual_seed(int(seed))
        yield


@contextlib.contextmanager
def forked_rng(seed: int, device: Any = "cpu") -> Iterator[None]:
    """Run the block with torch's default generator(s) seeded by ``seed``; restore the caller's afterwards.

    Dropout draws from the default generator and takes no generator argument; forking it keeps those draws
    a function of the run's seeds without changing anyone else's random state. On a CUDA ``device`` that
    device's generator is forked and seeded too.
    """
    import torch

    device = torch.device(device)
    devices = []
    if device.type == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        for index in devices:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def rng_to_list(rng: random.Random) -> list:
    """Return a ``random.Random`` state as JSON-friendly lists."""
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def rng_from_list(rng: random.Random, state: list) -> None:
    """Restore a state written by ``rng_to_list``."""
    version, internal, gauss = state
    rng.setstate((version, tuple(internal), gauss))


def rng_state(generators: Mapping[str, Rng]) -> Dict[str, Any]:
    """Return the state of each named generator as plain lists and tensors (loads with ``weights_only``)."""
    out: Dict[str, Any] = {}
    for name, gen in generators.items():
        if isinstance(gen, random.Random):
            out[name] = {"python": rng_to_list(gen)}
        else:
            out[name] = {"torch": gen.get_state()}
    return out


def set_rng_state(state: Mapping[str, Any], generators: Mapping[str, Rng]) -> None:
    """Restore what ``rng_state`` returned into the same named generators.

    A bare tensor for a torch generator is also read: search checkpoints of earlier versions stored that.
    """
    for name, gen in generators.items():
        saved = state[name]
        if isinstance(gen, random.Random):
            rng_from_list(gen, saved["python"])
        else:
            gen.set_state(saved["torch"] if isinstance(saved, dict) else saved)

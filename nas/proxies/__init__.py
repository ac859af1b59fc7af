"""PROXIES: training-free scores of an untrained network (synflow, NASWOT, grad_norm, snip, ZiCo) and the cost
baselines they must beat (params, MAdds).

Each proxy is a function ``fn(probe) -> float`` of one :class:`~nas.proxies.inputs.Probe` (the genotype, a
builder of freshly initialised models and one batch); a higher value means a better network is predicted.
``score_proxies`` builds the probe once and calls each named proxy on it, so one genotype's proxies share the
batch but never a model: each proxy gets its own copy, initialised from the same seed.

Example:
    >>> import nas.proxies as proxies
    >>> "synflow" in proxies.list_proxies()
    True
    >>> s = proxies.score_proxies("nb201:resnet", ["params", "synflow"], num_classes=10, resolution=8, batch_size=4)
    >>> sorted(s), s["params"] > 0
    (['params', 'synflow'], True)
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from nas.errors import NasError
from nas.registry import Registry

__all__ = ["PROXIES", "register_proxy", "list_proxies", "get_proxy", "score_proxies", "score_many", "parse_names"]

PROXIES: Registry[Callable[..., float]] = Registry("proxy")


def register_proxy(name: str) -> Callable:
    """Return a decorator that registers a proxy function ``fn(probe) -> float`` under ``name``."""
    return PROXIES.register(name)


def _load() -> None:
    """Register the bundled proxies (their module imports torch, so only when first asked)."""
    import nas.proxies.measures  # noqa: F401  (registers on import)


def list_proxies(pattern: str = "*") -> List[str]:
    """Return the names of the registered proxies matching an fnmatch pattern."""
    _load()
    return PROXIES.list(pattern)


def get_proxy(name: str) -> Callable[..., float]:
    """Return proxy ``name``; an unknown name is a one-line error listing the known ones."""
    _load()
    return PROXIES.get(name)


def parse_names(names: Any) -> List[str]:
    """Return the proxy names of a comma list or a sequence, each checked (one-line error on an unknown one)."""
    items = names.split(",") if isinstance(names, str) else list(names)
    out = [str(n).strip() for n in items if str(n).strip()]
    if not out:
        raise NasError(f"no proxy named (known: {', '.join(list_proxies())})")
    for n in out:
        get_proxy(n)
    return out


def score_proxies(genotype: Any, names: Any, *, num_classes: int, resolution: int, batch_size: int = 64,
                  seed: int = 0, data: Optional[Tuple[Any, Any]] = None, frames: Optional[int] = None,
                  model_options: Optional[Mapping[str, Any]] = None, device: Any = "cpu") -> Dict[str, float]:
    """Return ``{name: score}`` of the named proxies on ``genotype``'s freshly initialised network.

    Args:
        genotype: a Genotype or anything ``nas.load_genotype`` takes.
        names: proxy names, a list or a comma string.
        num_classes: classifier outputs of the scored network (labels are taken modulo this).
        resolution: the target side in pixels the cost baselines are counted at, and the side of the embedded
            images drawn when ``data`` is None (given ``data`` sets its own side).
        batch_size: images (or clips) of the embedded batch; ignored when ``data`` is given.
        seed: fixes the weight init and the embedded batch; the same seed gives the same scores.
        data: ``(inputs, labels)`` tensors to score on instead of the space's embedded images (synflow and the
            cost baselines use none).
        frames: clip length of a video space (None: the space's default).
        model_options: extra keywords of the space's ``build_model`` (e.g. ``width`` for a cheap proxy network).
        device: where the networks run.
    """
    from nas.proxies.inputs import make_probe

    chosen = parse_names(names)
    probe = make_probe(genotype, num_classes=num_classes, resolution=resolution, batch_size=batch_size, seed=seed,
                       data=data, frames=frames, model_options=model_options, device=device)
    from nas.utils.seeds import derive_seed, forked_rng

    out = {}
    for n in chosen:
        with forked_rng(derive_seed(seed, "proxy", n), device):  # dropout draws are a function of the seed
            out[n] = float(get_proxy(n)(probe))
    return out


def score_many(genotypes: Sequence[Any], names: Sequence[str], **kwargs: Any) -> List[Dict[str, float]]:
    """Return ``score_proxies`` of each genotype, in order (same keywords)."""
    return [score_proxies(g, names, **kwargs) for g in genotypes]

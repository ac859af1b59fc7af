"""Architecture drawings: each space registers a plotter ``(genotype, path, **kw) -> None``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from nas.core.genotype import Genotype
from nas.errors import NasError
from nas.registry import Registry

__all__ = ["PLOTTERS", "register_plotter", "plot_genotype"]

PLOTTERS: Registry[Callable] = Registry("plotter")
_FORMATS = (".png", ".svg", ".pdf")


def register_plotter(space: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as the plotter of ``space``."""
    return PLOTTERS.register(space)


def plot_genotype(g: Genotype, path: str | Path, **kwargs) -> Path:
    """Draw ``g`` to ``path`` (.png, .svg or .pdf)."""
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise NasError(f"cannot plot to {path.name}: use one of {', '.join(_FORMATS)}")
    import matplotlib

    matplotlib.use("Agg")
    from search_spaces import load_plotters

    load_plotters()
    path.parent.mkdir(parents=True, exist_ok=True)
    PLOTTERS.get(g.space)(g, path, **kwargs)
    return path

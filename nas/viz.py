"""Architecture drawings: ``plot_genotype`` hands a genotype to its space plugin's plotter."""
from __future__ import annotations

from pathlib import Path

from nas.core.genotype import Genotype
from nas.errors import NasError

__all__ = ["plot_genotype"]

_FORMATS = (".png", ".svg", ".pdf")


def plot_genotype(g: Genotype, path: str | Path, **kwargs) -> Path:
    """Draw ``g`` to ``path`` (.png, .svg or .pdf) with its space's plotter."""
    from nas.plugins import get_plugin

    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise NasError(f"cannot plot to {path.name}: use one of {', '.join(_FORMATS)}")
    plugin = get_plugin(g.space)
    from nas.utils.extras import require

    require("matplotlib", purpose=f"plotting to {path.name[:60]}")
    import matplotlib

    matplotlib.use("Agg")
    path.parent.mkdir(parents=True, exist_ok=True)
    plugin.plot(g, path, **kwargs)
    return path

"""Draw a pv_st genotype: one coloured box per block slot, labelled with its temporal op."""
from __future__ import annotations

from pathlib import Path

from nas.core.genotype import Genotype
from search_spaces.pv_st.cost import OP_NAMES

__all__ = ["plot_pv_st"]

_COLORS = dict(zip(OP_NAMES, ("#bbbbbb", "#1f77b4", "#2ca02c", "#98df8a", "#ff7f0e", "#d62728", "#9467bd")))


def plot_pv_st(g: Genotype, path: Path, title: str = "", resolution: int = 224, frames: int = 8) -> None:
    """Write a picture of ``g``'s slots (colour = op) with its cost to ``path``."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from nas import get_space

    space = get_space(g.space)
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(space.slots), 2.4))
    for i, s in enumerate(space.slots):
        op = g[s.key]
        ax.add_patch(plt.Rectangle((i, 0), 0.9, 1, color=_COLORS[op]))
        ax.text(i + 0.45, 0.5, f"{op}\n{s.block_out}ch/s{s.stride}", ha="center", va="center", fontsize=8)
    ax.legend(handles=[Patch(color=c, label=o) for o, c in _COLORS.items()], loc="upper center",
              bbox_to_anchor=(0.5, -0.05), ncol=len(_COLORS), fontsize=7)
    ax.set_xlim(-0.1, len(space.slots))
    ax.set_ylim(0, 1)
    ax.axis("off")
    c = space.cost(g, resolution=resolution, frames=frames)
    ax.set_title(title or f"{g.space}: {c.madds / 1e9:.2f}G MAdds, {c.params / 1e6:.2f}M params "
                 f"({frames}x{resolution}^2)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


"""Draw an st_topo genotype: the node chain, stem edges below their ops, branch edges as labelled arcs."""
from __future__ import annotations

from pathlib import Path

from nas.core.genotype import Genotype
from search_spaces.st_topo import skeleton as sk

__all__ = ["plot_st_topo"]

_COLORS = {"id": "#7f7f7f", "3": "#1f77b4", "5": "#2ca02c", "7": "#d62728"}


def _color(code: str) -> str:
    return _COLORS["id"] if code == "id" else _COLORS[code[1]]


def _layers(graph) -> dict:
    """Return each node's x position: its layer (1-based) in a topological layering of the DAG.

    The chain edges make every layer a single node, so node ``n`` lands at ``x = n`` as in the ST-NAS figure.
    """
    import networkx as nx

    return {n: i + 1 for i, layer in enumerate(nx.topological_generations(graph)) for n in layer}


def plot_st_topo(g: Genotype, path: Path, title: str = "") -> None:
    """Write a picture of ``g`` to ``path``; colour encodes kernel size, line width the expansion."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    from nas import get_space

    space = get_space("st_topo")
    graph = space.graph(g)
    x = _layers(graph)
    ch = sk.node_channels()
    fig, ax = plt.subplots(figsize=(22, 6.5))
    for n in graph.nodes:
        ax.scatter([x[n]], [0], s=520, color="white", edgecolor="black", zorder=3)
        ax.text(x[n], 0, str(n), ha="center", va="center", fontsize=9, zorder=4)
        ax.text(x[n], -0.22, f"{ch[n - 1]}ch", ha="center", va="top", fontsize=7, color="#555")
    # Chain edges first, then branches by (src, dst): the order they are drawn in, so arcs overlap the same way.
    for src, dst, data in sorted(graph.edges(data=True), key=lambda e: (e[1] - e[0] != 1, e[0], e[1])):
        code, hop = data["op"], dst - src
        rad = 0.0 if hop == 1 else (-0.45 if hop == 2 else 0.45)
        width = 1.2 if code == "id" else (1.5 if code.endswith("e1") or code.endswith("e3") else 3.0)
        style = "--" if code == "id" else "-"
        ax.add_patch(FancyArrowPatch((x[src] + 0.15, 0), (x[dst] - 0.15, 0), connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>", mutation_scale=10, lw=width, ls=style, color=_color(code)))
        y = 0.09 if hop == 1 else (0.22 * hop if hop == 2 else -0.22 * hop)
        label = code + (f" s{data['stride']}" if data["stride"] > 1 else "")
        ax.text((x[src] + x[dst]) / 2, y, label, ha="center", fontsize=7, color=_color(code))
    legend = [Line2D([0], [0], color=c, lw=2, ls="--" if k == "id" else "-",
                     label="identity / projection" if k == "id" else f"kernel {k}") for k, c in _COLORS.items()]
    ax.legend(handles=legend, loc="upper left", fontsize=8, title="thick line: expansion 6", title_fontsize=8)
    ax.set_xlim(0.3, sk.NUM_NODES + 0.7)
    ax.set_ylim(-1.0, 0.9)
    ax.axis("off")
    cost = space.cost(g)
    ax.set_title(title or f"st_topo: {cost.madds / 1e6:.1f}M MAdds, {cost.params / 1e6:.2f}M params at 224px")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

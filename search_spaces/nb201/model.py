"""The standalone nb201 network: NAS-Bench-201's macro skeleton with one cell repeated 15 times."""
from __future__ import annotations

from typing import Callable, Dict, List, Optional

import torch
from torch import nn

from nas.core.genotype import Genotype
from nas.nn.init import init_weights
from search_spaces.nb201 import skeleton as sk
from search_spaces.nb201.ops import ResNetBlock, build_op, stem

__all__ = ["Cell", "Nb201Net", "build_model", "build_backbone", "stage_channels"]


class Cell(nn.Module):
    """One cell: node ``j`` is the sum of its incoming edges' outputs; node 3 is the output.

    ``edges`` maps a dimension name (``n<dst>_<src>``) to its module, in arch-string order (sorted by the node
    they feed, so a node is complete before any edge reads it). ``none`` edges have no module, and a node
    without inputs is zero, as in the benchmark, whose cut-off cells output a constant. TorchScript-able.
    """

    def __init__(self, edges: nn.ModuleDict):
        super().__init__()
        self.edges = edges
        self.src: Dict[str, int] = {d: src for (src, _), d in zip(sk.EDGES, sk.DIMS)}
        self.dst: Dict[str, int] = {d: dst for (_, dst), d in zip(sk.EDGES, sk.DIMS)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: List[torch.Tensor] = [x] + [torch.zeros_like(x) for _ in range(sk.NUM_NODES - 1)]
        for name, edge in self.edges.items():
            dst = self.dst[name]
            nodes[dst] = nodes[dst] + edge(nodes[self.src[name]])
        return nodes[-1]


class Nb201Net(nn.Module):
    """Stem, three stages of five cells with residual reduction blocks between them, BN + ReLU, pooling, classifier.

    Without a classifier (``classifier`` None) it is the backbone: ``forward`` gives pooled ``(N, num_features)``
    features and ``forward_features`` the last map.
    """

    def __init__(self, make_cell: Callable[[int], nn.Module], num_classes: Optional[int], width: float = 1.0,
                 genotype: str = ""):
        super().__init__()
        ch = stage_channels(width)
        self.stem = stem(ch[0])
        layers: List[nn.Module] = []
        for i, c in enumerate(ch):
            if i:
                layers.append(ResNetBlock(ch[i - 1], c))
            layers += [make_cell(c) for _ in range(sk.CELLS_PER_STAGE)]
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(ch[-1]), nn.ReLU(inplace=False))
        self.num_features: int = ch[-1]
        self.classifier = nn.Linear(ch[-1], num_classes) if num_classes else None
        self.genotype = genotype  # canonical string, kept for provenance

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last feature map ``(N, num_features, H/4, W/4)``."""
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self.lastact(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.forward_features(x).mean((2, 3))
        return pooled if self.classifier is None else self.classifier(pooled)


def stage_channels(width: float = 1.0) -> List[int]:
    """Return the stage channels (16, 32, 64 at width 1; the stem has the first stage's)."""
    return [max(1, int(round(c * width))) for c in sk.STAGES]


def _cell_builder(genotype: Genotype) -> Callable[[int], Cell]:
    ops = dict(genotype.choices)

    def make(c: int) -> Cell:
        return Cell(nn.ModuleDict({d: build_op(ops[d], c) for d in sk.DIMS if ops[d] != "none"}))

    return make


def _build(genotype: Genotype, num_classes: Optional[int], width: float) -> Nb201Net:
    from nas.api import check_genotype

    check_genotype(genotype)
    model = Nb201Net(_cell_builder(genotype), num_classes, width, str(genotype))
    init_weights(model)
    return model


def build_model(genotype: Genotype, num_classes: int = 10, width: float = 1.0) -> Nb201Net:
    """Build the standalone network of an nb201 genotype (``width`` < 1 only for cheap proxies)."""
    return _build(genotype, num_classes, width)


def build_backbone(genotype: Genotype, width: float = 1.0) -> Nb201Net:
    """Build the backbone of an nb201 genotype: the network without its classifier."""
    return _build(genotype, None, width)

"""The st_topo supernet: one elastic module per possible edge, weights sliced for the active op."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nas.core.genotype import Genotype
from nas.nn.elastic import ElasticBatchNorm2d, copy_bn
from nas.nn.init import init_weights
from nas.nn.supernet import Supernet
from search_spaces.st_topo import skeleton as sk
from search_spaces.st_topo.cost import parse_op
from search_spaces.st_topo.model import Head, TopoNet, build_model
from search_spaces.st_topo.ops import InvertedResidual, Shortcut, conv_bn

__all__ = ["ElasticIR", "SuperEdge", "StTopoSupernet"]


class ElasticIR(nn.Module):
    """An inverted residual holding the largest kernel and expansion; smaller ones are slices of it.

    A k x k depthwise kernel is the centre of the largest one and expansion e uses the first ``c_in * e``
    hidden channels, as in Once-for-All, so every choice on an edge trains the same tensors.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, kernels: Sequence[int], expands: Sequence[int],
                 residual: bool):
        super().__init__()
        if 1 in expands and len(set(expands)) > 1:
            raise ValueError("an elastic block cannot mix expansion 1 with wider expansions")
        self.c_in, self.stride, self.k_max = c_in, stride, max(kernels)
        hidden = c_in * max(expands)
        self.expand_conv = nn.Conv2d(c_in, hidden, 1, bias=False) if max(expands) != 1 else None
        self.bn1 = ElasticBatchNorm2d(hidden) if self.expand_conv is not None else None
        self.dw = nn.Conv2d(hidden, hidden, self.k_max, stride, self.k_max // 2, groups=hidden, bias=False)
        self.bn2 = ElasticBatchNorm2d(hidden)
        self.project = nn.Conv2d(hidden, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.use_res = bool(residual and stride == 1 and c_in == c_out)
        self.kernel, self.expand = max(kernels), max(expands)

    def _dw_weight(self, hidden: int, k: int) -> torch.Tensor:
        off = (self.k_max - k) // 2
        return self.dw.weight[:hidden, :, off : off + k, off : off + k]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, k = self.c_in * self.expand, self.kernel
        y = x
        if self.expand_conv is not None:
            y = F.relu6(self.bn1(F.conv2d(x, self.expand_conv.weight[:hidden])))
        y = F.conv2d(y, self._dw_weight(hidden, k), None, self.stride, k // 2, 1, hidden)
        y = self.bn3(F.conv2d(F.relu6(self.bn2(y)), self.project.weight[:, :hidden]))
        return x + y if self.use_res else y

    @torch.no_grad()
    def copy_into(self, block: InvertedResidual) -> None:
        """Copy the active slices into a standalone block of the same kernel and expansion."""
        hidden = self.c_in * self.expand
        layers = list(block.conv)
        if self.expand_conv is not None:
            expand = layers.pop(0)
            expand[0].weight.copy_(self.expand_conv.weight[:hidden])
            copy_bn(expand[1], self.bn1, hidden)
        dw, proj = layers
        dw[0].weight.copy_(self._dw_weight(hidden, self.kernel))
        copy_bn(dw[1], self.bn2, hidden)
        proj[0].weight.copy_(self.project.weight[:, :hidden])
        copy_bn(proj[1], self.bn3, self.bn3.num_features)


class SuperEdge(nn.Module):
    """Every op an edge may carry: an elastic inverted residual and, if allowed, a shortcut."""

    def __init__(self, edge: sk.Edge, options: Sequence[str]):
        super().__init__()
        ir = [parse_op(o)[1] for o in options if o not in ("-", "id")]
        self.ir = ElasticIR(edge.c_in, edge.c_out, edge.stride, sorted({a["kernel"] for a in ir}),
                            sorted({a["expand"] for a in ir}), residual=edge.is_stem)
        self.shortcut = Shortcut(edge.c_in, edge.c_out, edge.stride) if "id" in options else None
        self.active: Optional[str] = None

    def set_active(self, code: str) -> None:
        """Select op ``code`` (``-`` disables the edge)."""
        self.active = None if code == "-" else code
        parsed = parse_op(code)
        if parsed is not None and parsed[0] == "ir":
            self.ir.kernel, self.ir.expand = parsed[1]["kernel"], parsed[1]["expand"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.active == "id":
            return self.shortcut(x)
        return self.ir(x)

    @torch.no_grad()
    def copy_into(self, module: nn.Module) -> None:
        """Copy the active op's weights into its standalone module."""
        if isinstance(module, Shortcut):
            module.load_state_dict(self.shortcut.state_dict())
        else:
            self.ir.copy_into(module)


class StTopoSupernet(Supernet):
    """Shared weights for all of st_topo; ``forward`` runs the active genotype's edges only."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.0, width: float = 1.0, stem_stride: int = 2):
        super().__init__()
        from nas import get_space

        self.space = get_space("st_topo")
        self.num_classes, self.dropout, self.width, self.stem_stride = num_classes, dropout, width, stem_stride
        dims = self.space.dims()
        ch = sk.node_channels(width)
        self.stem = conv_bn(3, ch[0], 3, stem_stride)
        edges = sk.stem_edges(width) + sk.branch_edges(width)
        self.edges = nn.ModuleDict({e.key: SuperEdge(e, dims[e.key]) for e in edges})
        self.head = Head(ch[-1], sk.head_channels(width), num_classes, dropout)
        # Per destination node: incoming edge keys, stem edge first then branches by source, the order
        # the standalone model sums them in (so outputs match bit for bit).
        self._incoming: Dict[int, List[tuple]] = {d: [] for d in range(2, sk.NUM_NODES + 1)}
        for e in self.space.edges:
            self._incoming[e.dst].append((e.src - 1, e.key))
        init_weights(self)
        for e in edges:
            edge = self.edges[e.key]
            # As in the standalone model: residual blocks and branch edges start as no-op additions.
            if not e.is_stem or edge.ir.use_res:
                nn.init.zeros_(edge.ir.bn3.weight)
            if not e.is_stem and edge.shortcut is not None and edge.shortcut.proj is not None:
                nn.init.zeros_(edge.shortcut.proj[1].weight)
        self.set_active(self.space.default())

    def set_active(self, genotype: Genotype) -> None:
        """Route ``forward`` through ``genotype``."""
        problem = self.space.contains(genotype)
        if problem:
            raise ValueError(problem)
        for key, code in genotype.choices:
            self.edges[key].set_active(code)
        self.active = genotype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [self.stem(x)]
        for dst in range(2, sk.NUM_NODES + 1):
            out = None
            for src, key in self._incoming[dst]:
                edge = self.edges[key]
                if edge.active is not None:
                    y = edge(feats[src])
                    out = y if out is None else out + y
            feats.append(out)
        return self.head(feats[-1])

    def extract(self, genotype: Genotype, copy_weights: bool = True, **model_kwargs) -> TopoNet:
        """Return the standalone TopoNet of ``genotype`` with the shared weights copied into it."""
        kwargs = {"num_classes": self.num_classes, "dropout": self.dropout, "width": self.width,
                  "stem_stride": self.stem_stride, **model_kwargs}
        model = build_model(genotype, **kwargs)
        if not copy_weights:
            return model
        previous = self.active
        self.set_active(genotype)
        model.stem.load_state_dict(self.stem.state_dict())
        model.head.load_state_dict(self.head.state_dict())
        for node, dst in zip(model.nodes, range(2, sk.NUM_NODES + 1)):
            keys = [k for _, k in self._incoming[dst] if self.edges[k].active is not None]
            for key, module in zip(keys, node.edges):
                self.edges[key].copy_into(module)
        self.set_active(previous)
        return model

"""Mixed ops and the relaxations of architecture logits that weight them (DARTS, GDAS, Gumbel top-k).

Gumbel noise comes from ``generator`` when one is given (it must live on the logits' device), so a run can own
and checkpoint it; with ``generator=None`` it comes from torch's global generator, exactly as before this module
existed.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from nas.errors import NasError

__all__ = ["RELAXATIONS", "relax", "MixedOp", "expected_madds"]

RELAXATIONS = ("softmax", "gumbel", "sample")


def _gumbel_like(x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Return standard Gumbel noise shaped like ``x``, drawn from ``generator`` (None: torch's global one)."""
    if generator is None:
        u = torch.rand_like(x)
    else:
        # Drawn on the logits' device, so the generator must live there (torch refuses a CPU generator for a CUDA
        # draw): no host draw and copy per slot and forward.
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    u = u.clamp_(1e-9, 1.0 - 1e-9)
    return -torch.log(-torch.log(u))


def relax(alpha: torch.Tensor, mode: str, tau: float = 1.0, k: int = 2,
          generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, List[int]]:
    """Return ``(weights over all ops, indices of the ops to run)`` for one slot's logits.

    Args:
        alpha: one slot's logits, shape ``[ops]``.
        mode: ``softmax`` (all paths), ``gumbel`` (one hard straight-through path) or ``sample`` (k paths).
        tau: the softmax temperature.
        k: paths drawn by ``sample``.
        generator: source of the Gumbel noise; None draws from torch's global generator.
    """
    if mode == "softmax":
        return F.softmax(alpha / tau, -1), list(range(alpha.numel()))
    if mode == "gumbel":
        soft = F.softmax((alpha + _gumbel_like(alpha, generator)) / tau, -1)
        i = int(soft.argmax())
        hard = torch.zeros_like(soft)
        hard[i] = 1.0
        return hard - soft.detach() + soft, [i]  # straight-through: forward 1, gradient of the soft sample
    if mode == "sample":
        noisy = alpha.detach() + _gumbel_like(alpha, generator)
        idx = sorted(noisy.topk(min(k, alpha.numel())).indices.tolist())
        sub = F.softmax(alpha[idx] / tau, -1)
        return torch.zeros_like(alpha).index_copy(0, torch.tensor(idx, device=alpha.device), sub), idx
    raise NasError(f"unknown relaxation {mode!r} (known: {', '.join(RELAXATIONS)})")


class MixedOp(nn.Module):
    """All candidate ops of one slot; runs one fixed op, or a weighted sum over the ops in ``paths``.

    The owner sets ``weights``/``paths`` before each relaxed forward, or ``active`` for a discrete one.
    """

    def __init__(self, ops: Sequence[nn.Module], names: Sequence[str]):
        super().__init__()
        self.ops = nn.ModuleList(ops)
        self.names = tuple(names)
        self.active = 0
        self.weights: Optional[torch.Tensor] = None
        self.paths: Optional[List[int]] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weights is None or self.paths is None:
            return self.ops[self.active](x)
        out = None
        for i in self.paths:
            y = self.weights[i] * self.ops[i](x)
            out = y if out is None else out + y
        return out


def expected_madds(alpha: torch.Tensor, table: torch.Tensor, fixed: int) -> torch.Tensor:
    """Return ``fixed + sum_s softmax(alpha_s) . table_s``: the expected MAdds under the relaxation."""
    return fixed + (F.softmax(alpha, -1) * table).sum()

"""F3-Net's frequency front-ends (Qian et al., ECCV 2020): FAD (frequency-aware decomposition) and LFS (local
frequency statistics), on an orthonormal DCT-II held as buffers.

Readings (see docs/forgery.md): FAD cuts its 3 bands on the anti-diagonal index i + j at *area* fractions 1/16 and
1/8 of the spectrum (so r1 ~ S/sqrt(8), r2 ~ S/2, the reimplementation's S//2.82 and S//2), disjoint; the
optional 4th all-band filter (12 channels) is the reimplementations' addition. LFS uses the paper's statistic
log10(||D(p) * (base + sigma(h))||_1 + eps); ``order="reimpl"`` takes log10|.| before a size-normalised band sum,
as the public reimplementations do.
"""
from __future__ import annotations

import math
import torch
from torch import nn

from nas.errors import NasError
from nas.forgery.spec import check_lfs_input, lfs_out_size  # noqa: F401  (re-exported: part of this module's API)

__all__ = ["dct_matrix", "sigma", "fad_band_masks", "lfs_band_masks", "FAD", "LFS", "lfs_out_size", "check_lfs_input",
           "GREY"]

GREY = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma weights for LFS's greyscale input


def dct_matrix(size: int) -> torch.Tensor:
    """Return the orthonormal DCT-II matrix C (C @ C.T = I): C[k, n] = a_k cos(pi (n + 1/2) k / S)."""
    n = torch.arange(size, dtype=torch.float64)
    c = torch.cos(math.pi * (n[None, :] + 0.5) * n[:, None] / size) * math.sqrt(2.0 / size)
    c[0] /= math.sqrt(2.0)
    return c.float()


def sigma(z: torch.Tensor) -> torch.Tensor:
    """Return F3-Net's filter squashing 2 sigmoid(z) - 1 = tanh(z / 2), in (-1, 1) with sigma(0) = 0."""
    return 2.0 * torch.sigmoid(z) - 1.0


def _diag(size: int) -> torch.Tensor:
    i = torch.arange(size)
    return i[:, None] + i[None, :]


def _area_cut(size: int, fraction: float) -> int:
    """Return the integer r whose triangle i + j < r covers the share of the S x S plane closest to ``fraction``."""
    d = _diag(size).flatten()
    areas = torch.stack([(d < r).float().mean() for r in range(2 * size)])
    return int(torch.argmin((areas - fraction).abs()))


def fad_band_masks(size: int, fractions=(1 / 16, 1 / 8)) -> torch.Tensor:
    """Return the 3 disjoint binary masks (3, S, S) low / mid / high, cut on i + j at the given area fractions."""
    d = _diag(size)
    r1, r2 = (_area_cut(size, f) for f in fractions)
    return torch.stack([d < r1, (d >= r1) & (d < r2), d >= r2]).float()


def lfs_band_masks(window: int, bands: int, split: str = "linear") -> torch.Tensor:
    """Return ``bands`` disjoint masks (M, w, w) covering i + j in [0, 2w - 2], equal-width or log-spaced."""
    top = 2 * window - 1  # number of anti-diagonals
    if split == "linear":
        edges = [top * b / bands for b in range(bands + 1)]
    elif split == "log":
        edges = [top ** (b / bands) - 1 for b in range(bands + 1)]
    else:
        raise NasError(f"lfs.split must be linear or log, got {split[:40]!r}")
    edges[-1] = top
    d = _diag(window).float()
    masks = torch.stack([(d >= lo) & (d < hi) for lo, hi in zip(edges[:-1], edges[1:])]).float()
    if (masks.sum((1, 2)) == 0).any():
        raise NasError(f"{bands} {split} LFS bands leave a band empty for a {window}x{window} window")
    return masks


class FAD(nn.Module):
    """Frequency-aware decomposition: per band, y_i = D^-1(D(x) * (base_i + sigma(w_i))), 3 bands x 3 colours.

    Output: ``(N, 3 * bands, S, S)`` for ``(N, 3, S, S)`` input (9 channels; 12 with ``all_band``). The input side
    must equal ``size`` (the DCT is a fixed S x S transform).
    """

    def __init__(self, size: int, all_band: bool = False, init_std: float = 0.1):
        super().__init__()
        self.size = size
        self.register_buffer("dct", dct_matrix(size))
        base = fad_band_masks(size)
        if all_band:
            base = torch.cat([base, torch.ones(1, size, size)])
        self.register_buffer("base", base)
        self.filters = nn.Parameter(torch.randn(len(base), size, size) * init_std)
        self.out_channels = 3 * len(base)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.dct
        freq = c @ x @ c.t()  # (N, 3, S, S)
        filt = self.base + sigma(self.filters)  # (B, S, S)
        bands = freq[:, None] * filt[None, :, None]  # (N, B, 3, S, S)
        y = c.t() @ bands @ c
        return y.flatten(1, 2)


class LFS(nn.Module):
    """Local frequency statistics: DCT of every w x w greyscale window, one log-magnitude statistic per band.

    Output: ``(N, bands, H', W')`` with H' = :func:`lfs_out_size`.
    """

    def __init__(self, window: int = 10, stride: int = 2, padding: int = 4, bands: int = 6, split: str = "linear",
                 order: str = "paper", eps: float = 1e-6, init_std: float = 0.1):
        super().__init__()
        if order not in ("paper", "reimpl"):
            raise NasError(f"lfs.order must be paper or reimpl, got {order[:40]!r}")
        self.window, self.stride, self.padding, self.eps = window, stride, padding, eps
        self.reimpl = order == "reimpl"
        c = dct_matrix(window)
        # vec(C p C^T) = (C kron C) vec(p) for row-major vec: one matmul DCTs every window at once.
        self.register_buffer("kron", torch.kron(c, c))
        self.register_buffer("grey", torch.tensor(GREY).view(1, 3, 1, 1))
        self.register_buffer("base", lfs_band_masks(window, bands, split).flatten(1))  # (M, w*w)
        self.filters = nn.Parameter(torch.randn(bands, window * window) * init_std)
        self.out_channels = bands

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        g = (x * self.grey).sum(1, keepdim=True)
        patches = nn.functional.unfold(g, self.window, padding=self.padding, stride=self.stride)  # (N, w*w, L)
        coef = self.kron @ patches
        filt = self.base + sigma(self.filters)  # (M, w*w)
        if self.reimpl:
            stat = (filt @ torch.log10(coef.abs() + self.eps)) / self.base.sum(1, keepdim=True)
        else:
            stat = torch.log10(filt.abs() @ coef.abs() + self.eps)
        side_h = (h + 2 * self.padding - self.window) // self.stride + 1
        side_w = (w + 2 * self.padding - self.window) // self.stride + 1
        return stat.view(n, -1, side_h, side_w)

"""FAD, LFS, stem inflation and MixBlock against their defining properties."""
import math

import pytest
import torch
from torch import nn

from nas.errors import NasError
from nas.forgery.frequency import FAD, LFS, dct_matrix, fad_band_masks, lfs_band_masks, lfs_out_size, sigma
from nas.forgery.fusion import MixBlock, inflate_stem


def test_dct_is_orthonormal_and_inverts():
    c = dct_matrix(16).double()
    assert torch.allclose(c @ c.t(), torch.eye(16, dtype=torch.float64), atol=1e-6)
    x = torch.randn(16, 16, dtype=torch.float64)
    assert torch.allclose(c.t() @ (c @ x @ c.t()) @ c, x, atol=1e-6)


def test_sigma():
    z = torch.linspace(-5, 5, 11)
    assert sigma(torch.zeros(())) == 0
    assert torch.allclose(sigma(z), torch.tanh(z / 2), atol=1e-6)


@pytest.mark.parametrize("size", [32, 64, 299])
def test_fad_bands_are_disjoint_covering_at_area_fractions(size):
    m = fad_band_masks(size)
    assert torch.equal(m.sum(0), torch.ones(size, size))
    area = m.mean((1, 2))
    for got, want in zip(area.tolist(), (1 / 16, 1 / 16, 7 / 8)):
        assert abs(got - want) <= 1 / size
    assert m[0, 0, 0] == 1  # DC in the low band


def test_fad_bands_sum_back_to_input_with_zero_filters():
    fad = FAD(32)
    nn.init.zeros_(fad.filters)
    x = torch.randn(2, 3, 32, 32)
    y = fad(x)
    assert y.shape == (2, 9, 32, 32)
    assert torch.allclose(y.view(2, 3, 3, 32, 32).sum(1), x, atol=1e-4)
    assert FAD(32, all_band=True)(x).shape == (2, 12, 32, 32)


def test_lfs_shapes_and_constant_image():
    assert lfs_out_size(299) == 149
    lfs = LFS()
    nn.init.zeros_(lfs.filters)
    with torch.no_grad():
        out = lfs(torch.full((1, 3, 40, 40), 0.7))
    assert out.shape == (1, 6, lfs_out_size(40), lfs_out_size(40))
    centre = out[0, :, 8, 8]  # a window fully inside the image: only DC is non-zero
    assert math.isfinite(float(centre[0])) and centre[0] > -3
    # the AC bands sit at the log floor log10(eps) = -6, up to float32 rounding of the DCT
    assert (centre[1:] < -5.5).all() and (centre[1:] >= math.log10(1e-6) - 1e-4).all()


def test_lfs_bands_and_orders():
    for split in ("linear", "log"):
        m = lfs_band_masks(10, 6, split)
        assert torch.equal(m.sum(0), torch.ones(10, 10))
        assert (m.sum((1, 2)) > 0).all()
    assert LFS(order="reimpl")(torch.randn(1, 3, 20, 20)).shape == (1, 6, 10, 10)
    with pytest.raises(NasError):
        LFS(split="cubic")


def test_inflated_stem_replicated_input_gives_rgb_response():
    x = torch.randn(2, 3, 16, 16)
    net2 = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU())
    ref = net2(x)
    for k in (6, 9, 12):
        m = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU())
        m.load_state_dict(net2.state_dict())
        inflate_stem(m, k)
        assert m[0].in_channels == k
        assert torch.allclose(m(x.repeat(1, k // 3, 1, 1)), ref, atol=1e-5)


def test_mixblock_identity_at_init_and_swap_symmetry():
    mix = MixBlock(16).eval()
    a, b = torch.randn(2, 16, 4, 4), torch.randn(2, 16, 4, 4)
    ya, yb = mix(a, b)
    assert torch.equal(ya, a) and torch.equal(yb, b)
    with torch.no_grad():
        mix.gate_a.fill_(1.0)
        mix.gate_b.fill_(1.0)
        mix.q_b.load_state_dict(mix.q_a.state_dict())
        mix.k_b.load_state_dict(mix.k_a.state_dict())
        mix.out_b.load_state_dict(mix.out_a.state_dict())
    ya, yb = mix(a, b)
    sa, sb = mix(b, a)
    assert not torch.allclose(ya, a)
    assert torch.allclose(sa, yb, atol=1e-5) and torch.allclose(sb, ya, atol=1e-5)

"""Relaxations draw their Gumbel noise from an injected generator; without one, from torch's global generator."""
import pytest
import torch

import nas
from nas.nn.mixed import RELAXATIONS, relax


@pytest.mark.parametrize("mode", ["gumbel", "sample"])
def test_generator_makes_draws_repeatable_and_leaves_global_rng_alone(mode):
    alpha = torch.randn(7)
    before = torch.random.get_rng_state()
    runs = []
    for _ in range(2):
        gen = torch.Generator().manual_seed(3)
        runs.append([relax(alpha, mode, k=3, generator=gen)[1] for _ in range(20)])
    assert runs[0] == runs[1]
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize("mode", RELAXATIONS)
def test_no_generator_keeps_global_behaviour(mode):
    alpha = torch.randn(7)
    torch.manual_seed(5)
    a = relax(alpha, mode, k=3)
    torch.manual_seed(5)
    b = relax(alpha, mode, k=3)
    assert torch.equal(a[0], b[0]) and a[1] == b[1]


def test_pv_supernet_relaxation_takes_a_generator():
    sn = nas.create_supernet("pv_st", num_classes=3, width=0.125)
    x = torch.randn(1, 3, 2, 16, 16)
    outs = []
    for _ in range(2):
        sn.set_relaxation("gumbel", generator=torch.Generator().manual_seed(1))
        before = torch.random.get_rng_state()
        outs.append(sn(x))
        assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(outs[0], outs[1])


def test_old_import_path_still_serves_the_search():
    from nas.search import differentiable

    assert differentiable.relax is relax and differentiable.MixedOp.__module__ == "nas.nn.mixed"

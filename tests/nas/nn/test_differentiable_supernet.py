"""The differentiable supernet contract, checked on every space whose supernet has architecture logits."""
import random

import pytest
import torch

import nas
from nas.errors import NasError
from nas.nn.differentiable import DifferentiableSupernet

SPACES = {"pv_st_tiny": (dict(num_classes=3, width=0.125), (2, 3, 4, 16, 16)),
          "nb201": (dict(num_classes=4, width=0.25), (2, 3, 8, 8))}


@pytest.fixture(scope="module", params=sorted(SPACES))
def supernet(request):
    kwargs, shape = SPACES[request.param]
    torch.manual_seed(0)
    return nas.create_supernet(request.param, **kwargs), shape


def test_alpha_is_the_only_arch_parameter(supernet):
    net, _ = supernet
    assert isinstance(net, DifferentiableSupernet)
    assert net.arch_parameters() == [net.alpha]
    assert net.alpha.shape == (len(net.slot_keys), len(net.op_names)) == (len(net.space.dims()), len(net.op_names))
    assert all(p is not net.alpha for p in net.weight_parameters())
    assert len(net.mixed_ops) == len(net.slot_keys) and all(m.names == net.op_names for m in net.mixed_ops)


def test_argmax_reads_alpha_row_by_row(supernet):
    net, _ = supernet
    g = net.space.sample(random.Random(3))
    with torch.no_grad():
        saved = net.alpha.clone()
        net.alpha.zero_()
        for row, op in enumerate(g.values):
            net.alpha[row, net.op_names.index(op)] = 1.0
    try:
        assert net.argmax() == g
    finally:
        with torch.no_grad():
            net.alpha.copy_(saved)


def test_relaxed_forward_follows_the_generator_and_set_active_leaves_it(supernet):
    net, shape = supernet
    net.eval()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    outs = []
    for _ in range(2):
        net.set_relaxation("gumbel", tau=1.0, generator=torch.Generator().manual_seed(5))
        with torch.no_grad():
            outs.append(net(x))
    assert torch.equal(outs[0], outs[1])
    g = net.space.default()
    net.set_active(g)
    assert net.mode is None and net.active == g
    assert all(m.weights is None and m.names[m.active] == op for m, op in zip(net.mixed_ops, g.values))
    with pytest.raises(NasError, match="unknown relaxation"):
        net.set_relaxation("nope")

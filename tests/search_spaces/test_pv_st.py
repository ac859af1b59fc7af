import random

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import nas
from nas.core.ops import get_op
from nas.nn.mixed import MixedOp
from search_spaces.pv_st.cost import OP_NAMES, op_cost
from search_spaces.pv_st.ops import TemporalConv, build_slot_op, temporal_shift

SPACES = ["pv_st", "pv_st_m"]


@pytest.mark.parametrize("name", SPACES)
def test_space_is_torch_free_declaration(name):
    space = nas.get_space(name)
    assert space.modality == "video"
    assert space.size() == len(OP_NAMES) ** len(space.slots)
    assert space.example_input_shape(32, 4) == (1, 3, 4, 32, 32)
    named = space.named()
    assert set(named["tsm"].values) == {"t_shift"} and set(named["r2plus1d"].values) == {"t_r21d"}
    assert nas.load_genotype(f"{name}:tsm") == named["tsm"]
    g = space.sample(random.Random(0))
    assert nas.load_genotype(str(g)) == g


def test_shift_moves_one_eighth_each_way_and_zero_fills():
    x = torch.arange(1, 1 + 16 * 4, dtype=torch.float).reshape(1, 16, 4, 1, 1)
    y = temporal_shift(x)
    assert torch.equal(y[:, :2, 1:], x[:, :2, :-1]) and torch.all(y[:, :2, 0] == 0)
    assert torch.equal(y[:, 2:4, :-1], x[:, 2:4, 1:]) and torch.all(y[:, 2:4, -1] == 0)
    assert torch.equal(y[:, 4:], x[:, 4:])


def test_delta_temporal_conv_is_identity():
    conv = TemporalConv(5, 3)
    with torch.no_grad():
        conv.weight.zero_()
        for c in range(5):
            conv.weight[c, c, 1, 0, 0] = 1.0
    x = torch.randn(2, 5, 6, 4, 4)
    assert torch.equal(conv(x), x)


def test_mixed_op_one_hot_equals_chosen_op_exactly():
    ops = [build_slot_op(o, 8, 16, 2) for o in OP_NAMES]
    mixed = MixedOp(ops, OP_NAMES).eval()
    x = torch.randn(2, 8, 5, 9, 9)
    for i in range(len(OP_NAMES)):
        mixed.weights, mixed.paths = torch.nn.functional.one_hot(torch.tensor(i), len(OP_NAMES)).float(), \
            list(range(len(OP_NAMES)))
        assert torch.equal(mixed(x), ops[i](x)), OP_NAMES[i]


@pytest.mark.parametrize("name", OP_NAMES)
def test_op_cost_matches_counter(name):
    op = get_op(name).build(8, 16, 2).eval()
    x = torch.randn(1, 8, 3, 10, 10)
    with FlopCounterMode(display=False) as fc:
        y = op(x)
    c, out = op_cost(name, (3, 10, 10), 8, 16, 2)
    assert tuple(y.shape[2:]) == out
    assert c.madds == fc.get_total_flops() // 2
    assert c.params == sum(p.numel() for p in op.parameters())


def _measured(model, frames, res):
    model.eval()
    with FlopCounterMode(display=False) as fc:
        model(torch.randn(1, 3, frames, res, res))
    return fc.get_total_flops() // 2, sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", SPACES)
@pytest.mark.parametrize("res,frames", [(32, 8), (41, 3)])
def test_cost_equals_counted_model(name, res, frames):
    space = nas.get_space(name)
    rng = random.Random(res)
    for g in [space.sample(rng) for _ in range(2)] + [space.named()["tsm"]]:
        c = nas.cost(g, resolution=res, num_classes=7, frames=frames)
        assert (c.madds, c.params) == _measured(nas.create_model(g, num_classes=7), frames, res), str(g)
        assert sum(x.madds for _, x in space.cost_breakdown(g, res, 7, frames)) == c.madds


@pytest.mark.parametrize("frames", [1, 2, 8])
def test_any_number_of_frames(frames):
    model = nas.create_model("pv_st:i3d", num_classes=3).eval()
    assert model(torch.randn(2, 3, frames, 24, 24)).shape == (2, 3)


def test_supernet_extract_matches_and_torchscript():
    sn = nas.create_supernet("pv_st", num_classes=5)
    g = sn.space.sample(random.Random(4))
    sn.set_active(g)
    sn.train()
    sn(torch.randn(4, 3, 4, 32, 32))
    sn.eval()
    model = sn.extract(g).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    assert torch.equal(sn(x), model(x))
    scripted = torch.jit.script(model)
    assert torch.allclose(scripted(x), model(x), atol=1e-5)
    assert [p for p in sn.arch_parameters()] == [sn.alpha]
    assert len(sn.weight_parameters()) == len(list(sn.parameters())) - 1


def test_temporal_model_sees_order_and_2d_does_not():
    x = torch.randn(1, 3, 8, 32, 32)
    rev = x.flip(2)
    flat = nas.create_model("pv_st:tsn", num_classes=4).eval()
    assert torch.allclose(flat(x), flat(rev), atol=1e-5)
    temporal = nas.create_model("pv_st:r2plus1d", num_classes=4).eval()
    assert not torch.allclose(temporal(x), temporal(rev), atol=1e-5)


def test_plot(tmp_path):
    from nas.viz import plot_genotype

    assert plot_genotype(nas.load_genotype("pv_st:tsm"), tmp_path / "g.png").is_file()

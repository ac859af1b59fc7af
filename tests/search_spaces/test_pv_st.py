import random

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import nas
from nas.core.ops import get_op
from nas.nn.mixed import MixedOp
from search_spaces.pv_st.cost import OP_NAMES, op_cost
from search_spaces.pv_st.ops import TemporalConv, build_slot_op, temporal_shift

SPACES = ["pv_st", "pv_st_m", "pv_st_tiny"]


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


@pytest.mark.parametrize("name,res,frames", [
    ("pv_st_tiny", 32, 8), ("pv_st_tiny", 41, 3), ("pv_st", 41, 2),
    pytest.param("pv_st", 64, 8, marks=pytest.mark.slow), pytest.param("pv_st_m", 41, 3, marks=pytest.mark.slow)])
def test_cost_equals_counted_model(name, res, frames):
    space = nas.get_space(name)
    rng = random.Random(res)
    samples = 2 if name == "pv_st_tiny" else 1
    for g in [space.sample(rng) for _ in range(samples)] + [space.named()["tsm"]]:
        c = nas.cost(g, resolution=res, num_classes=7, frames=frames)
        assert (c.madds, c.params) == _measured(nas.create_model(g, num_classes=7), frames, res), str(g)
        assert sum(x.madds for _, x in space.cost_breakdown(g, res, 7, frames)) == c.madds


@pytest.mark.parametrize("frames", [1, 2, 8])
def test_any_number_of_frames(frames):
    model = nas.create_model("pv_st_tiny:i3d", num_classes=3).eval()
    assert model(torch.randn(2, 3, frames, 24, 24)).shape == (2, 3)


@pytest.mark.parametrize("space,width", [("pv_st_tiny", 1.0), ("pv_st", 0.125)])
def test_supernet_extract_matches_and_torchscript(space, width, randomized):
    sn = randomized(nas.create_supernet(space, num_classes=5, width=width))  # every branch edge counts
    g = sn.space.sample(random.Random(4))
    sn.set_active(g)
    sn.train()
    sn(torch.randn(4, 3, 4, 32, 32))
    sn.eval()
    model = sn.extract(g).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    assert torch.equal(sn(x), model(x))
    if space == "pv_st_tiny":  # scripting the 16-block net takes long and checks nothing more
        scripted = torch.jit.script(model)
        assert torch.allclose(scripted(x), model(x), atol=1e-5)
    assert [p for p in sn.arch_parameters()] == [sn.alpha]
    assert len(sn.weight_parameters()) == len(list(sn.parameters())) - 1


def test_temporal_model_sees_order_and_2d_does_not():
    x = torch.randn(1, 3, 8, 32, 32)
    rev = x.flip(2)
    flat = nas.create_model("pv_st_tiny:tsn", num_classes=4).eval()
    assert torch.allclose(flat(x), flat(rev), atol=1e-5)
    temporal = nas.create_model("pv_st_tiny:r2plus1d", num_classes=4).eval()
    tsm = nas.create_model("pv_st_tiny:tsm", num_classes=4).eval()
    assert not torch.allclose(tsm(x), tsm(rev), atol=1e-5)
    assert not torch.allclose(temporal(x), temporal(rev), atol=1e-5)


def test_plot(tmp_path):
    from nas.viz import plot_genotype

    assert plot_genotype(nas.load_genotype("pv_st:tsm"), tmp_path / "g.png").is_file()


def _resnet50_by_hand(res: int, frames: int, num_classes: int):
    """Count a per-frame torchvision-style ResNet-50 (convs, BN, linear per frame), independently of pv_st."""
    madds = params = 0

    def conv(h, c_in, c_out, k, stride):
        nonlocal madds, params
        h = (h + 2 * (k // 2) - k) // stride + 1
        madds += h * h * c_in * c_out * k * k
        params += c_in * c_out * k * k + 2 * c_out  # the weight and the BatchNorm after it
        return h

    h = conv(res, 3, 64, 7, 2)
    h = (h + 2 - 3) // 2 + 1  # 3x3/2 max pool
    c_in = 64
    for width, depth, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(depth):
            s = stride if i == 0 else 1
            h_in = h
            conv(h, c_in, width, 1, 1)
            h = conv(h, width, width, 3, s)
            conv(h, width, 4 * width, 1, 1)
            if i == 0:
                conv(h_in, c_in, 4 * width, 1, s)  # the projection shortcut (stride on its 1x1)
            c_in = 4 * width
    madds += c_in * num_classes
    params += c_in * num_classes + num_classes
    return madds * frames, params


def test_tsm_r50_is_tsm_resnet50():
    c = nas.cost("pv_st:tsm_r50", resolution=224, frames=8, num_classes=400)
    # torchvision's resnet50() has 25,557,032 parameters with 1000 classes; 600 fewer classes drop 600 * 2049.
    assert c.params == 25_557_032 - 600 * 2049 == 24_327_632
    # TSM reports ~33G FLOPs for TSM-R50 at 8x224^2 (its FLOPs are multiply-accumulates; the shift is free).
    assert 32.5e9 < c.madds < 33.0e9
    assert (c.madds, c.params) == _resnet50_by_hand(224, 8, 400)
    assert nas.cost("pv_st:tsn_r50", resolution=224, frames=8, num_classes=400) == c
    g = nas.load_genotype("pv_st:tsm_r50")
    assert len(g.choices) == 16 and {v for _, v in g.choices} == {"t_shift"}
    assert nas.load_genotype("pv_st:r2plus1d_r50") == nas.get_space("pv_st").named()["r2plus1d"]


def test_tsm_r50_shifts_the_residual_branch_before_the_first_conv():
    from search_spaces.pv_st.ops import TemporalShift

    model = nas.create_model("pv_st:tsm_r50", num_classes=4).eval()
    assert all(isinstance(b.pre, TemporalShift) for b in model.blocks)
    b = model.blocks[0]
    x = torch.randn(1, 64, 4, 8, 8)
    with torch.no_grad():
        inner = b.relu(b.bn1(b.conv1(temporal_shift(x))))
        expected = b.relu(b.bn3(b.conv3(b.relu(b.bn2(b.op(inner))))) + b.shortcut(x))
        assert torch.equal(b(x), expected)
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(torch.randn(1, 3, 2, 64, 64))
    assert fc.get_total_flops() // 2 == nas.cost("pv_st:tsm_r50", resolution=64, frames=2, num_classes=4).madds


def test_resolution_below_the_strides_is_a_one_line_error():
    from nas.errors import NasError

    assert nas.get_space("pv_st").min_resolution == 32 and nas.get_space("pv_st_tiny").min_resolution == 8
    with pytest.raises(NasError, match="resolution must be at least 32"):
        nas.cost("pv_st:tsm_r50", resolution=16, frames=8)


def test_width_scaled_proxy_keeps_the_plan():
    full = nas.create_model("pv_st:tsm_r50", num_classes=4)
    small = nas.create_model("pv_st:tsm_r50", num_classes=4, width=0.25)
    assert len(small.blocks) == len(full.blocks) == 16
    assert small.num_features == 512 and full.num_features == 2048
    assert small(torch.randn(2, 3, 4, 32, 32)).shape == (2, 4)

import random

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import nas
from search_spaces.nb201 import skeleton as sk

SPACE = nas.get_space("nb201")
RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"

TORCH_THREADS = 1  # a shared 2-core machine: spinning OpenMP threads slow small nets down 10x (tests/conftest.py)


def test_size_and_members():
    assert SPACE.size() == 5**6 == 15625
    assert sum(1 for _ in SPACE.grid()) == 15625
    assert sum(not SPACE.is_connected(g) for g in SPACE.grid()) == 341  # the data README's count


def test_arch_string_is_one_to_one():
    seen = set()
    for g in SPACE.grid():
        text = SPACE.arch_str(g)
        assert SPACE.parse(text) == g and SPACE.parse(str(g)) == g
        seen.add(text)
    assert len(seen) == 15625


def test_load_genotype_accepts_the_nas_bench_201_string():
    g = nas.load_genotype(RESNET)
    assert g == nas.load_genotype("nb201:resnet") == nas.load_genotype(f"nb201:{RESNET}")
    assert str(g) == "nb201:nor_conv_3x3,none,nor_conv_3x3,skip_connect,none,skip_connect"
    with pytest.raises(nas.NasError, match="not allowed"):
        nas.load_genotype(RESNET.replace("skip_connect", "conv_5x5"))
    with pytest.raises(nas.NasError, match="not a genotype"):
        nas.load_genotype("|nor_conv_3x3~0|+|none~0|")


def test_resolution_must_divide_by_four():
    with pytest.raises(nas.NasError, match="divisible by 4"):
        nas.cost("nb201:resnet", resolution=30)


def _measured(model, res):
    model.eval()
    with FlopCounterMode(display=False) as fc:
        model(torch.randn(1, 3, res, res))
    return fc.get_total_flops() // 2, sum(p.numel() for p in model.parameters())


CELLS = [RESNET, sk.to_arch_str(("none",) * 6), sk.to_arch_str(("nor_conv_3x3",) * 6),
         "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|"]


@pytest.mark.parametrize("res, classes, cells", [(32, 10, CELLS), (64, 100, CELLS[:1])])
def test_cost_matches_flop_counter(res, classes, cells):
    cells = [nas.load_genotype(c) for c in cells] + [SPACE.sample(random.Random(res))]
    for g in cells:
        c = nas.cost(g, resolution=res, num_classes=classes)
        assert _measured(nas.create_model(g, num_classes=classes), res) == (c.madds, c.params), str(g)
        assert sum(c for _, c in SPACE.cost_breakdown(g, resolution=res, num_classes=classes)).madds == c.madds


def test_resnet_cell_by_hand():
    # 15 cells x two 3x3 convs: 5 cells at each of 32^2x16, 16^2x32 and 8^2x64 give the same MAdds per stage.
    per_stage = 5 * 2 * 32 * 32 * 16 * 16 * 9
    fixed = 32 * 32 * 3 * 16 * 9 + 2 * (16 * 16 * 32 * (16 * 9 + 32 * 9 + 16)) + 64 * 10
    assert nas.cost("nb201:resnet").madds == 3 * per_stage + fixed


def test_supernet_extract_is_exact_and_relaxation_runs(randomized):
    torch.manual_seed(0)
    net = randomized(nas.create_supernet("nb201", num_classes=10, width=0.25)).eval()
    x = torch.randn(2, 3, 16, 16)
    for text in CELLS[::3]:
        g = nas.load_genotype(text)
        net.set_active(g)
        with torch.no_grad():
            assert torch.equal(net(x), net.extract(g).eval()(x))
    net.train()
    net.set_relaxation("softmax")
    net(x).sum().backward()
    assert net.alpha.grad is not None and net.alpha.grad.abs().sum() > 0
    assert SPACE.contains(net.argmax()) is None


def test_backbone_is_the_model_without_classifier():
    torch.manual_seed(0)
    model = nas.create_model(RESNET, num_classes=10).eval()
    backbone = nas.create_backbone(RESNET).eval()
    backbone.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("classifier")})
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.classifier(backbone(x)), model(x), atol=1e-6)
        assert backbone.forward_features(x).shape == (2, 64, 8, 8)
        assert torch.equal(torch.jit.script(model)(x), model(x))  # nas-derive --export FILE.ts

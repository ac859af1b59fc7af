import copy
import random

import torch

import nas
from nas.nn.supernet import recalibrate_bn
from nas.search.strategies.window import sample_in_window
from nas.search.one_shot import accuracy, score_genotypes, train_steps


def _tiny():
    torch.manual_seed(0)
    sn = nas.create_supernet("st_topo", num_classes=4, width=0.25, stem_stride=1)
    x = torch.randn(48, 3, 16, 16)
    y = torch.randint(0, 4, (48,))
    return sn, x, y


def test_score_is_mean_over_snapshots_and_k1_is_plain_proxy():
    sn, x, y = _tiny()
    space = sn.space
    gs = [space.sample(random.Random(i)) for i in range(3)]
    snap1 = copy.deepcopy(sn.state_dict())
    opt = torch.optim.SGD(sn.parameters(), lr=0.05)
    train_steps(sn, iter([(x[:16], y[:16])] * 3), opt, None, random.Random(0))
    snap2 = copy.deepcopy(sn.state_dict())
    bn, val = [x[:16]], [(x, y)]
    both = score_genotypes(sn, gs, [snap1, snap2], bn, val)
    only1 = score_genotypes(sn, gs, [snap1], bn, val)
    only2 = score_genotypes(sn, gs, [snap2], bn, val)
    for i in range(3):
        assert both[i] == [only1[i][0], only2[i][0]]
    # K = 1 is the plain one-shot proxy: recalibrate BN on the trained weights, then measure accuracy.
    sn.load_state_dict(snap1)
    sn.set_active(gs[0])
    recalibrate_bn(sn, bn)
    assert only1[0][0] == accuracy(sn, val)


def test_budget_sampler_stays_in_window():
    space = nas.get_space("st_topo")
    cost = lambda g: space.cost(g).madds  # noqa: E731
    rng = random.Random(0)
    for _ in range(20):
        g = sample_in_window(space, cost, 280_000_000, 330_000_000, rng)
        assert 280_000_000 <= cost(g) <= 330_000_000


def test_proxy_supernet_extracts_exactly(randomized):
    sn, x, _ = _tiny()
    randomized(sn)
    g = sn.sample_active(random.Random(4))
    sn.train()
    sn(x)
    sn.eval()
    model = sn.extract(g).eval()
    assert model.stem[0].stride == (1, 1)
    assert torch.equal(sn(x[:4]), model(x[:4]))


def test_recalibrate_bn_restores_momentum_and_mode():
    sn, x, _ = _tiny()
    sn.eval()
    recalibrate_bn(sn, [x[:8], x[8:16]])
    assert not sn.training
    bns = [m for m in sn.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(m.momentum == 0.1 for m in bns)

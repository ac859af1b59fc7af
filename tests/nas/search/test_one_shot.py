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


def _grads(sn, genotype, x, y, loss_fn=None):
    """Return the gradient of one path's cross-entropy (or ``loss_fn(logits)``) on a fresh copy of ``sn``."""
    sn = copy.deepcopy(sn)
    sn.train()
    sn.set_active(genotype)
    logits = sn(x)
    loss = torch.nn.functional.cross_entropy(logits, y) if loss_fn is None else loss_fn(logits)
    loss.backward()
    return {n: (p.grad.clone() if p.grad is not None else torch.zeros_like(p)) for n, p in sn.named_parameters()}


def _one_step(sn, x, y, genotypes, lr=0.1, **kw):
    """Run one train_steps step with plain SGD and the paths ``genotypes`` in order; return the new parameters."""
    sn = copy.deepcopy(sn)
    queue = list(genotypes)
    opt = torch.optim.SGD(sn.parameters(), lr=lr)
    stats = train_steps(sn, iter([(x, y)]), opt, None, random.Random(0), sample=lambda rng: queue.pop(0), **kw)
    assert stats["steps"] == 1 and not queue
    return dict(sn.named_parameters()), stats


def test_default_step_is_exactly_spos():
    """One path, no teacher: bitwise the plain loop (draw a path, cross-entropy, backward, one SGD step)."""
    sn, x, y = _tiny()
    g = sn.space.sample(random.Random(1))
    after, _ = _one_step(sn, x, y, [g])
    ref = copy.deepcopy(sn)
    ref.train()
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    ref.set_active(g)
    torch.nn.functional.cross_entropy(ref(x), y).backward()
    opt.step()
    for name, p in ref.named_parameters():
        assert torch.equal(after[name], p), name


def test_several_paths_average_their_gradients():
    sn, x, y = _tiny()
    g1, g2 = (sn.space.sample(random.Random(i)) for i in (2, 3))
    after, stats = _one_step(sn, x, y, [g1, g2], paths=2)
    d1, d2 = _grads(sn, g1, x, y), _grads(sn, g2, x, y)
    moved = 0
    for name, p in sn.named_parameters():
        expect = p - 0.1 * (d1[name] + d2[name]) / 2
        assert torch.allclose(after[name], expect, atol=1e-6), name
        moved += not torch.equal(after[name], p)
    assert moved > 0 and 0 <= stats["acc"] <= 1


def test_distillation_trains_the_teacher_and_pulls_each_path_to_its_predictions():
    """Teacher = the space's largest path. A sampled path that is the teacher itself has a KL of zero, so at
    distill 1 the step is half the teacher's cross-entropy gradient; at distill 0.5 with another path the
    student's part is 0.5 x its cross-entropy + 0.5 x the KL to the teacher's detached log-probabilities."""
    sn, x, y = _tiny()
    teacher = sn.space.largest()
    after, stats = _one_step(sn, x, y, [teacher], teacher=teacher, distill=1.0)
    dt = _grads(sn, teacher, x, y)
    for name, p in sn.named_parameters():
        assert torch.allclose(after[name], p - 0.1 * dt[name] / 2, atol=1e-6), name
    assert abs(stats["loss"]) < 1e-5 and stats["teacher_loss"] > 0

    g = sn.space.sample(random.Random(5))
    ref = copy.deepcopy(sn)
    ref.train()
    ref.set_active(teacher)
    target = ref(x).detach().log_softmax(1)
    after, _ = _one_step(sn, x, y, [g], teacher=teacher, distill=0.5)
    F = torch.nn.functional
    ds = _grads(sn, g, x, y, lambda lg: 0.5 * F.cross_entropy(lg, y) + 0.5 * F.kl_div(
        lg.log_softmax(1), target, reduction="batchmean", log_target=True))
    for name, p in sn.named_parameters():
        assert torch.allclose(after[name], p - 0.1 * (dt[name] + ds[name]) / 2, atol=1e-6), name


def test_sandwich_trains_the_fixed_smallest_path_as_one_more_student():
    """Teacher, one sampled path and the fixed cheapest path: the step averages the three gradients, and the
    fixed path learns from the teacher like the sampled one."""
    sn, x, y = _tiny()
    teacher, small = sn.space.largest(), sn.space.cheapest()
    g = sn.space.sample(random.Random(6))
    ref = copy.deepcopy(sn)
    ref.train()
    ref.set_active(teacher)
    target = ref(x).detach().log_softmax(1)
    after, stats = _one_step(sn, x, y, [g], teacher=teacher, distill=1.0, fixed=(small,))
    F = torch.nn.functional
    kl = lambda lg: F.kl_div(lg.log_softmax(1), target, reduction="batchmean", log_target=True)  # noqa: E731
    dt, ds, dm = _grads(sn, teacher, x, y), _grads(sn, g, x, y, kl), _grads(sn, small, x, y, kl)
    for name, p in sn.named_parameters():
        assert torch.allclose(after[name], p - 0.1 * (dt[name] + ds[name] + dm[name]) / 3, atol=1e-6), name
    assert stats["loss"] > 0 and stats["teacher_loss"] > 0

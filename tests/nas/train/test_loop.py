"""The one training loop: ``fit`` repeats, bit for bit, the hand-written loops the finalist trainers used to own."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from nas.data.loader import make_loader
from nas.search.finalists import BriefSgd, train_briefly
from nas.train.loop import StepOptions, fit

CPU = torch.device("cpu")


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Dropout(0.1),
                         nn.Linear(4 * 6 * 6, 3))


def _data():
    g = torch.Generator().manual_seed(1)
    return TensorDataset(torch.randn(20, 3, 8, 8, generator=g), torch.randint(0, 3, (20,), generator=g))


def _loader(drop_last=True):
    """Return a fresh loader (its generator advances with every pass, so each run gets its own)."""
    return make_loader(_data(), 8, shuffle=True, drop_last=drop_last, generator=torch.Generator().manual_seed(2))


def _former_loop(model, loader, epochs, sgd: BriefSgd, steps):
    """The loop both finalist trainers carried before they shared ``fit``."""
    opt = torch.optim.SGD(model.parameters(), lr=sgd.lr, momentum=sgd.momentum, nesterov=sgd.nesterov,
                          weight_decay=sgd.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    model.train()
    losses = []
    for _ in range(epochs):
        for x, y, _ in loader:
            loss = F.cross_entropy(model(x.to(CPU)), y.to(CPU))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
    return losses


@pytest.mark.parametrize("sgd", [BriefSgd(0.1), BriefSgd(0.05, nesterov=True, weight_decay=4e-5)])
def test_fit_matches_the_former_finalist_loop_bitwise(sgd):
    ref = _model()
    torch.manual_seed(3)
    ref_losses = _former_loop(ref, _loader(), 2, sgd, 4)
    model = _model()
    opt, sched = sgd.build(model, 4)
    losses, loader = [], _loader()
    torch.manual_seed(3)
    stats = fit(model, lambda epoch: loader, 2, opt, sched, F.cross_entropy, StepOptions(device=CPU),
                progress=lambda i, loss: losses.append(loss))
    assert losses == ref_losses and len(stats) == 2 and stats[1]["train_images"] == 16
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), model.state_dict().values()))


def test_train_briefly_keeps_its_settings_and_reports_each_step():
    ref, model = _model(), _model()
    torch.manual_seed(3)
    ref_losses = _former_loop(ref, _loader(False), 1, BriefSgd(0.05), 3)
    seen = []
    torch.manual_seed(3)
    train_briefly(model, _loader(False), 1, 0.05, CPU, seen.append)
    assert seen == ref_losses and len(seen) == 3  # 20 samples in batches of 8, the last one short
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), model.state_dict().values()))

"""Tests for the diversity and warmup-cosine schedulers and the optimizer/scheduler factories."""
from __future__ import annotations

import io
import math
from typing import Any, Dict, List

import pytest
import torch
from torch import nn

from nas.errors import NasError
from nas.optim import (
    OPTIMIZERS,
    SCHEDULERS,
    DiversityCosine,
    WarmupCosine,
    create_optimizer,
    create_scheduler,
    param_groups_weight_decay,
)
from nas.optim.schedulers import cosine_value


def _opt(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


def _lrs(sched: torch.optim.lr_scheduler.LRScheduler, steps: int) -> List[float]:
    """Return the LR in use at t = 0 .. steps - 1."""
    out = []
    for _ in range(steps):
        out.append(sched.get_last_lr()[0])
        sched.optimizer.step()
        sched.step()
    return out


def test_diversity_endpoints_and_period() -> None:
    period, lr_max, lr_min = 10, 0.5, 0.01
    lrs = _lrs(DiversityCosine(_opt(lr_max), period, lr_min=lr_min), 3 * period)
    assert lrs[0] == pytest.approx(lr_max)
    assert lrs[period - 1] == pytest.approx(lr_min, abs=0.03 * (lr_max - lr_min))
    assert lrs[period - 1] < lrs[period - 2]
    assert lrs[period] == pytest.approx(lr_max)  # warm restart
    assert lrs[period:2 * period] == pytest.approx(lrs[:period])
    assert lrs[2 * period:] == pytest.approx(lrs[:period])
    assert lrs[3] == pytest.approx(cosine_value(3, period, lr_max, lr_min))


def test_diversity_cycle_end_flags() -> None:
    sched = DiversityCosine(_opt(), period=3)
    flags, cycles = [], []
    for _ in range(9):
        sched.optimizer.step()
        sched.step()
        flags.append(sched.is_cycle_end())
        cycles.append(sched.cycle)
    assert flags == [False, False, True] * 3
    assert cycles == [0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert [sched.cycle_end(t) for t in range(6)] == [False, False, True, False, False, True]


def test_diversity_period_mult() -> None:
    sched = DiversityCosine(_opt(), period=2, period_mult=2.0)
    ends = [t for t in range(14) if sched.cycle_end(t)]
    assert ends == [1, 5, 13]  # cycles of 2, 4, 8 steps
    lrs = _lrs(sched, 7)
    assert lrs[2] == pytest.approx(1.0) and lrs[6] == pytest.approx(1.0)


def test_diversity_per_group_lr_max() -> None:
    params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    opt = torch.optim.SGD([{"params": [params[0]], "lr": 1.0}, {"params": [params[1]], "lr": 0.1}], lr=1.0)
    sched = DiversityCosine(opt, period=4)
    assert sched.get_last_lr() == pytest.approx([1.0, 0.1])
    opt.step()
    sched.step()
    assert sched.get_last_lr() == pytest.approx([cosine_value(1, 4, 1.0), cosine_value(1, 4, 0.1)])


def test_cosine_value_anneals_temperature() -> None:
    assert cosine_value(0, 100, 5.0, 0.5) == pytest.approx(5.0)
    assert cosine_value(50, 100, 5.0, 0.5) == pytest.approx(2.75)
    assert cosine_value(100, 100, 5.0, 0.5) == pytest.approx(5.0)
    with pytest.raises(ValueError):
        cosine_value(0, 0, 1.0)


def test_warmup_cosine_shape() -> None:
    lr, lr_min, start = 0.4, 0.004, 0.1
    sched = WarmupCosine(_opt(lr), total_steps=20, warmup_steps=5, lr_min=lr_min, warmup_start_factor=start)
    lrs = _lrs(sched, 21)
    assert lrs[0] == pytest.approx(start * lr)
    assert lrs[5] == pytest.approx(lr) and max(lrs) == pytest.approx(lr)
    assert all(a < b for a, b in zip(lrs[:5], lrs[1:6]))
    assert all(a > b for a, b in zip(lrs[5:20], lrs[6:21]))
    assert lrs[20] == pytest.approx(lr_min)
    assert _lrs(sched, 3) == pytest.approx([lr_min] * 3)


def test_warmup_cosine_without_warmup() -> None:
    lrs = _lrs(WarmupCosine(_opt(1.0), total_steps=4), 5)
    assert lrs == pytest.approx([0.5 * (1 + math.cos(math.pi * t / 4)) for t in range(5)])


@pytest.mark.parametrize("make", [
    lambda o: DiversityCosine(o, period=5, lr_min=0.01, period_mult=1.5),
    lambda o: WarmupCosine(o, total_steps=30, warmup_steps=4, warmup_start_factor=0.2),
])
def test_scheduler_resume(make: Any) -> None:
    opt, opt_resumed = _opt(0.3), _opt(0.3)
    sched, resumed = make(opt), make(opt_resumed)
    _lrs(sched, 7)
    buf = io.BytesIO()
    torch.save(sched.state_dict(), buf)
    buf.seek(0)
    resumed.load_state_dict(torch.load(buf, weights_only=True))
    assert _lrs(resumed, 12) == pytest.approx(_lrs(sched, 12))


OPTIMIZER_KWARGS: Dict[str, Dict[str, Any]] = {
    "sgd": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
    "adam": {"lr": 1e-3},
    "adamw": {"lr": 1e-3, "weight_decay": 0.05},
    "adarem": {"lr": 0.1},
    "sgld": {"lr": 1e-3, "num_data": 100},
}
SCHEDULER_KWARGS: Dict[str, Dict[str, Any]] = {
    "constant": {},
    "cosine": {"total_steps": 10, "lr_min": 0.001},
    "warmup_cosine": {"total_steps": 10, "warmup_steps": 2},
    "diversity": {"period": 4},
}


@pytest.mark.parametrize("name", OPTIMIZERS.list())
def test_create_every_optimizer(name: str) -> None:
    model = nn.Linear(3, 2)
    opt = create_optimizer(name, param_groups_weight_decay(model, 1e-4), **OPTIMIZER_KWARGS[name])
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("name", SCHEDULERS.list())
def test_create_every_scheduler(name: str) -> None:
    opt = _opt(0.1)
    sched = create_scheduler(name, opt, **SCHEDULER_KWARGS[name])
    lrs = _lrs(sched, 12)
    assert lrs[0] == pytest.approx(0.1) or name == "warmup_cosine"
    if name == "constant":
        assert lrs == pytest.approx([0.1] * 12)


def test_unknown_names_raise() -> None:
    with pytest.raises(NasError, match="unknown optimizer"):
        create_optimizer("lamb", [torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(NasError, match="unknown scheduler"):
        create_scheduler("step", _opt())


def test_param_groups_weight_decay() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
    model[3].weight.requires_grad_(False)
    decay, no_decay = param_groups_weight_decay(model, 5e-4)
    assert decay["weight_decay"] == 5e-4 and no_decay["weight_decay"] == 0.0
    assert [p.shape for p in decay["params"]] == [torch.Size([4, 3, 3, 3])]
    assert all(p.ndim == 1 for p in no_decay["params"]) and len(no_decay["params"]) == 4

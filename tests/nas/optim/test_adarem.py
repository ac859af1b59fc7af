"""Tests for the AdaRem optimizer against the closed forms in the AdaRem spec."""
from __future__ import annotations

import copy
import io
from typing import Any, Callable, List

import pytest
import torch
from torch import nn

from nas.optim import AdaRem
from nas.optim.adarem import _max_abs_list, adarem_multiplier


def _run(opt_factory: Callable[[List[torch.Tensor]], torch.optim.Optimizer], theta0: torch.Tensor,
         grads: List[torch.Tensor]) -> List[torch.Tensor]:
    """Return the parameter after each step of an optimizer fed the given gradient sequence."""
    p = theta0.clone().requires_grad_(True)
    opt = opt_factory([p])
    out = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        out.append(p.detach().clone())
    return out


def _mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))


def _train(model: nn.Module, opt: torch.optim.Optimizer, steps: int, seed: int = 1) -> None:
    """Run ``steps`` steps of a fixed regression problem."""
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(32, 8, generator=gen)
        y = torch.randn(32, 3, generator=gen)
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_first_step_is_sgd(foreach: bool, wd: float) -> None:
    theta0, g = torch.randn(5, 4), torch.randn(5, 4)
    (theta1,) = _run(lambda ps: AdaRem(ps, lr=0.1, weight_decay=wd, foreach=foreach), theta0, [g])
    torch.testing.assert_close(theta1, theta0 - 0.1 * (g + wd * theta0))


@pytest.mark.parametrize("foreach", [False, True])
def test_spec_two_step_closed_form(foreach: bool) -> None:
    theta0 = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    g1 = torch.tensor([0.5, -1.0, 0.25], dtype=torch.float64)
    g2 = torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    theta1, theta2 = _run(lambda ps: AdaRem(ps, lr=0.1, beta=0.9, lam=0.999, foreach=foreach), theta0, [g1, g2])
    torch.testing.assert_close(theta1, torch.tensor([0.95, -1.9, 2.975], dtype=torch.float64), atol=1e-12, rtol=0)
    expected = torch.tensor([0.80005, -1.9001, 3.050025], dtype=torch.float64)
    torch.testing.assert_close(theta2, expected, atol=1e-6, rtol=0)


def test_spec_intermediates() -> None:
    m1 = torch.tensor([0.05, -0.1, 0.025], dtype=torch.float64)
    g2 = torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    eta = adarem_multiplier(g2, m1, 0.999, 1e-8)
    torch.testing.assert_close(eta, torch.tensor([1.4995, 0.001, 0.75025], dtype=torch.float64), atol=1e-7, rtol=0)


@pytest.mark.parametrize("seed", range(5))
def test_multiplier_bounds(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    g, m = torch.randn(1000, generator=gen), torch.randn(1000, generator=gen)
    lam_k = 0.999**seed
    eta = adarem_multiplier(g, m, lam_k, 1e-8)
    assert (eta >= 1 - lam_k - 1e-6).all() and (eta <= 1 + lam_k + 1e-6).all()
    assert (eta >= 0).all()
    # Force sign agreement at argmax|m|: eta is maximal there and reaches 1 + lam_k (up to eps).
    top = m.abs().argmax()
    g[top] = m[top].sign()
    eta = adarem_multiplier(g, m, lam_k, 1e-8)
    assert eta.argmax() == top
    assert eta[top].item() == pytest.approx(1 + lam_k, abs=1e-6)


@pytest.mark.parametrize("foreach", [False, True])
def test_scale_invariance(foreach: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    theta0 = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    grads = [torch.randn(6, 3, generator=gen, dtype=torch.float64) for _ in range(4)]
    c = 3.7
    base = _run(lambda ps: AdaRem(ps, lr=0.05, foreach=foreach), theta0, grads)
    scaled = _run(lambda ps: AdaRem(ps, lr=0.05, foreach=foreach), theta0, [c * g for g in grads])
    prev_b, prev_s = theta0, theta0
    for tb, ts in zip(base, scaled):
        torch.testing.assert_close(ts - prev_s, c * (tb - prev_b))
        prev_b, prev_s = tb, ts


@pytest.mark.parametrize("foreach", [False, True])
def test_lam_zero_is_sgd(foreach: bool) -> None:
    model_a, model_b = _mlp(), _mlp()
    _train(model_a, AdaRem(model_a.parameters(), lr=0.05, lam=0.0, weight_decay=1e-3, foreach=foreach), 10)
    _train(model_b, torch.optim.SGD(model_b.parameters(), lr=0.05, weight_decay=1e-3), 10)
    for pa, pb in zip(model_a.parameters(), model_b.parameters()):
        torch.testing.assert_close(pa, pb)


@pytest.mark.parametrize("foreach", [False, True])
def test_zero_momentum_no_nan(foreach: bool) -> None:
    p = torch.zeros(4, requires_grad=True)
    opt = AdaRem([p], lr=0.1, foreach=foreach)
    for _ in range(3):
        p.grad = torch.zeros(4)
        opt.step()
    assert torch.isfinite(p).all() and torch.isfinite(opt.state[p]["m"]).all()
    p.grad = torch.ones(4)
    opt.step()
    torch.testing.assert_close(p.detach(), torch.full((4,), -0.1))


@pytest.mark.parametrize("foreach", [False, True])
def test_state_dict_round_trip(foreach: bool) -> None:
    model = _mlp()
    opt = AdaRem(model.parameters(), lr=0.05, weight_decay=1e-4, foreach=foreach)
    _train(model, opt, 3)
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    resumed_model = copy.deepcopy(model)
    resumed = AdaRem(resumed_model.parameters(), lr=0.05, weight_decay=1e-4, foreach=foreach)
    resumed.load_state_dict(saved)
    assert [resumed.state[p]["step"] for p in resumed_model.parameters()] == [3] * 6
    _train(model, opt, 3, seed=2)
    _train(resumed_model, resumed, 3, seed=2)
    for pa, pb in zip(model.parameters(), resumed_model.parameters()):
        assert torch.equal(pa, pb)


@pytest.mark.parametrize("options", [{}, {"step_on_momentum": True}, {"max_scope": "global"}, {"weight_decay": 0.01}])
def test_foreach_matches_loop(options: Any) -> None:
    model_a, model_b = _mlp(), _mlp()
    _train(model_a, AdaRem(model_a.parameters(), lr=0.05, foreach=True, **options), 20)
    _train(model_b, AdaRem(model_b.parameters(), lr=0.05, foreach=False, **options), 20)
    for pa, pb in zip(model_a.parameters(), model_b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


def test_max_abs_reductions_agree() -> None:
    gen = torch.Generator().manual_seed(0)
    ms = [torch.randn(7, 5, generator=gen), -torch.rand(3, generator=gen) - 2.0, torch.zeros(4),
          torch.randn(6, generator=gen, dtype=torch.float64), torch.randn(2, 2, generator=gen).half()]
    expected = [m.double().abs().max().item() for m in ms]
    assert _max_abs_list(ms, fused=False) == pytest.approx(expected, rel=1e-3)
    assert _max_abs_list(ms, fused=True) == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("foreach", [False, True])
def test_sparse_grad_raises(foreach: bool) -> None:
    emb = nn.Embedding(10, 4, sparse=True)
    opt = AdaRem(emb.parameters(), lr=0.1, foreach=foreach)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()


@pytest.mark.parametrize("foreach", [False, True])
def test_step_on_momentum(foreach: bool) -> None:
    theta0 = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    g1 = torch.tensor([0.5, -1.0, 0.25], dtype=torch.float64)
    g2 = torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    opt = lambda ps: AdaRem(ps, lr=0.1, step_on_momentum=True, foreach=foreach)  # noqa: E731
    theta1, theta2 = _run(opt, theta0, [g1, g2])
    m1 = 0.1 * g1
    torch.testing.assert_close(theta1, theta0 - 0.1 * m1)
    # eta from the old m and sign(g2) (same as the spec example), applied to the new m.
    eta = torch.tensor([1.4995, 0.001, 0.75025], dtype=torch.float64)
    torch.testing.assert_close(theta2, theta1 - 0.1 * eta * (0.9 * m1 + 0.1 * g2), atol=1e-7, rtol=0)


@pytest.mark.parametrize("foreach", [False, True])
def test_max_scope_global(foreach: bool) -> None:
    a0, b0 = torch.tensor([1.0, 1.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    a, b = a0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
    opt = AdaRem([a, b], lr=1.0, lam=0.5, max_scope="global", foreach=foreach)
    a.grad, b.grad = torch.tensor([1.0, 0.5], dtype=torch.float64), torch.tensor([4.0], dtype=torch.float64)
    opt.step()  # m_a = [0.1, 0.05], m_b = [0.4]: the global max is 0.4, not each tensor's own max
    a.grad, b.grad = torch.ones(2, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    a1, b1 = a.detach().clone(), b.detach().clone()
    opt.step()
    torch.testing.assert_close(a1 - a.detach(), 1 + 0.5 * torch.tensor([0.25, 0.125], dtype=torch.float64))
    torch.testing.assert_close(b1 - b.detach(), torch.tensor([1.5], dtype=torch.float64))


def test_lam_unit_epoch() -> None:
    theta0, g = torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    p = theta0.clone().requires_grad_(True)
    opt = AdaRem([p], lr=0.1, lam=0.5, lam_unit="epoch")
    steps = []
    for _ in range(3):
        before = p.detach().clone()
        p.grad = g.clone()
        opt.step()
        steps.append((before - p.detach()).item())
    assert steps[1:] == pytest.approx([0.2, 0.2])  # k stays 0 within the epoch: eta = 1 + 1 * b = 2
    opt.epoch_step()
    before = p.detach().clone()
    p.grad = g.clone()
    opt.step()
    assert (before - p.detach()).item() == pytest.approx(0.15)  # k = 1: eta = 1 + 0.5
    assert opt.state[p]["step"] == 4 and opt.param_groups[0]["epoch"] == 1


@pytest.mark.parametrize("bad", [{"beta": 1.0}, {"lam": 1.5}, {"eps": 0.0}, {"max_scope": "layer"},
                                 {"lam_unit": "iter"}, {"weight_decay": -1.0}])
def test_invalid_hparams(bad: Any) -> None:
    with pytest.raises(ValueError):
        AdaRem([torch.zeros(1, requires_grad=True)], lr=0.1, **bad)

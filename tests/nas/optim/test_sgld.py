"""Tests for the SGLD optimizer: closed-form step, noise variance and resumable noise stream."""
from __future__ import annotations

import io
import math
from typing import List

import pytest
import torch

from nas.optim import SGLD


def _steps(opt: SGLD, p: torch.Tensor, grads: List[torch.Tensor]) -> List[torch.Tensor]:
    """Return the parameter after each step with the given gradients."""
    out = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        out.append(p.detach().clone())
    return out


def test_closed_form_step() -> None:
    lr, temp, n = 0.01, 0.5, 100
    w0, g = torch.randn(7, 3), torch.randn(7, 3)
    w = w0.clone().requires_grad_(True)
    opt = SGLD([w], lr, temperature=temp, num_data=n, generator=torch.Generator().manual_seed(123))
    (w1,) = _steps(opt, w, [g])
    xi = torch.randn(7, 3, generator=torch.Generator().manual_seed(123))
    torch.testing.assert_close(w1, w0 - lr * g + math.sqrt(2 * lr * temp / n) * xi)


def test_prior_precision_term() -> None:
    lr, n, prec = 0.1, 10, 2.0
    w0, g = torch.randn(5), torch.randn(5)
    w = w0.clone().requires_grad_(True)
    opt = SGLD([w], lr, temperature=0.0, num_data=n, prior_precision=prec, generator=torch.Generator().manual_seed(0))
    (w1,) = _steps(opt, w, [g])
    torch.testing.assert_close(w1, w0 - lr * (g + prec / n * w0))


def test_noise_variance() -> None:
    lr, temp, n = 0.02, 2.0, 50
    w = torch.zeros(200_000, requires_grad=True)
    opt = SGLD([w], lr, temperature=temp, num_data=n, generator=torch.Generator().manual_seed(7))
    (w1,) = _steps(opt, w, [torch.zeros(200_000)])
    expected = 2 * lr * temp / n
    assert abs(w1.var().item() - expected) / expected < 0.05


def test_state_dict_round_trip_reproduces_noise() -> None:
    grads = [torch.randn(4, 4) for _ in range(6)]
    w = torch.randn(4, 4).requires_grad_(True)
    opt = SGLD([w], 0.05, num_data=20, generator=torch.Generator().manual_seed(3))
    _steps(opt, w, grads[:3])
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    w_resumed = w.detach().clone().requires_grad_(True)
    resumed = SGLD([w_resumed], 0.05, num_data=20, generator=torch.Generator().manual_seed(999))
    resumed.load_state_dict(saved)
    expected = _steps(opt, w, grads[3:])
    got = _steps(resumed, w_resumed, grads[3:])
    for a, b in zip(expected, got):
        assert torch.equal(a, b)


def test_default_generator_follows_manual_seed() -> None:
    runs = []
    for _ in range(2):
        torch.manual_seed(11)
        w = torch.zeros(10, requires_grad=True)
        runs.append(_steps(SGLD([w], 0.1, num_data=5), w, [torch.zeros(10)])[0])
    assert torch.equal(runs[0], runs[1]) and runs[0].abs().sum() > 0


def test_load_without_generator_state_raises() -> None:
    w = torch.zeros(2, requires_grad=True)
    opt = SGLD([w], 0.1, num_data=5)
    with pytest.raises(KeyError):
        opt.load_state_dict(torch.optim.SGD([w], lr=0.1).state_dict())


def test_sparse_grad_raises() -> None:
    emb = torch.nn.Embedding(10, 4, sparse=True)
    opt = SGLD(emb.parameters(), 0.1, num_data=5)
    emb(torch.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()


@pytest.mark.parametrize("bad", [{"num_data": 0}, {"num_data": 2.5}, {"temperature": -1.0}, {"prior_precision": -1.0}])
def test_invalid_hparams(bad: dict) -> None:
    kwargs = {"num_data": 10, **bad}
    with pytest.raises(ValueError):
        SGLD([torch.zeros(1, requires_grad=True)], 0.1, **kwargs)

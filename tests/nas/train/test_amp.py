"""The CUDA branches of the step options, forced on the CPU: bf16/fp16 autocast, GradScaler, channels_last,
gradient accumulation, activation checkpointing, pinned loaders, deterministic kernels."""
import copy
import random

import pytest
import torch
import torch.nn.functional as F

import nas
from nas.errors import NasError
from nas.nn.checkpointing import checkpoint_blocks
from nas.search.one_shot import accuracy, train_steps
from nas.train.amp import (amp_dtype, autocast, configure_backends, grad_scaler, loader_options, to_channels_last,
                           to_device)
from nas.train.loop import MeanLoss, StepOptions, train_step

CPU = torch.device("cpu")
CUDA = torch.device("cuda")  # a device value only: nothing is allocated on it here


def _st_model(classes=4):
    torch.manual_seed(0)
    from search_spaces.st_topo.model import build_model

    return build_model(nas.get_space("st_topo").cheapest(), num_classes=classes, width=0.25, stem_stride=1,
                       dropout=0.0)


def _batch(n=4, side=8, classes=4):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, side, side, generator=g), torch.randint(0, classes, (n,), generator=g)


def test_amp_modes_resolve_per_device():
    assert amp_dtype("auto", CPU) is None  # autocast on the CPU is slower than float32: off unless asked
    assert amp_dtype("off", CUDA) is None
    assert amp_dtype("bf16", CPU) == torch.bfloat16 and amp_dtype("fp16", CPU) == torch.float16
    with pytest.raises(NasError, match="amp must be"):
        amp_dtype("fp8", CPU)


def test_grad_scaler_is_on_for_fp16_only():
    assert grad_scaler(CPU, torch.float16).is_enabled()
    assert not grad_scaler(CPU, torch.bfloat16).is_enabled() and not grad_scaler(CPU, None).is_enabled()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_retrain_step_under_cpu_autocast_with_channels_last(dtype):
    model, (x, y) = to_channels_last(_st_model()), _batch()
    opts = StepOptions(device=CPU, amp_dtype=dtype, channels_last=True)
    scaler = grad_scaler(CPU, dtype)
    with autocast(CPU, dtype):
        assert model(to_channels_last(x)).dtype == dtype  # the convs really ran in reduced precision
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    before = [p.detach().clone() for p in model.parameters()]
    loss = train_step(model, to_channels_last(x), y, MeanLoss(F.cross_entropy), opt, scaler, opts)
    assert torch.isfinite(loss) and loss.dtype == torch.float32
    stepped = any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert model.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    if dtype == torch.float16:  # the scaler either stepped or skipped an overflowing step and lowered its scale
        assert stepped or scaler.get_scale() < 2.0 ** 16
    else:
        assert stepped


def test_grad_accum_gives_the_batch_gradient():
    model, (x, y) = _st_model(), _batch(n=8)
    model.eval()  # BatchNorm on running statistics: the micro-batches see the same normalisation as the batch
    grads = []
    for accum in (1, 2, 4, 16):  # 16 > the batch: the empty micro-batches are left out, not averaged as NaN
        model.zero_grad(set_to_none=True)
        opts = StepOptions(device=CPU, grad_accum=accum)
        loss = MeanLoss(F.cross_entropy)(model, x, y, grad_scaler(CPU, None), opts)
        grads.append((float(loss), [p.grad.clone() for p in model.parameters()]))
    for loss, g in grads[1:]:
        assert loss == pytest.approx(grads[0][0], rel=1e-5)
        for a, b in zip(grads[0][1], g):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("space", [pytest.param("st_topo", marks=pytest.mark.slow), "pv_st_tiny"])
def test_activation_checkpointing_is_exact(space):
    torch.manual_seed(0)
    if space == "st_topo":
        plain, (x, y) = _st_model(), _batch()
    else:
        from search_spaces.pv_st.model import build_model

        plain = build_model(nas.get_space(space).default(), num_classes=4)
        x, y = torch.randn(2, 3, 2, 16, 16), torch.tensor([1, 3])
    ckpt = copy.deepcopy(plain)
    assert checkpoint_blocks(ckpt) > 0
    out = []
    for net in (plain, ckpt):
        net.train()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        out.append((loss.detach(), [p.grad for p in net.parameters()], net.state_dict()))
    assert torch.equal(out[0][0], out[1][0])
    assert all(torch.equal(a, b) for a, b in zip(out[0][1], out[1][1]))
    assert all(torch.equal(v, out[1][2][k]) for k, v in out[0][2].items())  # BN statistics updated once


@pytest.mark.slow
def test_supernet_steps_and_scoring_under_cpu_autocast():
    torch.manual_seed(0)
    sn = nas.create_supernet("st_topo", num_classes=4, width=0.25, stem_stride=1)
    x, y = _batch(n=4)
    opt = torch.optim.SGD(sn.parameters(), lr=0.05)
    scaler = grad_scaler(CPU, torch.float16)
    stats = train_steps(sn, iter([(x, y)] * 2), opt, None, random.Random(0), amp=torch.float16, scaler=scaler)
    assert stats["steps"] == 2 and stats["loss"] == stats["loss"]  # finite
    with autocast(CPU, torch.bfloat16):
        acc = accuracy(sn, [(x, y)])
    assert 0.0 <= acc <= 1.0


@pytest.mark.slow
def test_sharded_scoring_of_cpu_copies_equals_local():
    from nas.distributed.executor import _cpu, _score_chunk
    from nas.search.one_shot import score_genotypes

    torch.manual_seed(0)
    sn = nas.create_supernet("st_topo", num_classes=4, width=0.25, stem_stride=1)
    x, y = _batch(n=4)
    gs = [sn.space.sample(random.Random(i)) for i in range(2)]
    snaps = [copy.deepcopy(sn.state_dict())]
    local = score_genotypes(sn, gs, snaps, [x], [(x, y)])
    assert _score_chunk(gs, _cpu(sn), _cpu(snaps), _cpu([x]), _cpu([(x, y)]), "auto", True) == local


def test_loader_and_copy_options():
    assert loader_options(CUDA, 0) == {"pin_memory": True}
    assert loader_options(CPU, 2)["pin_memory"] is False
    t = torch.ones(2)
    assert to_device(t, CPU) is t


def test_deterministic_switches_cudnn_and_is_a_no_op_on_cpu():
    saved = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
             torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        configure_backends(CPU, True)
        assert torch.backends.cudnn.deterministic == saved[1]
        configure_backends(CUDA, True)
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert torch.are_deterministic_algorithms_enabled()
        configure_backends(CUDA, False)
        assert torch.backends.cudnn.benchmark
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[0], saved[1]
        torch.use_deterministic_algorithms(saved[2], warn_only=saved[3])


@pytest.mark.slow
def test_compile_option_trains_a_tiny_model():
    from nas.train.amp import maybe_compile

    model, (x, y) = _st_model(), _batch()
    compiled = maybe_compile(model, True)
    ref = model(x)
    torch.testing.assert_close(compiled(x), ref, rtol=1e-4, atol=1e-5)
    F.cross_entropy(compiled(x), y).backward()
    assert model.stem[0].weight.grad is not None


def test_amp_key_reads_older_booleans_and_refuses_unknown_values():
    from nas.config import build_config, from_dict
    from nas.config.retrain import RetrainConfig
    from nas.config.search import search_config

    assert build_config(RetrainConfig, opts=["execution.amp=true"]).execution.amp == "auto"
    assert build_config(RetrainConfig, opts=["execution.amp=off"]).execution.amp == "off"  # YAML: a bare off is false
    assert build_config(RetrainConfig, opts=["execution.amp=fp16"]).execution.amp == "fp16"
    assert from_dict(RetrainConfig, {"amp": True, "device": "cpu"}).execution.amp == "auto"  # a stored older run
    with pytest.raises(NasError, match="fp16 does not apply to the differentiable search"):
        search_config("pv_st_tiny", opts=["execution.amp=fp16"])
    with pytest.raises(NasError, match="grad_accum"):
        build_config(RetrainConfig, opts=["batch_size=10", "grad_accum=3"])

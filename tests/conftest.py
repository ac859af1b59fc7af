"""Shared pytest setup: a fixed torch seed per test, and torch threads pinned for modules that ask for it."""
import os

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(autouse=True)
def _seed_torch():
    import torch

    torch.manual_seed(0)
    yield


@pytest.fixture(scope="module", autouse=True)
def _torch_threads(request):
    """Pin torch to ``TORCH_THREADS`` threads in modules that set it.

    Training tests set 1: on a shared 2-core machine, spinning OpenMP threads waiting for a core that another
    process (a Ray worker, a CLI subprocess) holds make steps 10x slower.
    """
    import torch

    threads = getattr(request.module, "TORCH_THREADS", None)
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    yield
    torch.set_num_threads(before)


def randomize_bn(module, seed: int = 0):
    """Give every BatchNorm random affine parameters and statistics, in place; return the module.

    Fresh supernets zero-initialise the last BN of each residual branch, which hides a copy bug on any
    branch or residual edge from an equality test; after this every edge contributes.
    """
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                if m.affine:
                    m.weight.copy_(0.5 + torch.rand(n, generator=g))
                    m.bias.copy_(0.1 * torch.randn(n, generator=g))
                if m.track_running_stats:
                    m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                    m.running_var.copy_(0.5 + torch.rand(n, generator=g))
    return module


@pytest.fixture
def randomized():
    """The :func:`randomize_bn` helper, for tests of weight sharing."""
    return randomize_bn

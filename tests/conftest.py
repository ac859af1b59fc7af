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

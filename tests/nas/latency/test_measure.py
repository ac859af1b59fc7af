"""Timing a module: the figure is a median with an IQR, and threads are set and restored."""
import pytest
import torch

from nas.errors import NasError
from nas.latency.measure import MeasureSpec, measure

FAST = MeasureSpec(warmup=1, reps=5, min_rep_ms=0.2)


def test_measure_orders_work_and_restores_threads():
    before = torch.get_num_threads()
    small = measure(torch.nn.Conv2d(8, 8, 1), torch.randn(1, 8, 8, 8), torch.device("cpu"), FAST, 1)
    big = measure(torch.nn.Conv2d(64, 64, 3, padding=1), torch.randn(1, 64, 64, 64), torch.device("cpu"), FAST, 1)
    assert torch.get_num_threads() == before
    assert 0 < small.median_ms < big.median_ms and small.iqr_ms >= 0 and small.threads == 1 and small.reps == 5


@pytest.mark.parametrize("spec", [MeasureSpec(warmup=1, reps=3, script=True, channels_last=True),
                                  MeasureSpec(warmup=1, reps=3, clock="cpu")])
def test_script_channels_last_and_cpu_clock(spec):
    t = measure(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU()), torch.randn(1, 3, 16, 16),
                torch.device("cpu"), spec, 1)
    assert t.median_ms > 0


def test_bad_spec():
    with pytest.raises(NasError, match="clock must be wall or cpu"):
        MeasureSpec(clock="sundial")

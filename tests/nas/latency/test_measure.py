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


def test_noise_check_flags_a_wide_interquartile_range():
    from nas.latency.measure import NOISE_LIMIT, Timing

    steady, busy = Timing(10.0, 0.5, 30, 1), Timing(10.0, 10.0 * NOISE_LIMIT + 0.1, 30, 1)
    assert not steady.noisy and busy.noisy and steady.to_dict()["noisy"] is False
    assert Timing(0.0, 1.0, 30, 1).noise == 0.0  # a zero median is not a division error


def test_checked_timing_is_a_real_timing():
    import torch

    from nas.latency.measure import MeasureSpec, measure_checked

    t = measure_checked(torch.nn.Linear(8, 8), torch.randn(1, 8), torch.device("cpu"),
                        MeasureSpec(warmup=1, reps=5, clock="cpu"), 1)
    assert t.median_ms > 0 and len(t.samples_ms) == 5 and isinstance(t.noisy, bool)

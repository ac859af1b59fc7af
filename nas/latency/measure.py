"""Time a module's forward pass: warm-up, then the median and interquartile range of repeated runs."""
from __future__ import annotations

import contextlib
import math
import statistics
import time
import warnings
from dataclasses import dataclass
from typing import Iterator, Sequence, Tuple

__all__ = ["Timing", "MeasureSpec", "measure", "measure_checked", "NOISE_LIMIT", "threads", "device_name", "prepare",
           "all_threads"]

# The noise check of every timing (our reading): a timing whose interquartile range exceeds this share of its
# median is too noisy to repeat; it is taken once more, and if it stays that noisy the figure says so.
NOISE_LIMIT = 0.10


@dataclass(frozen=True)
class MeasureSpec:
    """How to time: repetitions after warm-up, the least time one repetition covers and the model form."""

    warmup: int = 10  # untimed runs first (allocator, oneDNN primitive caches, TorchScript profiling passes)
    reps: int = 30  # timed repetitions; the figure is their median
    min_rep_ms: float = 2.0  # a repetition loops the forward until it spans this long (timer resolution)
    channels_last: bool = False  # memory format of the input and weights (4-D and 5-D tensors)
    script: bool = False  # time the TorchScript export (torch.jit.script) instead of the eager module
    clock: str = "wall"  # wall: elapsed time (what a deployment sees); cpu: CPU time of the calling thread (see below)

    def __post_init__(self) -> None:
        from nas.errors import NasError

        if self.clock not in ("wall", "cpu"):
            raise NasError(f"clock must be wall or cpu, got {str(self.clock)[:20]!r}")
        if self.warmup < 0 or self.reps < 1 or self.min_rep_ms < 0:
            raise NasError("warm-up must be >= 0, reps >= 1 and min_rep_ms >= 0")


@dataclass(frozen=True)
class Timing:
    """A latency figure of one forward pass, in milliseconds."""

    median_ms: float
    iqr_ms: float
    reps: int
    threads: int
    samples_ms: Tuple[float, ...] = ()  # each repetition's time, from which the median and IQR recompute

    @property
    def noise(self) -> float:
        """Return the interquartile range as a share of the median (0 for a zero median)."""
        return self.iqr_ms / self.median_ms if self.median_ms > 0 else 0.0

    @property
    def noisy(self) -> bool:
        """Return whether the timing fails the noise check (``NOISE_LIMIT``)."""
        return self.noise > NOISE_LIMIT

    def to_dict(self) -> dict:
        """Return the plain JSON form."""
        return {"median_ms": self.median_ms, "iqr_ms": self.iqr_ms, "reps": self.reps, "threads": self.threads,
                "noisy": self.noisy}


def all_threads() -> int:
    """Return the number of threads torch uses by default on this machine (its cores)."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``, restoring the previous count after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def device_name(device) -> str:
    """Return a readable name of ``device``: the GPU's model, or the CPU's model from /proc/cpuinfo."""
    import platform

    import torch

    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return "cpu: " + line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"cpu: {platform.processor() or platform.machine()}"


def prepare(module, example, device, spec: MeasureSpec):
    """Return ``(module, example)`` in eval mode on ``device``, in the spec's memory format and form."""
    import torch

    module = module.eval().to(device)
    example = example.to(device)
    if spec.channels_last and example.dim() in (4, 5):
        fmt = torch.channels_last if example.dim() == 4 else torch.channels_last_3d
        module = module.to(memory_format=fmt)
        example = example.contiguous(memory_format=fmt)
    if spec.script:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.freeze(torch.jit.script(module))
    return module, example


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_once(module, example, device, loops: int, clock: str = "wall") -> float:
    """Return the mean time in ms of ``loops`` forwards.

    The ``cpu`` clock (CPU time of the calling thread) leaves out the time the thread waits for a core, so it
    stays steady on a machine shared with other jobs. At one thread torch runs the forward on the calling
    thread, so on an idle CPU it equals wall time; with several threads it misses the workers' share, so use
    it at one thread only. (Process CPU time would also count idle OpenMP workers spinning after earlier
    multi-threaded work in the same process.)
    """
    now = time.thread_time if clock == "cpu" else time.perf_counter
    _sync(device)
    start = now()
    for _ in range(loops):
        module(example)
    _sync(device)
    return (now() - start) * 1e3 / loops


def _iqr(values: Sequence[float]) -> float:
    if len(values) < 4:
        return 0.0
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[2] - q[0]


def measure(module, example, device, spec: MeasureSpec, n_threads: int) -> Timing:
    """Time ``module(example)`` on ``device`` with ``n_threads`` CPU threads: median and IQR over ``spec.reps``.

    Each repetition loops the forward enough times to span ``spec.min_rep_ms``, so microsecond-scale blocks
    are not lost in timer resolution; the figure is still the time of one forward.
    """
    import torch

    with threads(n_threads), torch.inference_mode():
        module, example = prepare(module, example, device, spec)
        for _ in range(spec.warmup):
            module(example)
        first = _time_once(module, example, device, 1)
        loops = max(1, math.ceil(spec.min_rep_ms / max(first, 1e-3)))
        times = [_time_once(module, example, device, loops, spec.clock) for _ in range(spec.reps)]
    return Timing(statistics.median(times), _iqr(times), spec.reps, n_threads, tuple(times))


def measure_checked(module, example, device, spec: MeasureSpec, n_threads: int) -> Timing:
    """``measure`` with the noise check: a noisy timing is taken once more and the steadier of the two kept (its
    ``noisy`` still says whether it passed). The one protocol of ``nas-profile`` and ``nas-derive --latency``; the
    search's final check has its own, stricter rule over interleaved rounds (``nas.latency.verify``)."""
    first = measure(module, example, device, spec, n_threads)
    if not first.noisy:
        return first
    second = measure(module, example, device, spec, n_threads)
    return min(first, second, key=lambda t: t.noise)

"""Executors: run a function over items locally or as Ray tasks, with shared read-only inputs put once.

Strategies and tests use :class:`LocalExecutor`; :class:`RayExecutor` runs the same calls as Ray tasks. Shared
inputs go through :meth:`Executor.put` once (``ray.put`` on Ray) and are passed as handles to every call.

Example:
    >>> ex = LocalExecutor()
    >>> offset = ex.put(10)
    >>> ex.map(lambda chunk, off: [x + off for x in chunk], [[1, 2], [3]], offset)
    [[11, 12], [13]]
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Protocol, Sequence, runtime_checkable

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "ShardedScorer", "split"]


@runtime_checkable
class Executor(Protocol):
    """Runs ``fn(item, *shared)`` for each item and returns the results in item order."""

    workers: int  # how many calls may run at once

    def put(self, obj: Any) -> Any:
        """Return a handle to ``obj`` that ``map`` resolves in every call (stored once)."""

    def map(self, fn: Callable, items: Sequence[Any], *shared: Any) -> List[Any]:
        """Return ``[fn(item, *shared) for item in items]``, possibly computed in parallel."""

    def shutdown(self) -> None:
        """Release workers and stored objects."""


class LocalExecutor:
    """Runs everything in this process, one call after another."""

    workers = 1

    def put(self, obj: Any) -> Any:
        """Return ``obj`` itself."""
        return obj

    def map(self, fn: Callable, items: Sequence[Any], *shared: Any) -> List[Any]:
        """Call ``fn`` on each item in turn."""
        return [fn(item, *shared) for item in items]

    def shutdown(self) -> None:
        """Nothing to release."""


def _call_with_threads(fn: Callable, threads: int, item: Any, *shared: Any) -> Any:
    import torch

    from nas.errors import use_plain_warnings

    use_plain_warnings("nas ray task")
    torch.set_num_threads(threads)  # a 1-CPU task must not start one thread per core
    return fn(item, *shared)


class RayExecutor:
    """Runs each call as a Ray task holding ``cpus`` CPUs (and ``gpus`` GPUs); needs a running Ray cluster.

    Inside a Ray worker (e.g. a Tune trial) it uses that worker's cluster; in a driver, start or join one first
    with :func:`nas.distributed.cluster.ray_cluster` (so the temp folder and auth token are set up properly).
    """

    def __init__(self, workers: int, cpus: float = 1, gpus: float = 0):
        import ray

        if not ray.is_initialized():
            raise RuntimeError("RayExecutor needs a running Ray cluster: use nas.distributed.cluster.ray_cluster()")
        self.workers, self._cpus = int(workers), cpus
        self._remote = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=2)(_call_with_threads)
        self._refs: List[Any] = []

    def put(self, obj: Any) -> Any:
        """Store ``obj`` in the object store once; return its ObjectRef."""
        import ray

        ref = ray.put(obj)
        self._refs.append(ref)
        return ref

    def map(self, fn: Callable, items: Sequence[Any], *shared: Any) -> List[Any]:
        """Submit one task per item; top-level ObjectRef arguments are resolved by Ray in the worker."""
        import ray

        threads = max(1, int(self._cpus))
        return ray.get([self._remote.remote(fn, threads, item, *shared) for item in items])

    def shutdown(self) -> None:
        """Drop the stored objects (the cluster itself is left running)."""
        self._refs.clear()


def split(items: Sequence[Any], parts: int) -> List[List[Any]]:
    """Split ``items`` into at most ``parts`` contiguous, nearly equal, non-empty chunks (order kept)."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def _task_device():
    """Return the device of this Ray task: the first GPU Ray assigned it (``cuda:0`` once visible), else the CPU."""
    import ray
    import torch

    return torch.device("cuda:0" if ray.is_initialized() and ray.get_gpu_ids() else "cpu")


def _score_chunk(genotypes, supernet, snapshots, bn_batches, val, amp: str = "off",
                 portable: bool = False) -> List[List[float]]:
    from nas.search.one_shot import score_genotypes
    from nas.train.amp import amp_dtype, autocast, to_device

    device = _task_device() if portable else next(supernet.parameters()).device
    if portable and device.type != "cpu":  # the store holds CPU copies; a GPU task moves them once per call
        supernet = supernet.to(device)
        snapshots = [{k: to_device(v, device) for k, v in s.items()} for s in snapshots]
        bn_batches = [to_device(x, device) for x in bn_batches]
        val = [(to_device(x, device), to_device(y, device)) for x, y in val]
    with autocast(device, amp_dtype(amp, device)):
        return score_genotypes(supernet, genotypes, snapshots, bn_batches, val)


def _cpu(obj):
    """Return a CPU copy of a module, a state dict, a tensor or a list of them (a GPU driver's inputs)."""
    import copy

    import torch

    if isinstance(obj, torch.nn.Module):
        return copy.deepcopy(obj).cpu()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj.cpu() if isinstance(obj, torch.Tensor) else obj


class ShardedScorer:
    """A drop-in for :func:`nas.search.one_shot.score_genotypes` that spreads candidates over an executor.

    The supernet, weight snapshots and batches are put once per search (they do not change between
    generations) and every worker scores its share. Each candidate's score depends only on the candidate
    (BatchNorm is recalibrated from scratch per candidate), so the result equals local scoring.

    On Ray the store gets CPU copies, and each task scores on the GPU Ray assigned it (or the CPU), under
    the ``amp`` setting resolved for that device; a local executor scores where the supernet already is.
    """

    def __init__(self, executor: Executor, amp: str = "off"):
        self.executor, self.amp = executor, amp
        self.portable = not isinstance(executor, LocalExecutor)
        self._shared: Optional[tuple] = None
        self._key: Optional[tuple] = None

    def _handles(self, supernet, snapshots, bn_batches, val) -> tuple:
        key = (id(supernet), id(snapshots), id(bn_batches), id(val))
        if key != self._key:
            put = self.executor.put
            move = _cpu if self.portable else (lambda x: x)
            self._shared = (put(move(supernet)), put(move(list(snapshots))), put(move(list(bn_batches))),
                            put(move(list(val))), self.amp, self.portable)
            self._key = key
        return self._shared

    def __call__(self, supernet, genotypes, snapshots, bn_batches, val,
                 on_done: Optional[Callable[[], None]] = None) -> List[List[float]]:
        """Return, per genotype, its accuracy under each snapshot (same contract as ``score_genotypes``)."""
        shared = self._handles(supernet, snapshots, bn_batches, val)
        chunks = split(list(genotypes), self.executor.workers)
        per: List[List[float]] = [row for rows in self.executor.map(_score_chunk, chunks, *shared) for row in rows]
        if on_done is not None:
            for _ in range(len(per) * len(snapshots)):
                on_done()
        return per

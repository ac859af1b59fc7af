"""Multi-worker retraining with PyTorch DDP on Ray Train (gloo on CPU, nccl on GPU): the trainer's DDP backend.

``cfg.batch_size`` stays the *global* batch: each of the N workers trains on ``batch_size / N`` samples per
step, and the workers' slices of a step are exactly the samples a single-process ``nas.train.retrain`` run
uses in that step (same seeded permutation per epoch). DDP averages the gradients, so one step equals the
single-process step up to BatchNorm, whose batch statistics are computed per worker over ``batch_size / N``
samples (and float summation order). The one trainer (``nas.train.trainer.Trainer``) runs on every worker;
only rank 0 writes the ordinary run folder (``last.pt``, ``best.pt``, ``metrics.json``, ``tb/``) in the
single-process checkpoint format, so either path can ``--resume`` it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from nas.errors import NasError
from nas.train.backends import Backend, make_loader
from nas.utils.seeds import epoch_seed

__all__ = ["retrain_distributed", "global_batch_indices", "DdpBackend", "MAX_FAILURES"]

MAX_FAILURES = 1  # restarts of the DDP worker group after a worker or its node dies (--max-failures)


def global_batch_indices(n: int, batch_size: int, seed: int, epoch: int, rank: int, world: int) -> List[int]:
    """Return rank ``rank``'s share of the epoch's global batches, in step order.

    The permutation is the one ``DataLoader(shuffle=True, generator=g)`` draws in the local backend after
    seeding ``g`` with ``epoch_seed(seed, epoch)``; global batch k is ``perm[k*B:(k+1)*B]`` and rank r takes
    the r-th contiguous slice of ``B / world`` samples of it.
    """
    import torch

    gen = torch.Generator().manual_seed(epoch_seed(seed, epoch))
    torch.empty((), dtype=torch.int64).random_(generator=gen)  # the DataLoader iterator draws its base seed first
    perm = torch.randperm(n, generator=gen).tolist()
    per = batch_size // world
    return [perm[k * batch_size + rank * per + j] for k in range(n // batch_size) for j in range(per)]


class DdpBackend(Backend):
    """One Ray Train worker of a DDP run: its slice of every global batch, all-reduced losses, rank 0 writes."""

    name = "ray-train"

    def __init__(self, rank: int, world: int, device: Any):
        self.rank, self.world, self.device = rank, world, device

    def wrap(self, model):
        """Return ``model`` wrapped in DistributedDataParallel (one device per worker on GPU)."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def train_loader(self, ds, batch_size: int, workers: int, seed: int, epoch: int, gen):
        """Return this rank's ``batch_size``-sample slices of the epoch's global batches."""
        idx = global_batch_indices(len(ds), batch_size * self.world, seed, epoch, self.rank, self.world)
        return make_loader(ds, batch_size, workers, device=self.device, sampler=idx, drop_last=True)

    def mean(self, value: float) -> float:
        """Return the mean of ``value`` over the workers (an all-reduce on this worker's device: nccl takes no
        CPU tensors, gloo takes both)."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t) / self.world

    def report(self, row: Dict[str, Any]) -> None:
        """Report the row's numbers to Ray Train."""
        import ray.train

        ray.train.report({k: v for k, v in row.items() if isinstance(v, (int, float))})

    def extra(self) -> Dict[str, Any]:
        """Return the worker count, recorded in checkpoints and metrics.json."""
        return {"workers": self.world}


def _stdout_line(line: str) -> None:
    """Write one log line to the worker's stdout. Ray Train 2.60 patches ``print`` in its workers to log each
    call and also copy it to the wrapped stdout, so a plain ``print`` reached the driver twice."""
    import sys

    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _worker_loop(config: Dict[str, Any]) -> None:
    """The Ray Train loop each worker runs: the one trainer on the DDP backend."""
    import ray.train
    import ray.train.torch
    import torch

    from nas.spaces import load_genotype
    from nas.config import from_dict
    from nas.config.retrain import RetrainConfig
    from nas.distributed.cluster import check_shared, quiet_ray_logs
    from nas.errors import use_plain_warnings
    from nas.tasks import resolve_task
    from nas.train import checkpoint as ck
    from nas.train.retrain import init_hook
    from nas.train.trainer import Trainer

    use_plain_warnings("nas-retrain worker")
    quiet_ray_logs()
    torch.set_num_threads(max(1, int(config["threads"])))  # one thread per CPU the worker holds
    ctx = ray.train.get_context()
    cfg = from_dict(RetrainConfig, config["cfg"])
    g, out = load_genotype(config["genotype"]), Path(config["out"])
    check_shared(out / "config.yaml")  # written by the driver: a node without the run's storage stops here
    # A worker group that Ray Train restarts (a worker or its node died) continues from the run folder's last
    # checkpoint, as --resume would: a new run's folder holds last.pt only when an earlier attempt wrote it.
    resume = config["resume"] or (out / "last.pt").is_file()
    device = ray.train.torch.get_device()
    backend = DdpBackend(ctx.get_world_rank(), ctx.get_world_size(), device)
    log = _stdout_line if backend.writer else (lambda s: None)
    t = Trainer(resolve_task(cfg.task, g), cfg, g, out, device, backend, log,
                init=None if resume else init_hook(cfg, g, log))
    if resume:
        t.restore(ck.load_checkpoint(out / "last.pt"), out / "last.pt")
        log(f"resuming {out} at epoch {t.epoch + 1}/{cfg.epochs} (step {t.step})")
    t.fit(resume)


def retrain_distributed(cfg, genotype: Any, out_dir: Any, workers: int, resume: bool = False,
                        address: Optional[str] = None, cpus_per_worker: int = 1,
                        max_failures: int = MAX_FAILURES) -> Dict[str, Any]:
    """Retrain ``genotype`` with ``workers`` DDP workers on Ray Train; return the last epoch's metrics.

    When a worker (or the node it runs on) dies, Ray Train restarts the whole group, up to ``max_failures``
    times, and it continues from the run folder's ``last.pt``; the cluster must then have room for every
    worker again (spare CPUs, or a node that replaces the lost one).
    """
    from nas.config import to_dict
    from nas.distributed.cluster import ray_cluster, run_job_name
    from nas.train.retrain import open_run, prepare, write_start

    g, task = prepare(cfg, genotype)
    if workers < 1:
        raise NasError(f"--workers must be at least 1, got {workers}")
    if max_failures < 0:
        raise NasError(f"--max-failures must be >= 0, got {max_failures}")
    if cfg.batch_size % workers:
        raise NasError(f"batch_size {cfg.batch_size} is the global batch and must divide by --workers {workers}")
    if address:
        from nas.distributed.cluster import check_address

        check_address(address)  # an unreachable cluster fails before the run folder is touched
    out = Path(out_dir).resolve()
    run = open_run(out, resume, workers=workers, device="ray-train")
    if not resume:
        write_start(run, cfg, g, task, workers=workers, device="ray-train")
    config = {"cfg": to_dict(cfg), "genotype": str(g), "out": str(out), "resume": resume,
              "threads": cpus_per_worker, "max_failures": max_failures}
    with ray_cluster(address=address, job_name=run_job_name("nas-retrain", out)) as info:
        print(f"Ray Train: starting {workers} DDP workers ({cpus_per_worker} CPU each); each worker process "
              f"imports torch first, which takes seconds", flush=True)
        _fit(config, out, workers, cpus_per_worker, info)
    history = json.loads((out / "metrics.json").read_text())["epochs"]
    return history[-1] if history else {}


def _fit(config: Dict[str, Any], out: Path, workers: int, cpus: int, info) -> None:
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    use_gpu = info.gpus >= workers  # one GPU per worker with nccl; otherwise CPU workers with gloo
    if 0 < info.gpus < workers:
        print(f"note: {workers} workers but {info.gpus:g} GPUs in the cluster: training on CPU (gloo)")
    if not use_gpu and info.cpus < workers * cpus:
        raise NasError(f"--workers {workers} needs {workers * cpus} CPUs; the cluster has {info.cpus:g}")
    trainer = TorchTrainer(
        _worker_loop, train_loop_config=config,
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker={"CPU": cpus}),
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        run_config=RunConfig(name="ray_train", storage_path=str(out),
                             failure_config=FailureConfig(max_failures=config["max_failures"])))
    try:
        trainer.fit()
    except Exception as exc:  # Ray wraps worker errors in its own types; show the root cause on one line
        cause = exc.__cause__ or exc
        raise NasError(f"distributed retraining failed: {str(cause).strip().splitlines()[-1][:300]}") from None

"""Multi-worker retraining with PyTorch DDP on Ray Train (gloo on CPU, nccl on GPU).

``cfg.batch_size`` stays the *global* batch: each of the N workers trains on ``batch_size / N`` images per step,
and the workers' slices of a step are exactly the images a single-process ``nas.train.retrain`` run uses in
that step (same seeded permutation per epoch). DDP averages the gradients, so one step equals the
single-process step up to BatchNorm, whose batch statistics are computed per worker over ``batch_size / N``
images (and float summation order). Rank 0 writes the ordinary run folder (``last.pt``, ``best.pt``,
``metrics.json``, ``tb/``) in the single-process checkpoint format, so either path can ``--resume`` it.
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from nas.errors import NasError
from nas.train.retrain import TrainingParts

__all__ = ["retrain_distributed", "global_batch_indices"]


def global_batch_indices(n: int, batch_size: int, seed: int, epoch: int, rank: int, world: int) -> List[int]:
    """Return rank ``rank``'s share of the epoch's global batches, in step order.

    The permutation is the one ``DataLoader(shuffle=True, generator=g)`` draws in ``nas.train.retrain`` after
    seeding ``g`` with ``seed * 100_003 + epoch``; global batch k is ``perm[k*B:(k+1)*B]`` and rank r takes
    the r-th contiguous slice of ``B / world`` images of it.
    """
    import torch

    gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
    torch.empty((), dtype=torch.int64).random_(generator=gen)  # the DataLoader iterator draws its base seed first
    perm = torch.randperm(n, generator=gen).tolist()
    per = batch_size // world
    return [perm[k * batch_size + rank * per + j] for k in range(n // batch_size) for j in range(per)]


def _seed(cfg, epoch: int, rank: int) -> None:
    import numpy as np
    import torch

    s = cfg.seed * 100_003 + epoch
    random.seed(s + rank)
    np.random.seed((s + rank) % 2**32)
    torch.manual_seed(s + 7919 * rank)  # dropout and augmentation draws differ per worker, as they must


class _Worker(TrainingParts):
    """One DDP worker's model, optimizer, schedule and run state."""

    def __init__(self, config: Dict[str, Any]):
        import ray.train
        import ray.train.torch
        from torch.nn.parallel import DistributedDataParallel

        import nas
        from nas.config import from_dict
        from nas.config.retrain import RetrainConfig
        from nas.train.retrain import build_datasets, build_model, step_options

        ctx = ray.train.get_context()
        self.rank, self.world = ctx.get_world_rank(), ctx.get_world_size()
        self.cfg = cfg = from_dict(RetrainConfig, config["cfg"])
        self.g, self.out = nas.load_genotype(config["genotype"]), Path(config["out"])
        self.device = ray.train.torch.get_device()
        self.opts = step_options(cfg, self.device)
        self.train_ds, self.val_ds, classes = build_datasets(cfg, self.g)
        self.num_classes = cfg.model.num_classes or classes
        self.model = build_model(self.g, cfg, self.num_classes, self.device)  # seeded: same init on every rank
        ids = [self.device.index] if self.device.type == "cuda" else None
        self.ddp = DistributedDataParallel(self.model, device_ids=ids)
        self.setup_training()

    def state(self) -> Dict[str, Any]:
        """Return the checkpoint dict in the single-process ``nas-retrain`` format, plus the worker count."""
        return {**super().state(), "workers": self.world}

    def load(self, path: Path) -> None:
        """Restore model, optimizer, schedule and history from ``path`` (every rank reads it)."""
        from nas.train import checkpoint as ck

        self.restore_training(ck.load_checkpoint(path), path)

    def train_epoch(self) -> Dict[str, float]:
        """Train one epoch on this rank's slices of the global batches; return the all-reduced mean loss."""
        import torch
        import torch.distributed as dist
        from torch.utils.data import DataLoader

        from nas.train.loop import collate_batch, train_one_epoch

        cfg = self.cfg
        _seed(cfg, self.epoch, self.rank)
        idx = global_batch_indices(len(self.train_ds), cfg.batch_size, cfg.seed, self.epoch, self.rank, self.world)
        loader = DataLoader(self.train_ds, batch_size=cfg.batch_size // self.world, sampler=idx, drop_last=True,
                            num_workers=cfg.data.workers, collate_fn=collate_batch)
        stats = train_one_epoch(self.ddp, loader, self.optimizer, self.scheduler, self.loss_fn, self.opts,
                                self.scaler, self.ema)
        loss = torch.tensor([stats["train_loss"]], dtype=torch.float64)
        dist.all_reduce(loss)
        stats["train_loss"] = float(loss) / self.world
        self.step += self.steps_per_epoch
        return stats


def _finish_epoch(w: _Worker, row: Dict[str, Any], writer) -> None:
    from nas.train.retrain import write_scalars
    from nas.utils.io import atomic_write_json

    w.save_epoch(row)
    atomic_write_json(w.out / "metrics.json", {"genotype": str(w.g), "workers": w.world, "epochs": w.history})
    write_scalars(writer, row)


def _worker_loop(config: Dict[str, Any]) -> None:
    """The Ray Train loop each worker runs."""
    import ray.train
    import torch

    torch.set_num_threads(max(1, int(config["threads"])))  # one thread per CPU the worker holds
    w = _Worker(config)
    if config["resume"]:
        w.load(w.out / "last.pt")
    writer = None
    if w.rank == 0:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(w.out / "tb"), purge_step=w.step + 1 if config["resume"] else None)
    while w.epoch < w.cfg.epochs:
        start = time.perf_counter()
        train = w.train_epoch()
        val = w.validate() if w.rank == 0 else {}
        row = {"epoch": w.epoch + 1, "step": w.step, "train_loss": train["train_loss"], **val, "lr": train["lr"],
               "train_skipped": train["skipped"], "seconds": time.perf_counter() - start}
        if w.rank == 0:
            _finish_epoch(w, row, writer)
            print(f"epoch {row['epoch']}/{w.cfg.epochs} train loss {row['train_loss']:.4f} "
                  f"val loss {row['val_loss']:.4f} top1 {row['top1']:.2f} ({w.world} workers)")
        else:
            w.epoch += 1
        ray.train.report({k: v for k, v in row.items() if isinstance(v, (int, float))})
    if writer is not None:
        writer.close()


def _start_run(cfg, g, out: Path, workers: int) -> None:
    import nas
    from nas.config import dump_config
    from nas.train.retrain import write_meta

    out.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, out / "config.yaml")
    nas.save_genotype(g, out / "genotype.yaml")
    write_meta(out / "meta.json", seed=cfg.seed, workers=workers, device="ray-train")


def retrain_distributed(cfg, genotype: Any, out_dir: Any, workers: int, resume: bool = False,
                        address: Optional[str] = None, cpus_per_worker: int = 1) -> Dict[str, Any]:
    """Retrain ``genotype`` with ``workers`` DDP workers on Ray Train; return the last epoch's metrics."""
    import nas
    from nas.config import to_dict
    from nas.distributed.cluster import ray_cluster

    g = nas.load_genotype(genotype)
    if workers < 1:
        raise NasError(f"--workers must be at least 1, got {workers}")
    if cfg.batch_size % workers:
        raise NasError(f"batch_size {cfg.batch_size} is the global batch and must divide by --workers {workers}")
    out = Path(out_dir).resolve()
    if resume and not (out / "last.pt").is_file():
        raise NasError(f"--resume {out}: no last.pt")
    if not resume:
        _start_run(cfg, g, out, workers)
    config = {"cfg": to_dict(cfg), "genotype": str(g), "out": str(out), "resume": resume,
              "threads": cpus_per_worker}
    with ray_cluster(address=address) as info:
        _fit(config, out, workers, cpus_per_worker, info)
    history = json.loads((out / "metrics.json").read_text())["epochs"]
    return history[-1] if history else {}


def _fit(config: Dict[str, Any], out: Path, workers: int, cpus: int, info) -> None:
    from ray.train import RunConfig, ScalingConfig
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
        run_config=RunConfig(name="ray_train", storage_path=str(out)))
    try:
        trainer.fit()
    except Exception as exc:  # Ray wraps worker errors in its own types; show the root cause on one line
        cause = exc.__cause__ or exc
        raise NasError(f"distributed retraining failed: {str(cause).strip().splitlines()[-1][:300]}") from None

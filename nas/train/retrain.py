"""Retrain a derived architecture from scratch: data, model, optimizer, schedule, checkpoints and metrics."""
from __future__ import annotations

import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

import nas
from nas.config import dump_config, from_dict, to_dict
from nas.config.retrain import OptimConfig, RetrainConfig
from nas.core.genotype import Genotype
from nas.data.folders import warn_skipped
from nas.errors import NasError
from nas.optim import AdaRem, WarmupCosine, create_optimizer, param_groups_weight_decay
from nas.train import checkpoint as ck
from nas.train.loop import ModelEma, StepOptions, collate_batch, evaluate, train_one_epoch
from nas.utils.io import atomic_write_json

__all__ = ["retrain", "evaluate_checkpoint", "run_config", "build_datasets", "write_meta", "optimizer_kwargs",
           "step_options", "write_scalars", "TrainingParts"]

Log = Callable[[str], None]


def optimizer_kwargs(cfg: OptimConfig) -> Dict[str, Any]:
    """Map the optimizer config to the keyword arguments of ``create_optimizer(cfg.name, ...)``."""
    if cfg.name == "sgd":
        return {"lr": cfg.lr, "momentum": cfg.momentum, "nesterov": cfg.nesterov}
    if cfg.name in ("adam", "adamw"):
        return {"lr": cfg.lr, "betas": (cfg.beta1, cfg.beta2), "eps": cfg.eps}
    return {"lr": cfg.lr, "beta": cfg.adarem_beta, "lam": cfg.adarem_lam, "eps": cfg.eps,
            "lam_unit": cfg.adarem_lam_unit, "step_on_momentum": cfg.adarem_step_on_momentum}


def _build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    if cfg.no_decay_1d:
        params = param_groups_weight_decay(model, cfg.weight_decay)
    else:
        params = [{"params": [p for p in model.parameters() if p.requires_grad], "weight_decay": cfg.weight_decay}]
    return create_optimizer(cfg.name, params, **optimizer_kwargs(cfg))


def step_options(cfg: RetrainConfig, device: torch.device) -> StepOptions:
    """Return the per-step device options: AMP and channels_last on CUDA only."""
    amp_dtype = None
    if cfg.amp and device.type == "cuda":
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return StepOptions(device=device, amp_dtype=amp_dtype, channels_last=cfg.channels_last and device.type == "cuda",
                       grad_clip=cfg.optim.grad_clip, log_every=cfg.log_every)


def _git_hash() -> Optional[str]:
    """Return the commit of the source checkout nas runs from, read from .git without running git."""
    for parent in Path(__file__).resolve().parents:
        head = parent / ".git" / "HEAD"
        if head.is_file():
            ref = head.read_text().strip()
            if not ref.startswith("ref: "):
                return ref
            name = ref[5:]
            loose = parent / ".git" / name
            if loose.is_file():
                return loose.read_text().strip()
            packed = parent / ".git" / "packed-refs"
            lines = packed.read_text().splitlines() if packed.is_file() else []
            return next((ln.split()[0] for ln in lines if ln.endswith(" " + name)), None)
    return None


def write_meta(path: Path, **fields: Any) -> None:
    """Write the run's provenance: package versions, git hash, command line and the given fields."""
    meta = {**fields, "nas": nas.__version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "git": _git_hash(), "argv": sys.argv,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "host": platform.node(), "pid": os.getpid()}
    atomic_write_json(path, meta)


def _align_labels(records, names: list, train_names: list, where: str) -> list:
    """Re-index records labelled by ``names`` onto ``train_names`` (Kinetics CSVs index each file's own classes)."""
    if names == train_names[: len(names)]:
        return records
    index = {n: i for i, n in enumerate(train_names)}
    unknown = sorted(set(names) - set(index))
    if unknown:
        raise NasError(f"{where} has classes missing from the training list, e.g. {unknown[0]!r}")
    return [type(r)(r.path, index[names[r.label]]) for r in records]


def _video_datasets(cfg: RetrainConfig, g: Genotype) -> Tuple[Any, Any, int]:
    """Return ``(train, val, num_classes)`` of video clip lists, or of the embedded motion set without lists."""
    try:
        from nas.data import video
        from nas.data.video_synthetic import SyntheticMotion
    except ImportError:
        raise NasError("video retraining needs nas.data.video") from None
    d = cfg.data
    frames = d.frames or nas.get_space(g.space).example_input_shape(cfg.resolution)[2]
    if not (d.video_root or d.train_list or d.val_list):
        return (SyntheticMotion(d.train_size, frames, cfg.resolution, d.seed),
                SyntheticMotion(d.val_size, frames, cfg.resolution, d.seed + 1), len(SyntheticMotion.classes))
    if not (d.video_root and d.train_list and d.val_list):
        raise NasError("video retraining needs all of --data-root, --train-list and --val-list")
    train_rec, names = video.parse_list(d.train_list)
    val_rec, val_names = video.parse_list(d.val_list, num_classes=len(names) or None)
    val_rec = _align_labels(val_rec, val_names, names, d.val_list)
    kw = {"frames": frames, "size": cfg.resolution, "seed": d.seed}
    num_classes = len(names) or 1 + max(r.label for r in train_rec + val_rec)
    return (video.VideoListDataset(train_rec, d.video_root, train=True, **kw),
            video.VideoListDataset(val_rec, d.video_root, train=False, **kw), num_classes)


def build_datasets(cfg: RetrainConfig, g: Genotype) -> Tuple[Any, Any, int]:
    """Return ``(train, val, num_classes)``: the embedded shapes set, an image folder or a video list."""
    if nas.get_space(g.space).modality == "video":
        return _video_datasets(cfg, g)
    if cfg.data.root is None:
        from nas.data.synthetic import ShapesSpec, shapes_datasets

        spec = ShapesSpec(train=cfg.data.train_size, val=cfg.data.val_size, resolution=cfg.resolution,
                          seed=cfg.data.seed)
        return shapes_datasets(spec)
    from nas.data.folders import image_folder_datasets

    train, val, classes = image_folder_datasets(cfg.data.root, cfg.resolution, cfg.data.val_fraction, cfg.data.seed)
    return train, val, len(classes)


def build_model(g: Genotype, cfg: RetrainConfig, num_classes: int, device: torch.device) -> nn.Module:
    """Build the standalone model on ``device`` with a seeded init (the same on every DDP rank)."""
    torch.manual_seed(cfg.seed)
    extra = {} if cfg.model.stem_stride is None else {"stem_stride": cfg.model.stem_stride}
    model = nas.create_model(g, num_classes=num_classes, dropout=cfg.model.dropout, **extra)
    model = model.to(device)
    if cfg.channels_last and device.type == "cuda" and nas.get_space(g.space).modality == "image":
        model = model.to(memory_format=torch.channels_last)
    return model


def _seed_epoch(seed: int, epoch: int, gen: torch.Generator, dataset: Any) -> None:
    """Seed every RNG from (seed, epoch) so each epoch's data order and augmentation are reproducible."""
    s = seed * 100_003 + epoch
    random.seed(s)
    np.random.seed(s % 2**32)
    torch.manual_seed(s)
    gen.manual_seed(s)
    own = getattr(dataset, "rng", None)  # datasets with a private random.Random (video frame sampling)
    if isinstance(own, random.Random):
        own.seed(s)


def _loader(ds, batch_size: int, workers: int, shuffle: bool, gen: Optional[torch.Generator] = None,
            drop_last: bool = False) -> DataLoader:
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=workers,
                      collate_fn=collate_batch, drop_last=drop_last, pin_memory=torch.cuda.is_available(),
                      persistent_workers=False)


def _progress(epoch: int, epochs: int, steps: int, log_every: int, log: Log):
    """Return ``(callback, bar)``: a tqdm bar with ETA (on a terminal) plus optional periodic lines."""
    from tqdm import tqdm

    bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{epochs}", leave=False, disable=None, file=sys.stderr,
               dynamic_ncols=True)
    start = time.perf_counter()

    def callback(i: int, loss: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        if log_every and (i % log_every == 0 or i == steps):
            eta = (time.perf_counter() - start) / i * (steps - i)
            log(f"  epoch {epoch + 1} step {i}/{steps} loss {loss:.4f} eta {eta:.0f}s")

    return callback, bar


class TrainingParts:
    """Optimizer, LR schedule, EMA, loss scaler and progress counters shared by local and DDP trainers.

    Subclasses set ``cfg``, ``g``, ``out``, ``model``, ``train_ds``, ``val_ds``, ``device``, ``opts`` and
    ``num_classes`` first, then call :meth:`setup_training`; :meth:`state` is the one checkpoint format both
    write, :meth:`validate` and :meth:`save_epoch` the one evaluation and checkpointing path.
    """

    def setup_training(self) -> None:
        """Build the optimizer, the per-step warm-up + cosine schedule, EMA, scaler and loss."""
        cfg = self.cfg
        self.optimizer = _build_optimizer(self.model, cfg.optim)
        self.steps_per_epoch = len(self.train_ds) // cfg.batch_size
        total = cfg.epochs * self.steps_per_epoch
        warmup = min(total - 1, round(cfg.schedule.warmup_epochs * self.steps_per_epoch))
        self.scheduler = WarmupCosine(self.optimizer, total_steps=total, warmup_steps=warmup,
                                      lr_min=cfg.schedule.lr_min, warmup_start_factor=cfg.schedule.warmup_start_factor)
        self.ema = ModelEma(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.opts.amp_dtype == torch.float16)
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        self.epoch, self.step, self.best, self.history = 0, 0, -1.0, []

    def _rng(self) -> Any:
        return ck.rng_state(None)

    def state(self) -> Dict[str, Any]:
        """Return the checkpoint dict (tensors, lists and numbers only)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "ema": self.ema.module.state_dict() if self.ema is not None else None,
                "epoch": self.epoch, "step": self.step, "best_top1": self.best, "history": self.history,
                "genotype": str(self.g), "num_classes": self.num_classes, "config": to_dict(self.cfg),
                "rng": self._rng(), "nas_version": nas.__version__}

    def restore_training(self, ckpt: Dict[str, Any], path: Path) -> None:
        """Restore model, optimizer, schedule, scaler, EMA and progress from a checkpoint dict."""
        ck.check_architecture(ckpt, str(self.g), path)
        ck.load_model_state(self.model, ckpt["model"], path)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scaler.load_state_dict(ckpt["scaler"])
        if self.ema is not None and ckpt["ema"] is not None:
            self.ema.module.load_state_dict(ckpt["ema"])
        self.epoch, self.step, self.best = ckpt["epoch"], ckpt["step"], ckpt["best_top1"]
        self.history = list(ckpt["history"])

    def validate(self) -> Dict[str, float]:
        """Evaluate the model (and its EMA) on ``val_ds``; return the metric row fields."""
        loader = _loader(self.val_ds, self.cfg.eval_batch_size, self.cfg.data.workers, False)
        res = evaluate(self.model, loader, self.opts)
        row = {"val_loss": res["val_loss"], "top1": res["top1"], "top5": res["top5"], "val_skipped": res["skipped"]}
        if self.ema is not None:
            e = evaluate(self.ema.module, loader, self.opts)
            row.update(ema_val_loss=e["val_loss"], ema_top1=e["top1"], ema_top5=e["top5"])
        return row

    def save_epoch(self, row: Dict[str, Any]) -> None:
        """Append the epoch's row, then write ``best.pt`` (when the EMA or plain top-1 improves) and ``last.pt``."""
        self.history.append(row)
        self.epoch += 1
        score = row.get("ema_top1", row["top1"])
        improved = score > self.best
        self.best = max(self.best, score)
        state = self.state()
        if improved:
            ck.save_checkpoint(self.out / "best.pt", state)
        ck.save_checkpoint(self.out / "last.pt", state)


class _Trainer(TrainingParts):
    """The mutable state of one retraining run, built from a config, a genotype and a run folder."""

    def __init__(self, cfg: RetrainConfig, g: Genotype, out: Path, log: Log):
        self.cfg, self.g, self.out, self.log = cfg, g, out, log
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.opts = step_options(cfg, self.device)
        self.train_ds, self.val_ds, data_classes = build_datasets(cfg, g)
        self.num_classes = cfg.model.num_classes or data_classes
        if len(self.train_ds) < cfg.batch_size:
            raise NasError(f"batch_size {cfg.batch_size} exceeds the {len(self.train_ds)} training images")
        self.model = build_model(g, cfg, self.num_classes, self.device)
        self.gen = torch.Generator()
        self.setup_training()

    def _rng(self) -> Any:
        return ck.rng_state(self.gen)

    def load(self, ckpt: Dict[str, Any], path: Path) -> None:
        """Restore everything :meth:`state` saved."""
        self.restore_training(ckpt, path)
        ck.set_rng_state(ckpt["rng"], self.gen)

    def train_epoch(self) -> Dict[str, float]:
        """Train one epoch with a data order fixed by (seed, epoch)."""
        cfg = self.cfg
        _seed_epoch(cfg.seed, self.epoch, self.gen, self.train_ds)
        loader = _loader(self.train_ds, cfg.batch_size, cfg.data.workers, True, self.gen, drop_last=True)
        callback, bar = _progress(self.epoch, cfg.epochs, self.steps_per_epoch, cfg.log_every, self.log)
        try:
            stats = train_one_epoch(self.model, loader, self.optimizer, self.scheduler, self.loss_fn, self.opts,
                                    self.scaler, self.ema, callback)
        finally:
            bar.close()
        if isinstance(self.optimizer, AdaRem):
            self.optimizer.epoch_step()  # only changes lam**k for groups counting k in epochs
        self.step += self.steps_per_epoch
        return stats



def _row(epoch: int, step: int, train: Dict[str, float], val: Dict[str, float], seconds: float) -> Dict[str, Any]:
    return {"epoch": epoch, "step": step, "train_loss": train["train_loss"], **val, "lr": train["lr"],
            "train_skipped": train["skipped"], "seconds": seconds}


def _log_row(row: Dict[str, Any], epochs: int, log: Log) -> None:
    ema = f" ema top1 {row['ema_top1']:.2f}" if "ema_top1" in row else ""
    skipped = row["train_skipped"] + row["val_skipped"]
    skip = f" skipped {skipped} unreadable" if skipped else ""
    log(f"epoch {row['epoch']}/{epochs} train loss {row['train_loss']:.4f} val loss {row['val_loss']:.4f} "
        f"top1 {row['top1']:.2f} top5 {row['top5']:.2f}{ema} lr {row['lr']:.3g} {row['seconds']:.1f}s{skip}")


def write_scalars(writer, row: Dict[str, Any]) -> None:
    for key in ("train_loss", "val_loss", "top1", "top5", "lr", "ema_top1", "ema_top5"):
        if key in row:
            writer.add_scalar(f"retrain/{key}", row[key], row["step"])
    writer.flush()


def _finish_epoch(t: _Trainer, row: Dict[str, Any], writer) -> None:
    """Record the epoch: history, last.pt (and best.pt), metrics.json, TensorBoard, one log line."""
    t.save_epoch(row)
    atomic_write_json(t.out / "metrics.json", {"genotype": str(t.g), "epochs": t.history})
    write_scalars(writer, row)
    _log_row(row, t.cfg.epochs, t.log)
    warn_skipped(row["train_skipped"] + row["val_skipped"])


def _start_run(t: _Trainer, resume: bool) -> None:
    """Create the run folder files, or restore ``last.pt`` when resuming."""
    if resume:
        path = t.out / "last.pt"
        t.load(ck.load_checkpoint(path), path)
        atomic_write_json(t.out / "metrics.json", {"genotype": str(t.g), "epochs": t.history})
        t.log(f"resuming {t.out} at epoch {t.epoch + 1}/{t.cfg.epochs} (step {t.step})")
        return
    t.out.mkdir(parents=True, exist_ok=True)
    dump_config(t.cfg, t.out / "config.yaml")
    nas.save_genotype(t.g, t.out / "genotype.yaml")
    write_meta(t.out / "meta.json", seed=t.cfg.seed, device=str(t.device))


def retrain(cfg: RetrainConfig, genotype: Any, out_dir: Any, resume: bool = False, log: Log = print) -> Dict:
    """Train ``genotype``'s standalone model per ``cfg`` into ``out_dir``; return the last epoch's metrics.

    With ``resume=True`` the run continues from ``out_dir/last.pt`` at the same schedule position; with the
    same seed on CPU it ends with the same metrics as an uninterrupted run.
    """
    from torch.utils.tensorboard import SummaryWriter

    g = nas.load_genotype(genotype)
    t = _Trainer(cfg, g, Path(out_dir), log)
    _start_run(t, resume)
    log(f"retraining {g.space} model ({sum(p.numel() for p in t.model.parameters()):,} params, "
        f"{t.num_classes} classes) on {t.device} for {cfg.epochs} epochs x {t.steps_per_epoch} steps -> {t.out}")
    writer = SummaryWriter(str(t.out / "tb"), purge_step=t.step + 1 if resume else None)
    try:
        while t.epoch < cfg.epochs:
            start = time.perf_counter()
            train = t.train_epoch()
            val = t.validate()
            _finish_epoch(t, _row(t.epoch + 1, t.step, train, val, time.perf_counter() - start), writer)
    finally:
        writer.close()
    return t.history[-1] if t.history else {}


def run_config(run_dir: Path) -> Tuple[RetrainConfig, str]:
    """Return the config and genotype string stored in ``run_dir/last.pt`` (for ``--resume``)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NasError(f"run folder not found: {run_dir}")
    ckpt = ck.load_checkpoint(run_dir / "last.pt")
    return from_dict(RetrainConfig, ckpt["config"]), ckpt["genotype"]


def evaluate_checkpoint(path: Any, cfg: Optional[RetrainConfig] = None, genotype: Any = None,
                        log: Log = print) -> Dict[str, float]:
    """Evaluate a checkpoint on the validation set of ``cfg`` (default: the config it was trained with)."""
    path = Path(path)
    ckpt = ck.load_checkpoint(path)
    g = nas.load_genotype(genotype if genotype is not None else ckpt["genotype"])
    ck.check_architecture(ckpt, str(g), path)
    cfg = cfg or from_dict(RetrainConfig, ckpt["config"])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    opts = step_options(cfg, device)
    _, val_ds, num_classes = build_datasets(cfg, g)
    if ckpt["num_classes"] != (cfg.model.num_classes or num_classes):
        raise NasError(f"checkpoint {path} has {ckpt['num_classes']} classes, the data has {num_classes}")
    model = build_model(g, cfg, cfg.model.num_classes or num_classes, device)
    out: Dict[str, float] = {}
    for name in ("model", "ema"):
        if ckpt.get(name) is None:
            continue
        ck.load_model_state(model, ckpt[name], path)
        res = evaluate(model, _loader(val_ds, cfg.eval_batch_size, cfg.data.workers, False), opts)
        prefix = "" if name == "model" else "ema_"
        out.update({f"{prefix}top1": res["top1"], f"{prefix}top5": res["top5"], f"{prefix}val_loss": res["val_loss"]})
        warn_skipped(res["skipped"])
        log(f"{path}: {'EMA ' if prefix else ''}top1 {res['top1']:.2f} top5 {res['top5']:.2f} "
            f"val loss {res['val_loss']:.4f} ({res['val_images']} images)")
    return out


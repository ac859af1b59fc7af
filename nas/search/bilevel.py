"""Differentiable search's loaders, bilevel supernet trainer and argmax scorer, for video and image spaces.

``BilevelTrainer`` owns the weight-sharing supernet, the weight optimizer and schedule and the
``ArchOptimizer``; one ``train_epoch`` alternates weight and alpha steps. ``SupernetScorer`` scores a genotype
through the supernet after BatchNorm recalibration. The ``differentiable`` strategy drives both. The loaders
are injected as a ``BilevelData``: ``build_video_data`` here (pv_st), ``nas.search.image_bilevel`` for images.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from nas.config.search import DataConfig, SearchConfig
from nas.core.genotype import Genotype
from nas.data.collate import check_readable
from nas.data.collate import warn_skipped as _warn_skipped
from nas.data.loader import loader_options, make_loader
from nas.errors import NasError
from nas.train.amp import autocast, to_device
from nas.utils.seeds import rng_state, seeded_init, set_rng_state, torch_generator

__all__ = ["BilevelData", "VideoData", "seeded_loader", "build_video_data", "BilevelTrainer", "SupernetScorer",
           "warn_skipped"]


class BilevelData:
    """The three loaders of a bilevel search: weight steps, alpha steps and validation, plus the class count.

    Each loader yields ``(x, y, skipped)`` (``nas.data.collate.collate_skip``); ``logits`` runs a model on one
    validation batch (plain images here).
    """

    noun = "image"  # what an unreadable sample is called in warnings

    def __init__(self, train: DataLoader, alpha: DataLoader, val: DataLoader, num_classes: int):
        self.train, self.alpha, self.val, self.num_classes = train, alpha, val, num_classes

    def to(self, device: torch.device) -> "BilevelData":
        """Pin the loaders' host batches when ``device`` is a GPU (the loaders are built before the device is known).

        A DataLoader reads ``pin_memory`` when each pass starts, so this holds from the next epoch on.
        """
        pin = loader_options(device, 0)["pin_memory"]
        for loader in (self.train, self.alpha, self.val):
            loader.pin_memory = pin
        return self

    def generators(self) -> Dict[str, torch.Generator]:
        """Return the shuffling generators (checkpointed by the run)."""
        return {"train": self.train.generator, "alpha": self.alpha.generator}

    def logits(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Return ``model``'s logits on validation batch ``x``."""
        return model(x)


class VideoData(BilevelData):
    """The loaders of a video search: validation clips may carry several views, whose logits are averaged."""

    noun = "video"

    def logits(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Return the view-averaged logits of clips ``x``."""
        from nas.data.video import multiview_logits

        return multiview_logits(model, x)


def seeded_loader(ds: Dataset, batch: int, shuffle: bool, seed: int, workers: int = 0) -> DataLoader:
    """Return a loader of ``(x, y, skipped)`` batches whose order depends only on ``seed`` (full batches when
    shuffled and the set holds at least two); :meth:`BilevelData.to` pins them for the trainer's device."""
    return make_loader(ds, batch, workers, shuffle=shuffle, drop_last=shuffle and len(ds) >= 2 * batch,
                       generator=torch_generator(seed))


def build_video_data(cfg: DataConfig, seed: int, batch: int) -> VideoData:
    """Return the loaders; the clips come from ``cfg.seed`` (the data seed), ``seed`` (the run's) orders batches."""
    if cfg.source == "synthetic":
        from nas.data.video_synthetic import CLASS_NAMES, SyntheticMotion

        sets = [SyntheticMotion(n, cfg.frames, cfg.size, cfg.seed * 10 + i)
                for i, n in enumerate((cfg.train_size, cfg.alpha_size, cfg.val_size))]
        n_cls = len(CLASS_NAMES)
    else:
        sets, n_cls = _list_sets(cfg, seed)
    return VideoData(seeded_loader(sets[0], batch, True, seed, cfg.workers), seeded_loader(
        sets[1], batch, True, seed + 1, cfg.workers), seeded_loader(sets[2], batch, False, seed, cfg.workers), n_cls)


def _list_sets(cfg: DataConfig, seed: int) -> Tuple[List[Dataset], int]:
    """Split the train list in halves (weights / alpha) by the data seed and read the val list."""
    from nas.data.video import VideoListDataset, align_labels, parse_list

    root = Path(cfg.root)
    if not root.is_dir():
        raise NasError(f"video data root not found: {root}")
    train, names = parse_list(cfg.train_list, cfg.list_format, cfg.num_classes, cfg.labels_file)
    val, val_names = parse_list(cfg.val_list, cfg.list_format, cfg.num_classes or len(names), cfg.labels_file)
    val = align_labels(val, val_names, names, cfg.val_list)  # a Kinetics CSV indexes its own classes
    random.Random(cfg.seed).shuffle(train)
    half = max(1, len(train) // 2)
    kw = dict(frames=cfg.frames, size=cfg.size, sampling=cfg.sampling, stride=cfg.stride, seed=seed)
    sets = [VideoListDataset(train[:half], root, train=True, **kw),
            VideoListDataset(train[half:] or train[:half], root, train=True, **kw),
            VideoListDataset(val, root, train=False, **kw)]
    return sets, cfg.num_classes or len(names)


def _cycle(loader: DataLoader) -> Iterator:
    while True:
        yield from loader


class BilevelTrainer:
    """The supernet, weight optimizer, weight schedule and arch optimizer of one differentiable search.

    ``cfg`` is the search config of a video or image space: the ``search`` keys of
    ``nas.config.bilevel.DiffSearchConfig`` and ``supernet.width``. A video space's costs count ``cfg.frames``.
    """

    def __init__(self, cfg: SearchConfig, data: BilevelData, space, device: torch.device, latency=None):
        from nas.spaces import create_supernet
        from nas.search.differentiable import ArchOptimizer

        s = cfg.search
        self.cfg, self.data, self.space, self.device = cfg, data.to(device), space, device
        self.keys = list(space.dims())  # one alpha row per slot (pv_st block, nb201 edge), in this order
        self.target_kw = {"frames": cfg.frames} if space.modality == "video" else {}
        from nas.train.amp import amp_dtype, configure_backends

        configure_backends(device, cfg.execution.deterministic)
        # auto is bf16 on CUDA; a GPU without bf16 runs float32 here (fp16 would need a grad scaler in the step).
        self.amp = amp_dtype(cfg.execution.amp, device)
        if self.amp == torch.float16:
            self.amp = None
        with seeded_init(cfg.seed):
            self.net = create_supernet(cfg.space, num_classes=data.num_classes, width=cfg.supernet.width).to(device)
            # The noise stream continues from the init, exactly as it did when the run seeded torch globally.
            self.noise = torch.Generator().set_state(torch.get_rng_state())
        if cfg.execution.activation_checkpointing:  # a video-only option
            from nas.nn.checkpointing import checkpoint_blocks

            checkpoint_blocks(self.net)
        steps = len(data.train)
        self.w_opt = torch.optim.SGD(self.net.weight_parameters(), lr=s.w_lr, momentum=s.w_momentum,
                                     weight_decay=s.w_weight_decay)
        self.w_sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.w_opt, T_max=steps * s.epochs)
        table, fixed = self.cost_table()
        self.latency = latency  # a nas.latency.search.LatencyLimit, or None
        self.limit = None if latency is None else latency.cost(lambda g: self.cost_of(g).madds, cfg.madds)
        self.arch = ArchOptimizer(self.net, lr=s.alpha_lr, betas=tuple(s.alpha_betas),
                                  weight_decay=s.alpha_weight_decay, table=table.to(device), fixed=fixed,
                                  budget=cfg.madds, floor=s.min_budget_fraction, gamma=s.gamma, scheduler=s.scheduler,
                                  period=max(1, round(s.cycle_epochs * steps)),
                                  total_steps=steps * (s.epochs - s.warmup_epochs), lr_min=s.alpha_lr_min,
                                  period_mult=s.period_mult, latency=self.latency_table(device))

    def latency_table(self, device: torch.device):
        """Return ``(per-slot per-op predicted ms, overhead ms, budget ms)`` of the run's latency limit, or None."""
        if self.latency is None:
            return None
        from nas.latency.search import per_slot_latency

        names = list(self.space.op_costs(self.cfg.resolution, **self.target_kw)[0])
        rows = per_slot_latency(self.space, self.latency.table, names)
        table = torch.tensor(rows, dtype=torch.float64).float().to(device)
        return table, self.latency.table.overhead_ms, self.latency.budget_ms

    @property
    def steps_per_epoch(self) -> int:
        """Return the weight steps of one epoch."""
        return len(self.data.train)

    def cost_of(self, g: Genotype):
        """Return the cost of ``g`` at the run's target (resolution, classes, frames of a video space)."""
        return self.space.cost(g, resolution=self.cfg.resolution, num_classes=self.num_classes, **self.target_kw)

    @property
    def num_classes(self) -> int:
        """Return the classes the target cost is counted for."""
        return self.cfg.num_classes or self.data.num_classes

    def cost_table(self) -> Tuple[torch.Tensor, int]:
        """Return per-slot per-op MAdds at the target size and the genotype-independent remainder."""
        rows = self.space.op_costs(self.cfg.resolution, **self.target_kw)
        names = list(rows[0])
        g = self.space.default()
        fixed = self.cost_of(g).madds - sum(r[g[key]].madds for r, key in zip(rows, self.keys))
        return torch.tensor([[r[n].madds for n in names] for r in rows], dtype=torch.float64).float(), fixed

    def train_epoch(self, epoch: int, tau: float, update_alpha: bool, on_step: Callable[[float], None],
                    on_cycle_end: Callable[[Genotype], None]) -> Tuple[Dict[str, float], int]:
        """Run one epoch of alternating weight and alpha steps; return the last losses and skipped clips."""
        s = self.cfg.search
        for name, loader in (("weights", self.data.train), ("alpha", self.data.alpha)):
            if hasattr(loader.dataset, "set_epoch"):  # augmentation keyed by (dataset seed, this key, clip)
                loader.dataset.set_epoch((name, epoch))
        self.net.train()
        alpha_iter, logs, skipped, read = _cycle(self.data.alpha), {}, 0, 0
        # The Gumbel noise of every relaxed forward comes from the run's own generator (checkpointed).
        self.net.set_relaxation(s.relaxation, tau, s.paths, generator=self.noise)
        for x, y, n_bad in self.data.train:
            val = next(alpha_iter)
            skipped += n_bad + val[2]
            read += sum(len(b) for b in (y, val[1]) if b is not None)
            if x is None or val[0] is None:
                continue
            with autocast(self.device, self.amp):
                logs = self.arch.step(self._dev(x, y), self._dev(*val[:2]), self.w_opt, F.cross_entropy,
                                      update_alpha=update_alpha, micro=s.grad_accum)
            self.w_sched.step()
            if update_alpha and self.arch.is_cycle_end():
                on_cycle_end(self.derive())  # the cycle's candidate: argmax(alpha) fitted to the budget
            on_step(logs["loss_w"])
        check_readable(read, skipped, f"{self.data.noun}s", self.cfg.data.min_readable, f"search epoch {epoch + 1}")
        return logs, skipped

    def log_round(self, writer, epoch: int, info: Dict[str, float], score: float) -> None:
        """Write an epoch's losses, accuracy, collapse diagnostics and the alpha heatmap to TensorBoard."""
        from nas.search.differentiable import alpha_entropy, expected_madds, heatmap_figure, identity_share

        if "finalist" in info:  # a finalist round: its held-out score after brief training, beside the supernet's
            writer.add_scalar("finalists/retrained_acc", info["retrained"], info["finalist"])
            writer.add_scalar("finalists/supernet_acc", score, info["finalist"])
            writer.flush()
            return
        alpha = self.net.alpha
        for k in ("loss_w", "loss_a", "penalty", "lr_a"):
            if k in info:
                writer.add_scalar(f"train/{k}", info[k], epoch)
        writer.add_scalar("val/argmax_acc", score, epoch)
        writer.add_scalar("arch/expected_madds", float(expected_madds(alpha.detach(), self.arch.table,
                                                                      self.arch.fixed)), epoch)
        if self.arch.latency is not None:
            table, fixed, _ = self.arch.latency
            writer.add_scalar("arch/expected_latency_ms", float(expected_madds(alpha.detach(), table, fixed)), epoch)
        writer.add_scalar("arch/identity_share", identity_share(alpha), epoch)
        entropy = alpha_entropy(alpha)
        for key, h in zip(self.keys, entropy):
            writer.add_scalar(f"arch/entropy_{key}", h, epoch)
        writer.add_scalar("arch/entropy_mean", sum(entropy) / len(entropy), epoch)
        names = self.net.mixed_ops[0].names
        writer.add_figure("arch/alpha", heatmap_figure(alpha.cpu(), self.keys, names, f"epoch {epoch + 1}"), epoch)
        writer.flush()

    def argmax(self) -> Genotype:
        """Return argmax(alpha) per slot."""
        return self.net.argmax()

    def derive(self) -> Genotype:
        """Return argmax(alpha) swapped greedily to cheaper ops until it fits the budget."""
        from nas.search.differentiable import derive

        keys = self.keys
        if self.limit is not None:  # MAdds and latency limits as one cost, parts per million of the tighter
            from nas.core.cost import Cost
            from nas.latency.budget import PPM

            return derive(self.net.alpha, keys, self.net.mixed_ops[0].names, self.space,
                          lambda g: Cost(self.limit(g)), PPM, self.arch.floor)
        return derive(self.net.alpha, keys, self.net.mixed_ops[0].names, self.space, self.cost_of, self.arch.budget,
                      self.arch.floor)

    def _dev(self, x: torch.Tensor, y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return to_device(x, self.device), to_device(y, self.device)

    def state_dict(self) -> dict:
        """Return the weights, both optimizers, the schedule and the noise and shuffling generators."""
        gens = {"noise": self.noise, **self.data.generators()}
        return {"supernet": self.net.state_dict(), "w_opt": self.w_opt.state_dict(),
                "w_sched": self.w_sched.state_dict(), "arch": self.arch.state_dict(),
                "rng": rng_state(gens)}

    def load_state_dict(self, st: dict) -> None:
        """Restore what ``state_dict`` returned."""
        self.net.load_state_dict(st["supernet"])
        self.w_opt.load_state_dict(st["w_opt"])
        self.w_sched.load_state_dict(st["w_sched"])
        self.arch.load_state_dict(st["arch"])
        set_rng_state(st["rng"], {"noise": self.noise, **self.data.generators()})


class SupernetScorer:
    """Score genotypes through a trained video supernet: BN recalibrated per genotype, then val accuracy."""

    def __init__(self, trainer: BilevelTrainer, bn_batches: int):
        self.trainer, self.bn_batches = trainer, bn_batches

    @torch.no_grad()
    def score_one(self, g: Genotype) -> float:
        """Return the val accuracy of ``g`` run through the supernet, after BN recalibration."""
        from nas.nn.supernet import recalibrate_bn

        t = self.trainer
        t.net.set_active(g)
        batches = [to_device(b[0], t.device) for b, _ in zip(t.data.train, range(self.bn_batches))
                   if b[0] is not None]
        hit, total, skipped = torch.zeros((), dtype=torch.long, device=t.device), 0, 0
        with autocast(t.device, t.amp):
            recalibrate_bn(t.net, batches)
            t.net.eval()
            for x, y, n_bad in t.data.val:
                skipped += n_bad
                if x is not None:  # counted on the device: one host sync per candidate, not one per batch
                    hit += (t.data.logits(t.net, to_device(x, t.device)).argmax(1) == to_device(y, t.device)).sum()
                    total += len(y)
        check_readable(total, skipped, f"{t.data.noun}s", t.cfg.data.min_readable, "the validation split")
        return int(hit) / total

    def phases(self) -> list:
        """Return no preparation phases: the strategy trains the supernet as it goes."""
        return []

    def prep_units(self) -> int:
        """Return zero preparation work."""
        return 0

    def __call__(self, genotypes: Sequence[Genotype], on_done: Optional[Callable[[], None]] = None
                 ) -> List[List[float]]:
        """Return one single-entry score row per genotype (the scorer contract of ``SearchRun``)."""
        return [[self.score_one(g)] for g in genotypes]


def warn_skipped(epoch: int, skipped: int, noun: str = "video") -> None:
    """Warn about unreadable videos (or images) skipped in an epoch (the one skipped-file warning, with its epoch)."""
    _warn_skipped(skipped, f"{noun}(s)", f"epoch {epoch + 1}")

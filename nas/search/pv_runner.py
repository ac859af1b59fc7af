"""The ``nas-search --space pv_st`` runner: PV-NAS-like differentiable search on video, with a run folder.

Run folder: ``config.yaml``, ``checkpoint.pt`` (atomic, every epoch), ``search.jsonl`` (per epoch: argmax
genotype, its cost, val accuracy), TensorBoard events under ``tb/``, and at the end ``genotype.yaml``,
``supernet.pt`` (state dict) and ``summary.json`` (with the cycle-end ``candidates``).
"""
from __future__ import annotations

import json
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from nas.config import apply_overrides, dump_config, from_dict, load_recipe, merge
from nas.config.video import PvSearchConfig, VideoDataConfig
from nas.errors import NasError
from nas.search import RUNNERS

__all__ = ["run_pv_search", "resolve_config", "build_data", "PvSearch"]

CHECKPOINT = "checkpoint.pt"


def resolve_config(args) -> PvSearchConfig:
    """Build the run config from the recipe, then explicit flags, then dotted overrides."""
    data: Dict = load_recipe(args.recipe) if getattr(args, "recipe", None) else {}
    flags = {"space": getattr(args, "space", None), "seed": args.seed, "out": args.out,
             "resolution": args.resolution, "num_classes": getattr(args, "num_classes", None)}
    data = merge(data, {k: v for k, v in flags.items() if v is not None})
    dflags = {"frames": getattr(args, "frames", None), "data_root": getattr(args, "data_root", None),
              "train_list": getattr(args, "train_list", None), "val_list": getattr(args, "val_list", None)}
    dflags = {k: v for k, v in dflags.items() if v is not None}
    if "train_list" in dflags:
        dflags["source"] = "list"
    sflags = {k: v for k, v in {"epochs": args.epochs, "flops": getattr(args, "flops", None)}.items() if v is not None}
    data = merge(data, {"data": dflags, "search": sflags})
    return from_dict(PvSearchConfig, apply_overrides(data, getattr(args, "opts", None)))


def _loader(ds: Dataset, batch: int, shuffle: bool, seed: int, workers: int = 0) -> DataLoader:
    from nas.data.video import collate_skip

    g = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch, shuffle=shuffle, drop_last=shuffle and len(ds) >= 2 * batch,
                      generator=g, collate_fn=collate_skip, num_workers=workers)


def build_data(cfg: VideoDataConfig, seed: int, batch: int) -> Tuple[DataLoader, DataLoader, DataLoader, int]:
    """Return (weight loader, alpha loader, val loader, number of classes).

    The clips come from ``cfg.seed`` (the data seed); ``seed`` (the run seed) orders the batches.
    """
    if cfg.source == "synthetic":
        from nas.data.video_synthetic import CLASS_NAMES, SyntheticMotion

        sets = [SyntheticMotion(n, cfg.frames, cfg.size, cfg.seed * 10 + i)
                for i, n in enumerate((cfg.synthetic_train, cfg.synthetic_alpha, cfg.synthetic_val))]
        n_cls = len(CLASS_NAMES)
    else:
        sets, n_cls = _list_sets(cfg, seed)
    return (_loader(sets[0], batch, True, seed, cfg.workers), _loader(sets[1], batch, True, seed + 1, cfg.workers),
            _loader(sets[2], batch, False, seed, cfg.workers), n_cls)


def _list_sets(cfg: VideoDataConfig, seed: int) -> Tuple[List[Dataset], int]:
    """Split the train list in halves (weights / alpha) by the data seed and read the val list; ``seed`` (the
    run seed) drives the frame sampling."""
    from nas.data.video import VideoListDataset, parse_list

    root = Path(cfg.data_root)
    if not root.is_dir():
        raise NasError(f"video data root not found: {root}")
    train, names = parse_list(cfg.train_list, cfg.list_format, cfg.num_classes, cfg.labels_file)
    val, _ = parse_list(cfg.val_list, cfg.list_format, cfg.num_classes or len(names), cfg.labels_file)
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


class PvSearch:
    """One search run: supernet, both optimizers, schedulers, logs and checkpoints in ``out``."""

    def __init__(self, cfg: PvSearchConfig, out: Path):
        from nas import create_supernet, get_space
        from nas.search.differentiable import ArchOptimizer

        self.cfg, self.out, s = cfg, out, cfg.search
        torch.manual_seed(cfg.seed)
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        self.space = get_space(cfg.space)
        self.train, self.alpha_data, self.val, n_cls = build_data(cfg.data, cfg.seed, s.batch_size)
        self.num_classes = cfg.num_classes or n_cls
        self.budget = s.budget()
        self._check_budget()
        self.net = create_supernet(cfg.space, num_classes=n_cls)
        steps = len(self.train)
        self.w_opt = torch.optim.SGD(self.net.weight_parameters(), lr=s.w_lr, momentum=s.w_momentum,
                                     weight_decay=s.w_weight_decay)
        self.w_sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.w_opt, T_max=steps * s.epochs)
        table, fixed = self._cost_table()
        self.arch = ArchOptimizer(self.net, lr=s.alpha_lr, betas=tuple(s.alpha_betas),
                                  weight_decay=s.alpha_weight_decay, table=table, fixed=fixed, budget=self.budget,
                                  gamma=s.gamma, scheduler=s.scheduler, period=max(1, round(s.cycle_epochs * steps)),
                                  total_steps=steps * (s.epochs - s.warmup_epochs), lr_min=s.alpha_lr_min,
                                  period_mult=s.period_mult)
        self.epoch, self.candidates, self.skipped = 0, [], 0

    def _cost_of(self, g):
        return self.space.cost(g, resolution=self.cfg.resolution, num_classes=self.num_classes,
                               frames=self.cfg.data.frames)

    def _cost_table(self) -> Tuple[torch.Tensor, int]:
        """Return per-slot per-op MAdds at the target size and the genotype-independent remainder."""
        res, frames = self.cfg.resolution, self.cfg.data.frames
        rows = self.space.op_costs(res, frames)
        names = list(rows[0])
        g = self.space.default()
        fixed = self._cost_of(g).madds - sum(r[g[s.key]].madds for r, s in zip(rows, self.space.slots))
        return torch.tensor([[r[n].madds for n in names] for r in rows], dtype=torch.float64).float(), fixed

    def _check_budget(self) -> None:
        if self.budget is None:
            return
        cheapest = self.space.freeze({s.key: "t_id" for s in self.space.slots})
        if self._cost_of(cheapest).madds > self.budget:
            raise NasError(f"FLOPs budget {self.cfg.search.flops} is below the cheapest {self.cfg.space} model "
                           f"({self._cost_of(cheapest).madds} MAdds at {self.cfg.data.frames}x{self.cfg.resolution}^2)")

    def tau(self) -> float:
        """Return this epoch's temperature (linear decay from tau_max to tau_min)."""
        s = self.cfg.search
        frac = self.epoch / max(1, s.epochs - 1)
        return s.tau_max + (s.tau_min - s.tau_max) * frac

    def train_epoch(self, bar) -> Dict[str, float]:
        """Run one epoch of alternating weight and alpha steps."""
        s = self.cfg.search
        self.net.train()
        self.net.set_relaxation(s.relaxation, self.tau(), s.paths)
        alpha_iter, update_alpha, logs, skipped = _cycle(self.alpha_data), self.epoch >= s.warmup_epochs, {}, 0
        for x, y, n_bad in self.train:
            skipped += n_bad
            val = next(alpha_iter)
            skipped += val[2]
            if x is None or val[0] is None:
                continue
            logs = self.arch.step((x, y), val[:2], self.w_opt, F.cross_entropy, update_alpha=update_alpha)
            self.w_sched.step()
            if update_alpha and self.arch.is_cycle_end():
                self.candidates.append(str(self.net.argmax()))
            bar.update(1)
            bar.set_postfix(loss=f"{logs['loss_w']:.3f}", refresh=False)
        self.skipped = skipped
        if skipped:
            warnings.warn(f"epoch {self.epoch + 1}: skipped {skipped} unreadable video(s)", stacklevel=2)
        return logs

    @torch.no_grad()
    def score(self, g) -> float:
        """Return the val accuracy of genotype ``g`` run through the supernet, after BN recalibration."""
        from nas.nn.supernet import recalibrate_bn

        self.net.set_active(g)
        batches = [b[0] for b, _ in zip(self.train, range(self.cfg.search.bn_batches)) if b[0] is not None]
        recalibrate_bn(self.net, batches)
        self.net.eval()
        hit = total = 0
        for x, y, _ in self.val:
            if x is not None:
                from nas.data.video import multiview_logits

                hit += int((multiview_logits(self.net, x).argmax(1) == y).sum())
                total += len(y)
        return hit / max(1, total)

    def state_dict(self) -> dict:
        """Return everything needed to resume after the current epoch."""
        return {"epoch": self.epoch, "supernet": self.net.state_dict(), "w_opt": self.w_opt.state_dict(),
                "w_sched": self.w_sched.state_dict(), "arch": self.arch.state_dict(), "candidates": self.candidates,
                "rng": {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": _np_state(),
                        "loaders": [ld.generator.get_state() for ld in (self.train, self.alpha_data)]}}

    def load_state_dict(self, st: dict) -> None:
        """Restore a checkpoint written by ``state_dict``."""
        self.net.load_state_dict(st["supernet"])
        self.w_opt.load_state_dict(st["w_opt"])
        self.w_sched.load_state_dict(st["w_sched"])
        self.arch.load_state_dict(st["arch"])
        self.epoch, self.candidates = st["epoch"], list(st["candidates"])
        torch.set_rng_state(st["rng"]["torch"])
        random.setstate(st["rng"]["python"])
        kind, keys, pos, has_gauss, cached = st["rng"]["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
        for ld, state in zip((self.train, self.alpha_data), st["rng"]["loaders"]):
            ld.generator.set_state(state)


def _np_state() -> tuple:
    """Return numpy's global RNG state with plain types, so checkpoints load with ``weights_only=True``."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return kind, keys.tolist(), int(pos), int(has_gauss), float(cached)


def _run_dir(cfg: PvSearchConfig) -> Path:
    """Return the run folder: ``cfg.out`` or ``runs/<space>-<YYYYmmdd-HHMMSS>``."""
    out = Path(cfg.out or f"runs/{cfg.space}-{time.strftime('%Y%m%d-%H%M%S')}")
    if (out / CHECKPOINT).exists():
        raise NasError(f"{out} already holds a search; use --resume {out} or another --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _resume(run_dir: str) -> Tuple[PvSearchConfig, Path, dict]:
    """Return the config, folder and checkpoint of an interrupted run."""
    out = Path(run_dir)
    if not (out / "config.yaml").is_file() or not (out / CHECKPOINT).is_file():
        raise NasError(f"{out} is not a pv_st run folder (needs config.yaml and {CHECKPOINT})")
    import yaml

    cfg = from_dict(PvSearchConfig, yaml.safe_load((out / "config.yaml").read_text()))
    return cfg, out, torch.load(out / CHECKPOINT, weights_only=True)


def _log_epoch(run: PvSearch, writer, acc: float, logs: Dict[str, float]) -> None:
    """Append the epoch to search.jsonl and TensorBoard (losses, accuracy, collapse diagnostics, heatmap)."""
    from nas.search.differentiable import alpha_entropy, expected_madds, heatmap_figure, identity_share

    g = run.net.argmax()
    c = run._cost_of(g)
    alpha, ep = run.net.alpha, run.epoch
    row = {"epoch": ep, "genotype": str(g), "madds": c.madds, "params": c.params, "val_acc": acc,
           "tau": run.tau(), "skipped": run.skipped, **logs}
    with (run.out / "search.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")
    for k, v in logs.items():
        writer.add_scalar(f"train/{k}", v, ep)
    writer.add_scalar("val/argmax_acc", acc, ep)
    writer.add_scalar("arch/expected_madds", float(expected_madds(alpha.detach(), run.arch.table, run.arch.fixed)), ep)
    writer.add_scalar("arch/identity_share", identity_share(alpha), ep)
    keys = [s.key for s in run.space.slots]
    for key, h in zip(keys, alpha_entropy(alpha)):
        writer.add_scalar(f"arch/entropy_{key}", h, ep)
    writer.add_figure("arch/alpha", heatmap_figure(alpha, keys, run.net.mixed_ops[0].names, f"epoch {ep + 1}"), ep)
    writer.flush()


def _finish(run: PvSearch, t0: float) -> Dict:
    """Derive the final genotype, score it and write genotype.yaml, supernet.pt and summary.json."""
    from nas import save_genotype
    from nas.search.differentiable import derive
    from nas.utils.io import atomic_torch_save, atomic_write_json

    keys = [s.key for s in run.space.slots]
    g = derive(run.net.alpha, keys, run.net.mixed_ops[0].names, run.space, run._cost_of, run.budget)
    acc, c = run.score(g), run._cost_of(g)
    save_genotype(g, run.out / "genotype.yaml", madds=c.madds, params=c.params, resolution=run.cfg.resolution,
                  frames=run.cfg.data.frames, score=acc, seed=run.cfg.seed)
    atomic_torch_save(run.net.state_dict(), run.out / "supernet.pt")
    summary = {"genotype": str(g), "madds": c.madds, "params": c.params, "val_acc": acc,
               "budget": run.budget, "candidates": run.candidates, "distinct_candidates": len(set(run.candidates)),
               "seconds": round(time.time() - t0, 1), "epochs": run.cfg.search.epochs}
    atomic_write_json(run.out / "summary.json", summary)
    return summary


def run_pv_search(args) -> int:
    """Run (or resume) a pv_st search from nas-search arguments; return the exit code."""
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    from nas.utils.io import atomic_torch_save, atomic_write_json
    from nas.utils.run import run_metadata

    t0 = time.time()
    if getattr(args, "resume", None):
        cfg, out, state = _resume(args.resume)
    else:
        cfg, state = resolve_config(args), None
        out = _run_dir(cfg)
        dump_config(cfg, out / "config.yaml")
        atomic_write_json(out / "meta.json", run_metadata(cfg.seed))
    run = PvSearch(cfg, out)
    if state is not None:
        run.load_state_dict(state)
    epochs, steps = cfg.search.epochs, len(run.train)
    writer = SummaryWriter(str(out / "tb"))
    with tqdm(total=epochs * steps, initial=run.epoch * steps, desc=f"search {cfg.space}", unit="step",
              file=sys.stderr, dynamic_ncols=True, mininterval=2.0) as bar:
        while run.epoch < epochs:
            logs = run.train_epoch(bar)
            acc = run.score(run.net.argmax())
            _log_epoch(run, writer, acc, logs)
            bar.write(f"epoch {run.epoch + 1}/{epochs}: {run.net.argmax()} val_acc={acc:.3f}")
            run.epoch += 1
            atomic_torch_save(run.state_dict(), out / CHECKPOINT)
    writer.close()
    summary = _finish(run, t0)
    print(f"{summary['genotype']}  val_acc={summary['val_acc']:.3f}  MAdds={summary['madds']}  "
          f"({summary['distinct_candidates']} distinct candidates)  -> {out}")
    return 0


RUNNERS.add("pv_st", run_pv_search)
RUNNERS.add("pv_st_m", run_pv_search)

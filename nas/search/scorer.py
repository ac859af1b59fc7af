"""The one-shot scorer of an image search: SPOS supernet training, SGLD snapshots, snapshot-averaged scores.

Phases, each checkpointed through the run's hooks so a killed run resumes where it stopped:

1. supernet: single-path uniform sampling (SPOS) inside the cost window, optionally several paths a step,
   in-place distillation from the space's largest path and the sandwich rule's smallest path
   (``supernet.paths``, ``supernet.distill``, ``supernet.sandwich``); a checkpoint after every epoch;
2. sgld: Langevin updates of the shared weights; a burn-in, then K snapshots ``spacing`` steps apart, each
   segment seeded on its own and saved as ``snapshots/<k>.pt``.

A candidate's score is then its mean validation accuracy over the K snapshots, BatchNorm recalibrated for
it under each (``score_genotypes``, or any function with its signature such as a ``ShardedScorer``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from nas.plugins import get_plugin
from nas.spaces import create_supernet, get_space
from nas.config.search import SearchConfig, SupernetConfig
from nas.core.genotype import Genotype
from nas.errors import NasError
from nas.search.data import ProxyData, build_proxy_data
from nas.search.one_shot import score_genotypes, train_steps
from nas.search.progress import Hooks
from nas.train.amp import autocast, to_device
from nas.train.checkpoint import load_state, save_checkpoint
from nas.utils.seeds import derive_seed, seeded_init, seeded_random, torch_generator

__all__ = ["OneShotScorer", "TabularScorer", "StatelessScorer", "window_sampler", "supernet_options"]

Sampler = Callable[..., Genotype]
TRAINED = "trained.pt"  # the pre-SGLD weights, beside the snapshots


def window_sampler(space, cost_fn: Callable[[Genotype], int], lo: int, hi: int, max_tries: int = 200) -> Sampler:
    """Return ``sampler(rng)`` drawing training paths inside the cost window ``[lo, hi]``."""
    from nas.search.strategies.window import sample_in_window

    def sample(rng) -> Genotype:
        return sample_in_window(space, cost_fn, lo, hi, rng, max_tries)

    return sample


class OneShotScorer:
    """Train a proxy supernet, sample weight snapshots with SGLD, and score candidates under them.

    Args:
        cfg: the search config (data, supernet, sgld and score sections).
        out: the run folder (``snapshots/`` lives there).
        device: where the supernet trains and scores.
        sampler: ``sampler(rng) -> genotype`` for the training paths; None = uniform over the space (SPOS).
        score_fn: replaces ``score_genotypes`` (same signature), e.g. a ``nas.distributed.ShardedScorer``.
    """

    def __init__(self, cfg: SearchConfig, out: Path, device: torch.device = torch.device("cpu"),
                 sampler: Optional[Sampler] = None, score_fn: Optional[Callable] = None):
        from nas.optim import create_optimizer, create_scheduler, param_groups_weight_decay

        from nas.train.amp import amp_dtype, configure_backends, grad_scaler

        self.cfg, self.out, self.device, self.sampler = cfg, Path(out), torch.device(device), sampler
        self.score_fn = score_fn or score_genotypes
        s = cfg.supernet
        configure_backends(self.device, cfg.execution.deterministic)
        self.amp = amp_dtype(cfg.execution.amp, self.device)
        self.scaler = grad_scaler(self.device, self.amp)
        with seeded_init(cfg.seed):  # init fixed by the run seed; the caller's global RNG is left as it was
            self.data: ProxyData = build_proxy_data(cfg, self.device)
            self.supernet = create_supernet(cfg.space, num_classes=self.data.num_classes,
                                                **supernet_options(cfg)).to(self.device)
        groups = param_groups_weight_decay(self.supernet, s.weight_decay)
        kwargs = {"momentum": s.momentum, "nesterov": True} if s.optimizer == "sgd" else {}
        self.optimizer = create_optimizer(s.optimizer, groups, lr=s.lr, **kwargs)
        total = max(2, s.epochs * self.data.steps_per_epoch)
        self.scheduler = create_scheduler("warmup_cosine", self.optimizer, total_steps=total,
                                          warmup_steps=min(total - 1, int(s.warmup_epochs * self.data.steps_per_epoch)))
        # In-place distillation: the space's largest path, which holds every shared weight, is the teacher.
        space = get_space(cfg.space)
        self.teacher: Optional[Genotype] = space.largest() if s.distill > 0 else None
        self.fixed: Tuple[Genotype, ...] = (space.cheapest(),) if s.sandwich else ()
        self._snapshots: Optional[List[Dict[str, torch.Tensor]]] = None
        self._score_batches: Optional[tuple] = None  # (val_images, bn, val) on the device, moved once
        self._held_out: Optional[list] = None  # the held-out batches on the device, moved once

    # -- phases ------------------------------------------------------------------------------------
    def phases(self) -> List[Tuple[str, Callable[[int, Hooks], None]]]:
        """Return the preparation phases in order, each ``fn(start_position, hooks)``."""
        return [("supernet", self.train_supernet), ("sgld", self.sgld)]

    @property
    def num_snapshots(self) -> int:
        """Return K, the number of weight snapshots a candidate is scored under."""
        return self.cfg.sgld.snapshots if self.cfg.sgld.enabled else 1

    def sgld_steps(self) -> int:
        """Return the SGLD steps of the whole sgld phase."""
        g = self.cfg.sgld
        return (g.burn_in + (g.snapshots - 1) * g.spacing) if g.enabled else 0

    def prep_units(self) -> int:
        """Return the work units (optimizer steps) of all preparation phases."""
        return self.cfg.supernet.epochs * self.data.steps_per_epoch + self.sgld_steps()

    def prep_done(self, phase: str, position: int) -> int:
        """Return the work units done once ``phase`` has reached ``position``."""
        if phase == "supernet":
            return position * self.data.steps_per_epoch
        done = self.cfg.supernet.epochs * self.data.steps_per_epoch
        if phase == "sgld":
            return done + (self.cfg.sgld.burn_in if position > 0 else 0) + max(0, position - 1) * self.cfg.sgld.spacing
        return done + self.sgld_steps()

    def train_supernet(self, start_epoch: int = 0, hooks: Optional[Hooks] = None) -> None:
        """Train the supernet from ``start_epoch`` to the configured epochs (SPOS), checkpointing each epoch."""
        import time

        hooks, s = hooks or Hooks(), self.cfg.supernet
        for epoch in range(start_epoch, s.epochs):
            t0 = time.time()
            stats = train_steps(self.supernet, self.data.train_batches(epoch), self.optimizer, self.scheduler,
                                seeded_random(self.cfg.seed, "path", epoch), label_smoothing=s.label_smoothing,
                                on_step=lambda loss, acc: hooks.advance(1), sample=self.sampler, amp=self.amp,
                                scaler=self.scaler, paths=s.paths, teacher=self.teacher, distill=s.distill,
                                fixed=self.fixed)
            self.data.warn_skipped()
            for key in ("loss", "acc", "teacher_loss"):
                if key in stats:
                    hooks.scalar(f"supernet/{key}", stats[key], epoch)
            hooks.scalar("supernet/lr", self.optimizer.param_groups[0]["lr"], epoch)
            hooks.log(f"supernet epoch {epoch + 1}/{s.epochs}: loss {stats['loss']:.3f} "
                      f"acc {stats['acc']:.3f} ({time.time() - t0:.0f}s)")
            hooks.save("supernet", epoch + 1)
            hooks.report(phase="supernet", epoch=epoch + 1, loss=stats["loss"], acc=stats["acc"])

    def sgld(self, start_segment: int = 0, hooks: Optional[Hooks] = None) -> None:
        """Run the SGLD segments from ``start_segment``, saving ``snapshots/<k>.pt`` after each.

        The trained (pre-SGLD) weights are kept as ``snapshots/trained.pt``, where the confidence report's
        second chain starts.
        """
        hooks, g = hooks or Hooks(), self.cfg.sgld
        snaps = self.out / "snapshots"
        self._snapshots = None
        if not g.enabled:
            save_checkpoint(snaps / "0.pt", self.supernet.state_dict())
            return
        if start_segment == 0:
            save_checkpoint(snaps / TRAINED, self.supernet.state_dict())
        for seg in range(start_segment, g.snapshots):
            stats = self._sgld_segment(seg, ("sgld-noise", "sgld-path", "sgld"), hooks)
            hooks.scalar("sgld/loss", stats["loss"], seg)
            hooks.scalar("sgld/acc", stats["acc"], seg)
            save_checkpoint(snaps / f"{seg}.pt", self.supernet.state_dict())
            hooks.log(f"sgld snapshot {seg + 1}/{g.snapshots}: loss {stats['loss']:.3f} acc {stats['acc']:.3f}")
            if seg + 1 < g.snapshots:
                hooks.save("sgld", seg + 1)
            hooks.report(phase="sgld", snapshot=seg + 1, loss=stats["loss"], acc=stats["acc"])

    def _sgld_segment(self, seg: int, tags: Tuple[str, str, str], hooks: Hooks) -> Dict[str, float]:
        """Run one SGLD segment (the burn-in for segment 0, else ``spacing`` steps) on the supernet.

        ``tags`` name the seeds of the noise, the sampled paths and the batch order of this chain.
        """
        from nas.optim import SGLD

        g, (noise_tag, path_tag, batch_tag) = self.cfg.sgld, tags
        gen = torch_generator(derive_seed(self.cfg.seed, noise_tag, seg), self.device)
        opt = SGLD(self.supernet.parameters(), lr=g.lr, temperature=g.temperature,
                   num_data=self.data.num_train, prior_precision=g.prior_precision, generator=gen)
        return train_steps(self.supernet, self.data.cycle_batches((batch_tag, seg)), opt, None,
                           seeded_random(self.cfg.seed, path_tag, seg), steps=g.burn_in if seg == 0 else g.spacing,
                           on_step=lambda loss, acc: hooks.advance(1), sample=self.sampler, amp=self.amp,
                           scaler=self.scaler)

    def trained_weights(self) -> Dict[str, torch.Tensor]:
        """Return the trained, pre-SGLD weights (the last snapshot for a folder written before they were kept)."""
        start = self.out / "snapshots" / TRAINED
        if not start.is_file():
            start = self.out / "snapshots" / f"{self.num_snapshots - 1}.pt"
        return load_state(start, "trained supernet", self.device)

    def second_chain(self, hooks: Optional[Hooks] = None) -> List[Dict[str, torch.Tensor]]:
        """Return K snapshots of a second, independently seeded SGLD chain from the trained weights (in memory).

        Same steps and settings as the run's own chain; only the noise and path seeds differ. Deterministic
        for a given run seed, so a resumed run reports the same figures. The supernet's current weights are
        overwritten (scoring always loads a snapshot first).
        """
        hooks = hooks or Hooks()
        self.supernet.load_state_dict(self.trained_weights())
        out = []
        for seg in range(self.cfg.sgld.snapshots):
            self._sgld_segment(seg, ("sgld-noise-chain2", "sgld-path-chain2", "sgld-chain2"), hooks)
            out.append({k: v.detach().clone() for k, v in self.supernet.state_dict().items()})
        return out

    def hit_tables(self, genotypes: Sequence[Genotype], snapshots: Optional[Sequence[Dict[str, torch.Tensor]]] = None,
                   on_done: Optional[Callable[[], None]] = None, batches: Optional[list] = None) -> List[torch.Tensor]:
        """Return, per genotype, its snapshots x images table of hits (default: the run's snapshots, the scoring
        images; ``batches`` of other images, e.g. :meth:`held_out_batches`)."""
        from nas.search.one_shot import hit_tables

        bn, val = self.score_batches()
        return hit_tables(self.supernet, genotypes, self.snapshots() if snapshots is None else snapshots, bn,
                          val if batches is None else batches, on_done=on_done)

    def held_out_batches(self) -> list:
        """Return the validation images after the scoring set (never scored by the search), on the device once."""
        if self._held_out is None:
            self._held_out = [(to_device(x, self.device), to_device(y, self.device))
                              for x, y in self.data.held_out_batches()]
        return self._held_out

    def sibling(self, k: int) -> "OneShotScorer":
        """Return a scorer of this config whose supernet trains with another seed, in ``confidence/supernet<k>``.

        The seed ``derive_seed(seed, "confidence-supernet", k)`` changes the supernet's init, batch order, paths
        and SGLD noise; the data and scoring images stay the same (they follow ``data.seed``).
        """
        import dataclasses

        cfg = dataclasses.replace(self.cfg, seed=derive_seed(self.cfg.seed, "confidence-supernet", k))
        return OneShotScorer(cfg, self.out / "confidence" / f"supernet{k}", self.device, sampler=self.sampler)

    def prepare(self, hooks: Optional[Hooks] = None) -> None:
        """Train the supernet and its SGLD snapshots, unless a finished preparation's snapshots are in place."""
        if (self.out / "snapshots" / f"{self.num_snapshots - 1}.pt").is_file():
            return  # snapshots are written in order and atomically: the last one means all are there
        self.train_supernet(0, hooks)
        self.sgld(0, hooks)

    # -- scoring -----------------------------------------------------------------------------------
    def snapshots(self) -> List[Dict[str, torch.Tensor]]:
        """Return the K weight snapshots written by the sgld phase (read once)."""
        if self._snapshots is None:
            self._snapshots = [load_state(self.out / "snapshots" / f"{k}.pt", "SGLD snapshot", self.device)
                               for k in range(self.num_snapshots)]
        return self._snapshots

    def score_batches(self, val_images: Optional[int] = None):
        """Return the fixed BN-recalibration inputs and validation batches, moved to the scorer's device once."""
        key = val_images or self.cfg.score.val_images
        if self._score_batches is None or self._score_batches[0] != key:
            bn, val = self._cached_score_batches(val_images)
            if self.device.type != "cpu":
                bn = [to_device(x, self.device) for x in bn]
                val = [(to_device(x, self.device), to_device(y, self.device)) for x, y in val]
            self._score_batches = (key, bn, val)
        return self._score_batches[1], self._score_batches[2]

    def _cached_score_batches(self, val_images: Optional[int]):
        """Return the scoring batches; folder data reads them from ``score_cache.pt`` once decoded (same run)."""
        d, sc = self.cfg.data, self.cfg.score
        if d.root is None or not d.cache_scoring:
            return self.data.score_batches(val_images)
        key = {"root": str(d.root), "side": d.proxy_resolution, "seed": d.seed, "split": d.search_val,
               "val_images": val_images or sc.val_images, "bn": [sc.bn_batches, sc.bn_batch_size],
               "eval_batch_size": sc.eval_batch_size, "decode_at_proxy": d.decode_at_proxy}
        path = self.out / "score_cache.pt"
        if path.is_file():
            cached = load_state(path, "scoring cache")
            if isinstance(cached, dict) and cached.get("key") == key:
                return cached["bn"], [tuple(b) for b in cached["val"]]
        bn, val = self.data.score_batches(val_images)
        save_checkpoint(path, {"key": key, "bn": bn, "val": [list(b) for b in val]})
        return bn, val

    def __call__(self, genotypes: Sequence[Genotype], on_done: Optional[Callable[[], None]] = None,
                 snapshots: Optional[Sequence[Dict[str, torch.Tensor]]] = None,
                 val_images: Optional[int] = None) -> List[List[float]]:
        """Return, per genotype, its accuracy under each snapshot (default: the run's own), under ``amp``."""
        bn, val = self.score_batches(val_images)
        with autocast(self.device, self.amp):
            return self.score_fn(self.supernet, genotypes, self.snapshots() if snapshots is None else snapshots,
                                 bn, val, on_done=on_done)

    def state_dict(self) -> dict:
        """Return the supernet, optimizer and scheduler state."""
        state = {"supernet": self.supernet.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict()}
        if self.scaler.is_enabled():  # fp16 only: the loss scale a resumed run continues with
            state["scaler"] = self.scaler.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
        self.supernet.load_state_dict(state["supernet"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if "scaler" in state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])

    def final_weights(self) -> Dict[str, torch.Tensor]:
        """Return the weights saved as ``supernet.pt``: the last snapshot."""
        return self.snapshots()[-1]


def supernet_options(cfg: SearchConfig) -> Dict[str, Any]:
    """Return the proxy options (``supernet.width``, ``supernet.stem_stride``) the space's supernet takes.

    A space whose supernet has no such option (a user's own plugin, say) simply does not get it, unless the
    recipe changed it from its default: then it is a one-line error rather than a setting silently ignored.
    """
    plugin, default = get_plugin(cfg.space), SupernetConfig()
    out: Dict[str, Any] = {}
    for key in ("width", "stem_stride"):
        value = getattr(cfg.supernet, key)
        if plugin.supernet_accepts(key):
            out[key] = value
        elif value != getattr(default, key):
            raise NasError(f"supernet.{key} does not apply to space {cfg.space!r}: its supernet takes no {key!r}")
    return out


class StatelessScorer:
    """The preparation side of a scorer that trains nothing (a table look-up, a training-free proxy)."""

    num_snapshots = 1

    def phases(self) -> list:
        """Return no preparation phases: nothing is trained."""
        return []

    def prep_units(self) -> int:
        """Return 0: no preparation."""
        return 0

    def prep_done(self, phase: str, position: int) -> int:
        """Return 0: no preparation."""
        del phase, position
        return 0

    def state_dict(self) -> dict:
        """Return an empty state: there is none."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Accept the empty state."""
        del state

    def final_weights(self) -> None:
        """Return None: there are no weights to save."""
        return None


class TabularScorer(StatelessScorer):
    """Score candidates by looking them up in a tabular benchmark: no supernet, no training.

    The honest protocol: a candidate's score is its validation value only (as a fraction); the test value is
    read for the returned genotype alone, by ``report``. The scorer is stateless: the strategy counts its
    queries and holds the best so far, so a resumed run needs nothing from here.

    Args:
        table: the loaded ``nas.benchmarks.Table``.
        valid: the column a search is scored on.
        test: the column reported for the returned genotype.
    """

    def __init__(self, table, valid: str, test: str):
        self.table, self.valid, self.test = table, valid, test

    @classmethod
    def for_config(cls, plugin, bench_cfg) -> "TabularScorer":
        """Return the scorer of a search config's ``benchmark`` section on ``plugin``'s space (checked)."""
        from nas.benchmarks import load_table, resolve_benchmark

        source, bench, test = resolve_benchmark(plugin, bench_cfg.name, bench_cfg.report)
        return cls(load_table(plugin.space, source, bench_cfg.table), bench.valid, test)

    def __call__(self, genotypes: Sequence[Genotype],
                 on_done: Optional[Callable[[], None]] = None) -> List[List[float]]:
        """Return, per genotype, ``[validation value / 100]``."""
        out = [[self.table.value(g, self.valid) / 100.0] for g in genotypes]
        if on_done is not None:
            on_done()  # one progress unit per round
        return out

    def report(self, g: Genotype) -> Dict[str, float]:
        """Return the validation and test values (percentages) of ``g``, the returned genotype."""
        return {"valid": self.table.value(g, self.valid), "test": self.table.value(g, self.test)}

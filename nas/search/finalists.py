"""Finalist selection: retrain the diversity scheduler's distinct cycle-end candidates briefly, keep the best.

Our reading of PV-NAS's "network diversity" (arXiv 2011.00826; its method section could not be consulted):
each warm restart of the alpha LR ends a cycle whose (budget-fitted) argmax is a candidate; the distinct
candidates are trained for ``finalists.epochs`` on the proxy training clips and scored by top-1 on the
held-out validation clips (never used for weight or alpha steps), and the best one is the search's result.
Training starts from the supernet's shared weights (``init: supernet``, the default: brief training then
ranks trained sub-networks rather than random inits) or from scratch (``init: scratch``). This is a short
in-memory proxy training, not a retraining run: it writes no run folder (``nas-retrain`` does that).

The image one-shot search (``st_topo``) uses the same idea on its own data (``ProxyFinalists``): the top
``finalists.k`` of the final population, each trained for ``finalists.epochs`` on the proxy training images
and scored on the validation images the search never scored on (those after ``score.val_images``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Tuple

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from nas.core.genotype import Genotype
from nas.data.loader import make_loader
from nas.search.strategies.window import Finalist, pick_finalists  # re-exported: the strategies' records
from nas.train.amp import to_device
from nas.train.loop import StepOptions, fit
from nas.utils.seeds import derive_seed, seeded_init, torch_generator

__all__ = ["Finalist", "pick_finalists", "BriefSgd", "FinalistTrainer", "ProxyFinalists", "train_briefly", "evaluate"]


class FinalistTrainer:
    """Train a finalist briefly on the search's weight-training clips and score it on its validation clips.

    Args:
        trainer: the run's ``BilevelTrainer`` (supernet, loaders, device, class count).
        epochs, batch_size: the brief training's length and batch.
        lr, momentum, nesterov, weight_decay: its SGD, cosine-annealed per step (see :class:`BriefSgd`).
        init: ``supernet`` (start from the shared weights) or ``scratch`` (a fresh seeded init).
        seed: the run seed; each finalist's init and batch order derive from it and its genotype only.
    """

    def __init__(self, trainer, *, epochs: int, lr: float, batch_size: int, init: str, seed: int,
                 momentum: float = 0.9, nesterov: bool = False, weight_decay: float = 1e-4):
        self.trainer, self.epochs, self.batch_size = trainer, epochs, batch_size
        self.sgd = BriefSgd(lr, momentum, nesterov, weight_decay)
        self.init, self.seed = init, seed

    def steps(self) -> int:
        """Return the training steps of one finalist."""
        n = len(self.trainer.data.train.dataset)
        return self.epochs * (n // self.batch_size if n >= 2 * self.batch_size else -(-n // self.batch_size))

    def _model(self, g: Genotype) -> torch.nn.Module:
        from nas.spaces import create_model

        net = self.trainer.net
        with seeded_init(derive_seed(self.seed, "finalist", str(g))):
            if self.init == "supernet":
                return net.extract(g)
            return create_model(g, num_classes=net.num_classes, width=net.width)

    def __call__(self, g: Genotype, on_step: Callable[[float], None] = lambda loss: None) -> float:
        """Return ``g``'s held-out top-1 after the brief training."""
        t = self.trainer
        model = self._model(g).to(t.device)
        ds = t.data.train.dataset
        loader = make_loader(ds, self.batch_size, device=t.device, shuffle=True,
                             drop_last=len(ds) >= 2 * self.batch_size,
                             generator=torch_generator(derive_seed(self.seed, "finalist-order", str(g))))
        s = self.sgd
        train_briefly(model, loader, self.epochs, s.lr, t.device, on_step, momentum=s.momentum, nesterov=s.nesterov,
                      weight_decay=s.weight_decay, min_readable=t.cfg.data.min_readable)
        return evaluate(model, t.data.val, t.device, t.cfg.data.min_readable)


@dataclass(frozen=True)
class BriefSgd:
    """A brief training's optimizer: SGD with these settings, its learning rate cosine-annealed to 0 per step."""

    lr: float  # peak learning rate
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 1e-4  # on every parameter

    def build(self, model: torch.nn.Module, steps: int) -> Tuple[torch.optim.Optimizer, Any]:
        """Return ``(optimizer, per-step schedule)`` over ``steps`` steps of ``model``'s parameters."""
        opt = torch.optim.SGD(model.parameters(), lr=self.lr, momentum=self.momentum, nesterov=self.nesterov,
                              weight_decay=self.weight_decay)
        return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)


def train_briefly(model: torch.nn.Module, loader: DataLoader, epochs: int, lr: float, device: torch.device,
                  on_step: Callable[[float], None] = lambda loss: None, *, momentum: float = 0.9,
                  nesterov: bool = False, weight_decay: float = 1e-4, min_readable: float = 0.5) -> None:
    """Train ``model`` for ``epochs`` over ``loader`` with a :class:`BriefSgd` of these settings (one loop: ``fit``);
    an epoch that reads less than ``min_readable`` of its clips stops with an error."""
    opt, sched = BriefSgd(lr, momentum, nesterov, weight_decay).build(model, max(1, epochs * len(loader)))
    fit(model, lambda epoch: loader, epochs, opt, sched, F.cross_entropy,
        StepOptions(device=device, min_readable=min_readable),
        progress=lambda i, loss: on_step(loss))


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: DataLoader, device: torch.device, min_readable: float = 0.5) -> float:
    """Return top-1 of ``model`` over ``loader`` (multi-view clips averaged); too few readable clips is an error."""
    from nas.data.collate import check_readable
    from nas.data.video import multiview_logits

    model.eval()
    hits, total, skipped = None, 0, 0
    for x, y, n_bad in loader:
        skipped += n_bad
        if x is not None:  # hits add up on the device: one read back per candidate, not one per batch
            batch = (multiview_logits(model, to_device(x, device)).argmax(1) == to_device(y, device)).sum()
            hits = batch if hits is None else hits + batch
            total += len(y)
    check_readable(total, skipped, "clips", min_readable, "the held-out clips")
    return int(hits) / total


class ProxyFinalists:
    """Train a one-shot search's finalist briefly on the proxy training images; score it on held-out images.

    Args:
        scorer: the run's ``OneShotScorer`` (supernet, proxy data, trained weights, device).
        epochs: passes over the proxy training images.
        lr, momentum, nesterov, weight_decay: the SGD, cosine-annealed per step (see :class:`BriefSgd`).
        init: ``supernet`` (extract from the trained, pre-SGLD shared weights) or ``scratch`` (a fresh init).
        seed: the run seed; each finalist's init and batch order derive from it and its genotype only.
    """

    def __init__(self, scorer, *, epochs: int, lr: float, init: str, seed: int, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 4e-5):
        self.scorer, self.epochs, self.init, self.seed = scorer, epochs, init, seed
        self.sgd = BriefSgd(lr, momentum, nesterov, weight_decay)

    def held_out(self):
        """Return the held-out batches on the scorer's device (a one-line error when there are none)."""
        from nas.errors import NasError

        batches = self.scorer.held_out_batches()
        if not batches:
            raise NasError("finalists.k > 0 needs validation images beyond score.val_images to score on")
        return batches

    def _model(self, g: Genotype) -> torch.nn.Module:
        from nas.spaces import create_model

        s = self.scorer
        with seeded_init(derive_seed(self.seed, "finalist", str(g))):
            if self.init == "supernet":
                s.supernet.load_state_dict(s.trained_weights())
                return s.supernet.extract(g)
            cfg = s.cfg.supernet
            return create_model(g, num_classes=s.data.num_classes, width=cfg.width, stem_stride=cfg.stem_stride,
                                dropout=0.0)

    def __call__(self, g: Genotype) -> float:
        """Return ``g``'s held-out top-1 after the brief training."""
        from nas.search.one_shot import accuracy

        s = self.scorer
        model = self._model(g).to(s.device).to(memory_format=torch.channels_last)
        opt, sched = self.sgd.build(model, max(1, self.epochs * s.data.steps_per_epoch))

        def batches(epoch: int):
            # The proxy stream checks its own readable share; the loop sees no skipped samples.
            return ((x, y, 0) for x, y in s.data.train_batches(derive_seed(self.seed, "finalist-order", str(g),
                                                                           epoch)))

        fit(model, batches, self.epochs, opt, sched, F.cross_entropy, StepOptions(device=s.device))
        return accuracy(model, self.held_out())

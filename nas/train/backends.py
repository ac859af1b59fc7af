"""Where a trainer's steps run: one process (``LocalBackend``); the DDP backend lives in ``nas.distributed.train``.

A backend only decides how an epoch's batches are split among workers, how per-worker numbers are
reduced, whether this worker writes the run folder, and what it reports after each epoch. Everything else
(the epoch bookkeeping, checkpoints, metrics) is the trainer's.
"""
from __future__ import annotations

import abc
from typing import Any, Dict

import torch
from torch import nn
from torch.utils.data import DataLoader

from nas.data.loader import make_loader  # re-exported: the one loader factory
from nas.utils.seeds import epoch_seed

__all__ = ["Backend", "LocalBackend", "make_loader"]


class Backend(abc.ABC):
    """The single-process defaults; a multi-worker backend overrides what differs."""

    device = torch.device("cpu")  # where this worker trains (its loaders pin memory for a GPU)
    rank = 0  # this worker's index
    world = 1  # number of workers
    name = "local"  # recorded in meta.json

    @property
    def writer(self) -> bool:
        """Return whether this worker writes checkpoints, metrics.json and TensorBoard."""
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """Return the module the training step calls (DDP wraps the model)."""
        return model

    @abc.abstractmethod
    def train_loader(self, ds: Any, batch_size: int, workers: int, seed: int, epoch: int,
                     gen: torch.Generator) -> DataLoader:
        """Return this worker's loader of the epoch's training batches."""

    def mean(self, value: float) -> float:
        """Return the mean of ``value`` over the workers."""
        return value

    def report(self, row: Dict[str, Any]) -> None:
        """Report the epoch's metric row to the cluster (nothing to do locally)."""

    def extra(self) -> Dict[str, Any]:
        """Return the fields this backend adds to checkpoints and metrics.json."""
        return {}


class LocalBackend(Backend):
    """Train in this process on ``DataLoader(shuffle=True)`` batches from the run's generator."""

    def __init__(self, device: Any = "cpu"):
        self.device = torch.device(device)

    def train_loader(self, ds: Any, batch_size: int, workers: int, seed: int, epoch: int,
                     gen: torch.Generator) -> DataLoader:
        """Return the epoch's shuffled batches, their order fixed by (seed, epoch) through ``gen``."""
        gen.manual_seed(epoch_seed(seed, epoch))
        return make_loader(ds, batch_size, workers, device=self.device, shuffle=True, generator=gen, drop_last=True)

"""Retraining derived architectures from scratch: the epoch loop, checkpoints and the ``retrain`` entry point."""
from __future__ import annotations

from nas.train.checkpoint import load_checkpoint, save_checkpoint
from nas.train.loop import ModelEma, accuracy, evaluate, train_one_epoch
from nas.train.retrain import evaluate_checkpoint, retrain, run_config

__all__ = ["ModelEma", "accuracy", "evaluate", "evaluate_checkpoint", "load_checkpoint", "retrain", "run_config",
           "save_checkpoint", "train_one_epoch"]

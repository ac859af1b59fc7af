"""Training: the one loop (``fit``), the retraining trainer, its backends and checkpoints, and ``retrain``."""
from __future__ import annotations

from nas.train.checkpoint import load_checkpoint, save_checkpoint
from nas.train.loop import ModelEma, accuracy, evaluate, fit, train_one_epoch
from nas.train.retrain import evaluate_checkpoint, retrain, run_config
from nas.train.trainer import Trainer

__all__ = ["ModelEma", "Trainer", "accuracy", "evaluate", "evaluate_checkpoint", "fit", "load_checkpoint", "retrain",
           "run_config", "save_checkpoint", "train_one_epoch"]

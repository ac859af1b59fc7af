"""The one trainer drives a task it knows nothing about: its data, its head on a backbone, its metrics."""
import json

import torch
from torch import nn
from torch.utils.data import TensorDataset

import nas
from nas.config import from_dict
from nas.config.retrain import RetrainConfig
from nas.tasks import Datasets, Task
from nas.train import Trainer
from nas.train.backends import LocalBackend

TORCH_THREADS = 1
TINY = nas.load_genotype(str(nas.get_space("st_topo").cheapest()))


class Brightness(Task):
    """Tell bright images from dark ones; primary metric ``acc`` (a fraction)."""

    name = "brightness_toy"
    modality = "image"
    primary = "acc"
    scalars = ("val_loss", "acc")

    def datasets(self, cfg, genotype):
        gen = torch.Generator().manual_seed(0)
        y = torch.randint(0, 2, (48,), generator=gen)
        x = torch.rand(48, 3, 16, 16, generator=gen) + y[:, None, None, None].float()
        return Datasets(TensorDataset(x[:32], y[:32]), TensorDataset(x[32:], y[32:]), 2)

    def build_model(self, genotype, cfg, num_classes):
        backbone = nas.create_backbone(genotype)
        return nn.Sequential(backbone, nn.Linear(backbone.num_features, num_classes))

    def loss(self, cfg):
        return nn.CrossEntropyLoss()

    def batch_metrics(self, output, target):
        return {"loss": float(nn.functional.cross_entropy(output, target, reduction="sum")),
                "hits": int((output.argmax(1) == target).sum())}

    def finish_metrics(self, sums, n):
        return {"val_loss": sums["loss"] / n, "acc": sums["hits"] / n}


def test_trainer_drives_a_task_of_its_own(tmp_path):
    cfg = from_dict(RetrainConfig, {"epochs": 2, "batch_size": 8, "eval_batch_size": 16, "ema_decay": 0.5})
    t = Trainer(Brightness(), cfg, TINY, tmp_path, torch.device("cpu"), LocalBackend(), log=lambda s: None)
    last = t.fit()
    assert set(last) >= {"val_loss", "acc", "ema_acc", "train_loss"} and "top1" not in last
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["best_acc"] == max(r["ema_acc"] for r in t.history[: best["epoch"]])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["task"] == "brightness_toy" and len(metrics["epochs"]) == 2

"""Differentiable search on image spaces (nb201): the one-shot search's proxy images as bilevel loaders.

The images are those of the one-shot search (``nas.search.data.proxy_datasets``: the embedded shapes set, or
``--data DIR``). Our reading of DARTS's split (Liu et al. 2019, section 3.3: half of CIFAR-10's training set
for the weights, the other half for alpha): the training images are shuffled by ``data.seed`` and halved,
weight steps see the first half and alpha steps the second; the argmax genotype of every epoch is scored on
the first ``score.val_images`` validation images, which neither step sees.
"""
from __future__ import annotations

import random
from typing import Optional, Sequence, Tuple

from torch.utils.data import Dataset, TensorDataset

from nas.config.search import SearchConfig
from nas.data.folders import ImageFolderDataset
from nas.search.bilevel import BilevelData, seeded_loader

__all__ = ["build_image_data", "bilevel_parts", "table_report"]


def _subset(ds: Dataset, idx: Sequence[int]) -> Dataset:
    """Return a dataset of ``ds``'s samples ``idx`` (its own object, so each split keeps its own epoch key)."""
    if isinstance(ds, TensorDataset):
        return TensorDataset(*(t[list(idx)] for t in ds.tensors))
    from nas.search.data import ProxyFolder

    base = ImageFolderDataset([ds.samples[i] for i in idx], ds.classes, ds.transform, ds.seed)
    return ProxyFolder(base, ds.side) if isinstance(ds, ProxyFolder) else base


def build_image_data(cfg: SearchConfig) -> BilevelData:
    """Return the weight, alpha and scoring loaders of an image search (batches ordered by ``cfg.seed``)."""
    from nas.search.data import proxy_datasets

    d, batch = cfg.data, cfg.search.batch_size
    train, val, num_classes = proxy_datasets(d)
    order = list(range(len(train)))
    random.Random(d.seed).shuffle(order)  # the data seed: the same halves for every --seed
    half = max(1, len(order) // 2)
    weights, alpha = _subset(train, order[:half]), _subset(train, order[half:] or order[:half])
    scoring = _subset(val, range(min(len(val), cfg.score.val_images)))
    return BilevelData(seeded_loader(weights, batch, True, cfg.seed, d.workers),
                       seeded_loader(alpha, batch, True, cfg.seed + 1, d.workers),
                       seeded_loader(scoring, cfg.score.eval_batch_size, False, cfg.seed, d.workers), num_classes)


def bilevel_parts(cfg, modality: str) -> Tuple[BilevelData, Optional[object]]:
    """Return a bilevel search's loaders and its finalist options (``finalists.*``), or None for no finalists.

    The video search retrains its diversity candidates; an image search returns the genotype derived from
    alpha within the budget.
    """
    if modality == "video":
        from nas.search.bilevel import build_video_data

        return build_video_data(cfg.data, cfg.seed, cfg.search.batch_size), cfg.finalists
    return build_image_data(cfg), None


def table_report(tabular, cfg, g) -> dict:
    """Return the table's figures of the returned genotype ``g`` (never seen by the search), with its rank."""
    found = tabular.report(g)
    column = tabular.table.column(tabular.test)
    rank = 1 + sum(v > found["test"] for v in column.values())
    b = cfg.benchmark
    return {"name": b.name, "report": b.report, "valid_column": tabular.valid, "test_column": tabular.test,
            "table": str(tabular.table.path), "valid": found["valid"], "test": found["test"], "rank": rank,
            "cells": len(column)}

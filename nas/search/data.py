"""Proxy data for one-shot search: seeded, resumable batch streams over the embedded set or a folder."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import torch
from torch.utils.data import Dataset, TensorDataset

from nas.config.search import DataConfig, SearchConfig
from nas.data.collate import check_readable, warn_skipped
from nas.data.folders import IMAGE_ERRORS, ImageFolderDataset, image_folder_datasets
from nas.data.loader import make_loader
from nas.data.synthetic import ShapesSpec, shapes_datasets
from nas.train.amp import to_device
from nas.utils.seeds import derive_seed as _seed
from nas.utils.seeds import seeded_random, torch_generator

__all__ = ["ProxyData", "build_proxy_data", "proxy_datasets", "ProxyFolder"]

Batch = Tuple[torch.Tensor, torch.Tensor]


def _cl(x: torch.Tensor) -> torch.Tensor:
    # Channels-last is several times faster for depthwise convs on CPU (oneDNN), and no slower elsewhere.
    return x.contiguous(memory_format=torch.channels_last)


class ProxyFolder(ImageFolderDataset):
    """An image folder decoded near the proxy resolution: JPEGs are scaled down in the DCT domain while decoding.

    ``Image.draft`` lets libjpeg decode at 1/2, 1/4 or 1/8 of the stored size; asking for at least twice the
    proxy side keeps the random crop's detail while a 500 px ImageNet JPEG decodes several times faster. Other
    formats decode at full size, as before.
    """

    def __init__(self, base: ImageFolderDataset, side: int):
        super().__init__(base.samples, base.classes, base.transform, base.seed)
        self.side = side

    def __getitem__(self, i: int):
        from PIL import Image

        path, label = self.samples[i]
        try:
            with Image.open(path) as im:
                im.draft("RGB", (2 * self.side, 2 * self.side))
                img = im.convert("RGB")
        except IMAGE_ERRORS:
            return None
        return self.transform(img, seeded_random(self.seed, self.key, i)), label


class ProxyData:
    """Training batches whose order depends only on (seed, epoch or tag), plus fixed scoring batches."""

    def __init__(self, train: Dataset, val: Dataset, num_classes: int, batch_size: int, seed: int,
                 bn_batches: int, bn_batch_size: int, val_images: int, eval_batch_size: int, workers: int = 0,
                 min_readable: float = 0.5):
        self.train, self.val, self.num_classes = train, val, num_classes
        self.batch_size, self.seed, self.workers = batch_size, seed, workers
        self.bn_batches, self.bn_batch_size = bn_batches, bn_batch_size
        self.val_images, self.eval_batch_size = val_images, eval_batch_size
        self.skipped, self.min_readable = 0, min_readable
        self._score: Optional[Tuple[List[torch.Tensor], List[Batch]]] = None
        self.device = torch.device("cpu")  # where batches go; folder batches are pinned on the way to a GPU

    def to(self, device: torch.device) -> "ProxyData":
        """Keep in-memory (embedded) images on ``device`` once, and pin folder batches when it is a GPU.

        Batch order is still drawn on the CPU from the same seeds, so the batches are those a CPU run sees.
        """
        device = torch.device(device)
        self.device = device
        for name in ("train", "val"):
            ds = getattr(self, name)
            if isinstance(ds, TensorDataset) and ds.tensors[0].device != device:
                setattr(self, name, TensorDataset(*(t.to(device) for t in ds.tensors)))
        return self

    @property
    def num_train(self) -> int:
        """Return the number of training samples (N in the SGLD noise scale)."""
        return len(self.train)

    @property
    def steps_per_epoch(self) -> int:
        """Return the number of full batches per epoch."""
        return max(1, len(self.train) // self.batch_size)

    def _loader(self, dataset: Dataset, batch_size: int, seed: int, shuffle: bool = True,
                where: str = "the training images") -> Iterator[Batch]:
        if isinstance(dataset, TensorDataset):
            x, y = dataset.tensors
            gen = torch_generator(seed)
            order = torch.randperm(len(y), generator=gen) if shuffle else torch.arange(len(y))
            order = order.to(x.device)
            for i in range(0, len(order) - batch_size + 1, batch_size):
                idx = order[i : i + batch_size]
                yield _cl(x[idx]), y[idx]
            return
        if hasattr(dataset, "set_epoch"):  # augmentation draws keyed by (dataset seed, this key, sample)
            dataset.set_epoch(seed)
        loader = make_loader(dataset, batch_size, self.workers, device=self.device, shuffle=shuffle, drop_last=True,
                             generator=torch_generator(seed))
        read = bad = 0
        for x, y, skipped in loader:
            self.skipped += skipped
            bad += skipped
            read += 0 if y is None else len(y)
            if x is not None and len(y) > 1:
                # Copied while still pinned (a layout change on the host would make an unpinned copy first).
                yield _cl(to_device(x, self.device)), to_device(y, self.device)
            if read + bad >= 8 * batch_size:  # judge the share early, not after a whole epoch of failures
                check_readable(read, bad, "images", self.min_readable, where)
        check_readable(read, bad, "images", self.min_readable, where)

    def train_batches(self, epoch: int) -> Iterator[Batch]:
        """Return one epoch of shuffled training batches, the same for the same (seed, epoch)."""
        return self._loader(self.train, self.batch_size, _seed(self.seed, "epoch", epoch))

    def cycle_batches(self, tag: object) -> Iterator[Batch]:
        """Return an endless stream of training batches seeded by ``tag``."""
        return itertools.chain.from_iterable(
            self._loader(self.train, self.batch_size, _seed(self.seed, tag, i)) for i in itertools.count())

    def score_batches(self, val_images: Optional[int] = None) -> Tuple[List[torch.Tensor], List[Batch]]:
        """Return fixed BN-recalibration inputs and validation batches (built once per size, kept in memory).

        ``val_images`` changes the size of the scoring set (default: the config's); a new size rebuilds it.
        """
        if val_images is not None and val_images != self.val_images:
            self.val_images, self._score = val_images, None
        if self._score is None:
            bn = [x for x, _ in itertools.islice(
                self._loader(self.train, self.bn_batch_size, _seed(self.seed, "bn")), self.bn_batches)]
            xs, ys, n = [], [], 0
            for x, y in self._loader(self.val, min(self.eval_batch_size, len(self.val)), 0, shuffle=False,
                                     where="the scoring images"):
                xs.append(x)
                ys.append(y)
                n += len(y)
                if n >= self.val_images:
                    break
            x, y = torch.cat(xs)[: self.val_images], torch.cat(ys)[: self.val_images]
            val = [(x[i : i + self.eval_batch_size], y[i : i + self.eval_batch_size])
                   for i in range(0, len(y), self.eval_batch_size)]
            self._score = (bn, val)
        return self._score

    def held_out_batches(self) -> List[Batch]:
        """Return the validation images after the scoring set (never scored by the search), in fixed batches."""
        out: List[Batch] = []
        seen = 0
        for x, y in self._loader(self.val, min(self.eval_batch_size, len(self.val)), 0, shuffle=False,
                                 where="the held-out images"):
            skip = max(0, min(len(y), self.val_images - seen))
            seen += len(y)
            if skip < len(y):
                out.append((x[skip:], y[skip:]))
        return out

    def warn_skipped(self) -> None:
        """Warn once about unreadable images skipped since the last call."""
        warn_skipped(self.skipped)
        self.skipped = 0


def proxy_datasets(d: DataConfig) -> Tuple[Dataset, Dataset, int]:
    """Return the proxy ``(train, val, num_classes)``: the embedded shapes set unless ``d.root`` is set."""
    if d.root is None:
        return shapes_datasets(ShapesSpec(train=d.train_size, val=d.val_size, resolution=d.proxy_resolution,
                                          noise=d.noise, shapes=d.shapes, seed=d.seed))
    root = Path(d.root)
    if d.search_val == "split" and (root / "train").is_dir():
        root = root / "train"  # hold out a seeded share of train/: val/ stays unseen until retraining reports
    train, val, classes = image_folder_datasets(root, d.proxy_resolution, d.val_fraction, d.seed)
    if d.decode_at_proxy:
        train, val = ProxyFolder(train, d.proxy_resolution), ProxyFolder(val, d.proxy_resolution)
    return train, val, len(classes)


def build_proxy_data(cfg: SearchConfig, device: Optional[torch.device] = None) -> ProxyData:
    """Build the proxy data of a search config: the embedded shapes set unless ``data.root`` is set.

    With ``device`` the in-memory images live there (see :meth:`ProxyData.to`).
    """
    d, s = cfg.data, cfg.score
    train, val, num_classes = proxy_datasets(d)
    data = ProxyData(train, val, num_classes, d.batch_size, cfg.seed, s.bn_batches, s.bn_batch_size,
                     s.val_images, s.eval_batch_size, d.workers, d.min_readable)
    return data.to(device) if device is not None else data

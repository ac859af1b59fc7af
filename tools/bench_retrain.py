"""Measure retraining throughput: st_topo:mobilenetv2 vs a hand-written MobileNetV2, and loaders vs model steps."""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader

import nas
from nas.data.folders import image_folder_datasets
from nas.data.synthetic import ShapesSpec, shapes_datasets
from nas.data.collate import collate_skip

TARGET = 0.05  # the derived network may be at most 5% slower than the plain one

# MobileNetV2-1.0 (Sandler et al. 2018, Table 2): expansion t, channels c, repeats n, first stride s.
MBV2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    """Return conv + BN (+ ReLU6)."""
    layers = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, nn.ReLU6(inplace=True)) if act else nn.Sequential(*layers)


class Block(nn.Module):
    """The plain MobileNetV2 inverted residual block."""

    def __init__(self, c_in: int, c_out: int, stride: int, t: int):
        super().__init__()
        hidden = c_in * t
        layers = [conv_bn(c_in, hidden, 1)] if t != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), conv_bn(hidden, c_out, 1, act=False)]
        self.conv = nn.Sequential(*layers)
        self.res = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.res else self.conv(x)


def plain_mobilenetv2(num_classes: int) -> nn.Module:
    """Return a straightforward nn.Sequential MobileNetV2-1.0."""
    layers: List[nn.Module] = [conv_bn(3, 32, 3, 2)]
    c_in = 32
    for t, c, n, s in MBV2:
        for i in range(n):
            layers.append(Block(c_in, c, s if i == 0 else 1, t))
            c_in = c
    layers += [conv_bn(c_in, 1280, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
               nn.Linear(1280, num_classes)]
    return nn.Sequential(*layers)


def make_step(model: nn.Module, batch: int, res: int, device: torch.device) -> Callable[[], None]:
    """Return a closure running one forward + backward + SGD step on a fixed random batch."""
    model.to(device).train()
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=4e-5)
    x = torch.randn(batch, 3, res, res, device=device)
    y = torch.randint(0, 1000, (batch,), device=device)

    def step() -> None:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_models(args, device: torch.device) -> Dict[str, float]:
    """Return median images/s of both models, measured in interleaved repetitions."""
    torch.manual_seed(0)
    models = {"st_topo:mobilenetv2": nas.create_model("st_topo:mobilenetv2", num_classes=1000),
              "plain MobileNetV2": plain_mobilenetv2(1000)}
    counts = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    assert len(set(counts.values())) == 1, f"the models differ in size: {counts}"
    steps = {k: make_step(m, args.batch_size, args.resolution, device) for k, m in models.items()}
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    rates: Dict[str, List[float]] = {k: [] for k in steps}
    for rep in range(args.reps):
        order = list(steps) if rep % 2 == 0 else list(steps)[::-1]
        for k in order:
            _sync(device)
            start = time.perf_counter()
            for _ in range(args.steps):
                steps[k]()
            _sync(device)
            rates[k].append(args.steps * args.batch_size / (time.perf_counter() - start))
    print(f"models: {counts['plain MobileNetV2']:,} params each, batch {args.batch_size}, {args.resolution}px, "
          f"{args.reps} interleaved reps x {args.steps} steps on {device}")
    return {k: statistics.median(v) for k, v in rates.items()}


def loader_rate(loader: DataLoader, max_batches: int) -> float:
    """Return images/s of iterating ``loader`` alone (after one warm-up batch)."""
    it = iter(loader)
    next(it)
    n, start = 0, time.perf_counter()
    for i, (x, _, _) in enumerate(it):
        n += len(x)
        if i + 1 >= max_batches:
            break
    return n / (time.perf_counter() - start)


def write_folder(root: Path, classes: int, per_class: int, side: int) -> Path:
    """Write an ImageNet-style folder of random JPEGs (``side`` x ~1.3 side, like resized ImageNet photos)."""
    rng = np.random.default_rng(0)
    for c in range(classes):
        d = root / "train" / f"n{c:08d}"
        d.mkdir(parents=True)
        for i in range(per_class):
            arr = rng.integers(0, 255, (side, side * 4 // 3, 3), dtype=np.uint8)
            Image.fromarray(arr).save(d / f"{i}.JPEG", quality=90)
    return root


def bench_loaders(args) -> Dict[str, float]:
    """Return images/s of the embedded-set loader and of an ImageNet-style folder loader."""
    out = {}
    train, _, _ = shapes_datasets(ShapesSpec(train=args.batch_size * 40, val=1, resolution=args.resolution))
    out["embedded set"] = loader_rate(DataLoader(train, args.batch_size, shuffle=True, collate_fn=collate_skip), 30)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_folder(Path(tmp), 4, args.batch_size * 4, args.folder_side)
        train, _, _ = image_folder_datasets(root, args.resolution, val_fraction=0.1, seed=0)
        for workers in sorted({0, args.workers}):
            loader = DataLoader(train, args.batch_size, shuffle=True, num_workers=workers, collate_fn=collate_skip)
            out[f"image folder ({args.folder_side}px JPEG, {workers} workers)"] = loader_rate(loader, 12)
    return out


def main() -> None:
    """Run both benchmarks and print the figures."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--steps", type=int, default=3, help="training steps per repetition")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers for the folder loader")
    p.add_argument("--folder-side", type=int, default=160, help="short side of the written JPEGs")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default); 1 is fastest "
                                                            "on a busy machine, where spinning OpenMP threads stall")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rates = bench_models(args, device)
    for k, v in rates.items():
        print(f"  train step  {k:<24} {v:9.1f} images/s (median)")
    ratio = rates["st_topo:mobilenetv2"] / rates["plain MobileNetV2"]
    verdict = "OK" if ratio >= 1 - TARGET else "SLOWER than target"
    print(f"  ratio st_topo / plain = {ratio:.3f} (target >= {1 - TARGET:.2f}: {verdict})")
    step_rate = min(rates.values())
    for k, v in bench_loaders(args).items():
        print(f"  loader only {k:<40} {v:9.1f} images/s = {v / step_rate:6.1f}x the model step")


if __name__ == "__main__":
    main()

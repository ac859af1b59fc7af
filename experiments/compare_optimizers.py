"""Train one derived network on the embedded set with SGD+momentum, Adam and AdaRem for equal steps; plot losses."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Dict, List

import torch
from torch import nn
from torch.utils.data import DataLoader

import nas
from nas.data.synthetic import ShapesSpec, shapes_datasets
from nas.optim import WarmupCosine, create_optimizer, param_groups_weight_decay
from nas.data.collate import collate_skip
from nas.train.loop import MeanLoss, StepOptions, evaluate, train_step

# name -> (registry name, kwargs). LRs are each method's usual value for this batch size, not tuned per method:
# SGD 0.1 with Nesterov momentum; Adam 1e-3 (Kingma & Ba); AdaRem 0.4, the reference reconstruction's default.
OPTIMIZERS = {
    "sgd": ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    "adam": ("adam", {"lr": 1e-3}),
    "adarem": ("adarem", {"lr": 0.4}),
}


def infinite_batches(ds, batch: int, seed: int):
    """Yield training batches forever in an order fixed by ``seed`` (the same for every optimizer)."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        yield from DataLoader(ds, batch, shuffle=True, generator=gen, collate_fn=collate_skip, drop_last=True)


def train_one(name: str, args, train, val, writer) -> Dict[str, object]:
    """Train a fresh copy of the network with optimizer ``name``; return its loss curve and final metrics."""
    torch.manual_seed(args.seed)
    model = nas.create_model(args.genotype, num_classes=10, stem_stride=args.stem_stride)
    reg, kwargs = OPTIMIZERS[name]
    opt = create_optimizer(reg, param_groups_weight_decay(model, args.weight_decay), **kwargs)
    sched = WarmupCosine(opt, total_steps=args.steps, warmup_steps=args.steps // 10)
    losses: List[float] = []
    objective, opts = MeanLoss(nn.functional.cross_entropy), StepOptions(device=torch.device("cpu"))
    start = time.perf_counter()
    model.train()
    for step, (x, y, _) in zip(range(args.steps), infinite_batches(train, args.batch_size, args.seed)):
        loss = train_step(model, x, y, objective, opt, None, opts)
        sched.step()
        losses.append(float(loss))
        writer.add_scalar(f"train_loss/{name}", losses[-1], step)
        if (step + 1) % max(1, args.steps // 5) == 0:
            print(f"  {name} step {step + 1}/{args.steps} loss {losses[-1]:.3f}", flush=True)
    seconds = time.perf_counter() - start
    res = evaluate(model, DataLoader(val, 250, collate_fn=collate_skip), StepOptions(device=torch.device("cpu")))
    writer.add_scalar(f"val_top1/{name}", res["top1"], args.steps)
    tail = losses[-max(1, args.steps // 10):]
    return {"losses": losses, "final_train_loss": sum(tail) / len(tail), "val_loss": res["val_loss"],
            "top1": res["top1"], "top5": res["top5"], "seconds": seconds}


def warm_up(args, train) -> None:
    """Run two throwaway steps so one-time kernel setup is not billed to the first optimizer's time."""
    model = nas.create_model(args.genotype, num_classes=10, stem_stride=args.stem_stride)
    x, y, _ = next(infinite_batches(train, args.batch_size, args.seed))
    for _ in range(2):
        nn.functional.cross_entropy(model(x), y).backward()


def smooth(xs: List[float], beta: float = 0.9) -> List[float]:
    """Return the bias-corrected exponential moving average of ``xs``."""
    out, m = [], 0.0
    for i, x in enumerate(xs, 1):
        m = beta * m + (1 - beta) * x
        out.append(m / (1 - beta**i))
    return out


def plot(results: Dict[str, Dict], path: Path, title: str) -> None:
    """Write the loss curves (raw, faint; smoothed, solid) to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, r in results.items():
        line, = ax.plot(smooth(r["losses"]), label=f"{name} (val top-1 {r['top1']:.1f}%)")
        ax.plot(r["losses"], color=line.get_color(), alpha=0.25, lw=0.8)
    ax.set(xlabel="step", ylabel="training cross-entropy", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    """Run the comparison and print final accuracies."""
    from torch.utils.tensorboard import SummaryWriter

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--genotype", default="st_topo:mobilenetv2")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--train-size", type=int, default=6000)
    p.add_argument("--weight-decay", type=float, default=4e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stem-stride", type=int, default=1, help="1: CIFAR-style stem for the 32 px embedded set")
    p.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS), choices=list(OPTIMIZERS))
    p.add_argument("--out", default=time.strftime("runs/compare-optimizers-%Y%m%d-%H%M%S"))
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default); 1 is fastest "
                                                            "on a busy machine, where spinning OpenMP threads stall")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, val, _ = shapes_datasets(ShapesSpec(train=args.train_size, val=1000, resolution=args.resolution))
    writer = SummaryWriter(str(out / "tb"))
    warm_up(args, train)
    results = {}
    for name in args.optimizers:
        print(f"{name}: {OPTIMIZERS[name][1]}", flush=True)
        results[name] = train_one(name, args, train, val, writer)
    writer.close()
    title = f"{args.genotype}, embedded set {args.resolution}px, batch {args.batch_size}, {args.steps} steps"
    plot(results, out / "loss_curves.png", title)
    summary = {k: {m: v for m, v in r.items() if m != "losses"} for k, r in results.items()}
    (out / "summary.json").write_text(json.dumps({"args": vars(args), "results": summary}, indent=2))
    print(f"\n{title}")
    print(f"{'optimizer':<10}{'train loss (last 10%)':>24}{'val loss':>10}{'top-1':>8}{'top-5':>8}{'time':>9}")
    for k, r in summary.items():
        print(f"{k:<10}{r['final_train_loss']:>24.3f}{r['val_loss']:>10.3f}{r['top1']:>8.1f}{r['top5']:>8.1f}"
              f"{r['seconds']:>8.0f}s")
    print(f"plot: {out / 'loss_curves.png'}  tensorboard: {out / 'tb'}")


if __name__ == "__main__":
    main()

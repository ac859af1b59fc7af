"""Head start from imported 2-D weights: pv_st:tsm_r50 fine-tuned from a pretrained ResNet-50 against scratch.

A small-scale stand-in for ImageNet weights, which this machine does not have and never downloads: a ResNet-50
in torchvision's layout (tests/support/tv_reference.py), at a quarter of its channels to fit two shared CPU
cores, is trained briefly on Fashion-MNIST (grey 28 px images copied to three channels and padded to 32 px;
read from the idx files of the Debian package ``dataset-fashion-mnist``, ``--fmnist DIR``; the embedded shapes
set was tried first and stayed at chance in this budget), saved as a plain state dict and imported
with ``--init pretrained:FILE`` into ``pv_st:tsm_r50`` at the same width. That model and one started from
scratch are then trained on the embedded video set with the small-data recipe (recipes/retrain/
video_small_data.yaml, fewer epochs), one run per seed and arm, on the same clips:

    python -m experiments.head_start --out experiments/results/head_start.json

The figure is the number of epochs until the validation top-1 first reaches ``--target`` (default 4/7, the
most a per-frame network can score on this set: docs/pv_st.md), a run that never reaches it counted as
``epochs + 1``. The difference scratch - pretrained is tested with an exact one-sided permutation test over
the seeds (pretrained needs fewer epochs), with a bootstrap 95% interval; "met" only with p < 0.05.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List

from experiments.common import ROOT

__all__ = ["fashion_mnist", "pretrain", "finetune", "epochs_to", "summarise", "main"]

RECIPE = ROOT / "recipes" / "retrain" / "video_small_data.yaml"
GENOTYPE = "pv_st:tsm_r50"
WIDTH = 0.25  # pv_st's scaled(): stem 16, bottleneck middles 16/32/64/128, outputs 64/128/256/512
STEM, MIDS = 16, (16, 32, 64, 128)


def fashion_mnist(src: Path, split: str, n: int):
    """Return the first ``n`` images of a Fashion-MNIST split as a normalised 3 x 32 x 32 ``TensorDataset``."""
    import torch
    from torch.utils.data import TensorDataset

    from nas.errors import NasError
    from tools.fashion_mnist_to_folder import read_idx

    prefix = {"train": "train", "val": "t10k"}[split]
    images, labels = src / f"{prefix}-images-idx3-ubyte.gz", src / f"{prefix}-labels-idx1-ubyte.gz"
    if not images.is_file():
        raise NasError(f"no Fashion-MNIST under {str(src)[:120]} (apt-get install dataset-fashion-mnist)")
    x = torch.from_numpy(read_idx(images)[:n].copy()).float()
    x = torch.nn.functional.pad(((x / 255 - 0.5) / 0.25)[:, None].expand(-1, 3, -1, -1), (2, 2, 2, 2))
    return TensorDataset(x.contiguous(), torch.from_numpy(read_idx(labels)[:n].copy()).long())


def pretrain(path: Path, args: argparse.Namespace) -> Dict:
    """Train the quarter-width torchvision-layout ResNet-50 on Fashion-MNIST; save its state dict to ``path``."""
    import torch
    from torch import nn

    from nas.nn.init import init_weights
    from nas.utils.seeds import seeded_init
    from tests.support.tv_reference import resnet50

    gen = torch.Generator().manual_seed(args.pretrain_seed)
    train, val = fashion_mnist(args.fmnist, "train", args.pretrain_images), fashion_mnist(args.fmnist, "val", 2000)
    classes = 10
    with seeded_init(args.pretrain_seed):
        model = resnet50(num_classes=classes, stem=STEM, mids=MIDS)
        init_weights(model)  # torchvision's ResNet init: He-normal (fan out) convs, unit BN
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps = args.pretrain_epochs * (len(train) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.05, total_steps=steps, pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    start = time.perf_counter()
    for _ in range(args.pretrain_epochs):
        model.train()
        loader = torch.utils.data.DataLoader(train, batch_size=64, shuffle=True, drop_last=True, generator=gen)
        for x, y in loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        hits = sum(int((model(x).argmax(1) == y).sum()) for x, y in torch.utils.data.DataLoader(val, batch_size=250))
    torch.save(model.state_dict(), path)
    return {"images": len(train), "epochs": args.pretrain_epochs, "val_top1": hits / len(val), "n_val": len(val),
            "classes": classes, "seconds": time.perf_counter() - start}


def finetune(init: str, seed: int, work: Path, args: argparse.Namespace) -> Dict:
    """Train ``pv_st:tsm_r50`` at quarter width from ``init`` with ``seed``; return its per-epoch validation top-1."""
    from nas.config import build_config
    from nas.config.retrain import RetrainConfig
    from nas.train.retrain import retrain

    opts = [f"seed={seed}", f"epochs={args.epochs}", f"resolution={args.resolution}", f"init={init}",
            f"data.train_size={args.train}", f"data.val_size={args.val}", f"model.width={WIDTH}",
            "execution.device=cpu"]
    cfg = build_config(RetrainConfig, recipe=RECIPE, opts=opts)
    run = work / f"{init.split(':')[0]}-s{seed}"
    notes: List[str] = []
    start = time.perf_counter()
    retrain(cfg, GENOTYPE, run, log=lambda *a: notes.append(" ".join(map(str, a))))
    rows = json.loads((run / "metrics.json").read_text())["epochs"]
    init_note = next((n for n in notes if n.startswith("init:")), "")
    return {"arm": "pretrained" if init != "scratch" else "scratch", "seed": seed,
            "top1": [r["top1"] / 100 for r in rows], "seconds": time.perf_counter() - start, "init": init_note[:400]}


def epochs_to(curve: List[float], target: float) -> int:
    """Return the first epoch (1-based) whose validation top-1 reaches ``target``; ``len(curve) + 1`` if none."""
    return next((i + 1 for i, acc in enumerate(curve) if acc >= target - 1e-9), len(curve) + 1)


def summarise(runs: List[Dict], target: float) -> Dict:
    """Return epochs-to-target per arm and the claim "pretrained needs fewer epochs" as a tested figure."""
    import numpy as np

    from nas.utils.stats import bootstrap_test, permutation_p

    e = {arm: [epochs_to(r["top1"], target) for r in runs if r["arm"] == arm] for arm in ("scratch", "pretrained")}
    if not all(e.values()):
        return {"target_top1": target, "epochs_to_target": e, "verdict": "incomplete: an arm has no run yet"}
    diff = lambda a, b: float(np.mean(a) - np.mean(b))  # noqa: E731 (scratch - pretrained: epochs saved)
    est, lo, hi, _ = bootstrap_test(diff, e["scratch"], e["pretrained"], resamples=4000)
    p = permutation_p(e["scratch"], e["pretrained"], diff)
    final = {arm: [r["top1"][-1] for r in runs if r["arm"] == arm] for arm in e}
    return {"target_top1": target, "epochs_to_target": e, "epochs_saved": est, "ci95": [lo, hi], "p": p,
            "n": f"{len(e['pretrained'])} pretrained vs {len(e['scratch'])} scratch runs",
            "verdict": "met" if p < 0.05 else "not shown", "last_top1": final,
            "test": "exact one-sided permutation test of mean epochs (scratch - pretrained); bootstrap interval"}


def main(argv: List[str] | None = None) -> int:
    """Pretrain once, fine-tune both arms per seed (skipping runs already in ``--out``), write the JSON."""
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="JSON file of the raw results (updated after every run)")
    p.add_argument("--work", type=Path, default=Path("/tmp/head_start"), help="run folders and the weights file")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--train", type=int, default=256, help="training clips")
    p.add_argument("--val", type=int, default=256, help="validation clips")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--target", type=float, default=4 / 7)
    p.add_argument("--fmnist", type=Path, default=Path("/usr/share/datasets/fashion-mnist"),
                   help="folder of the Fashion-MNIST idx files")
    p.add_argument("--pretrain-images", type=int, default=12000)
    p.add_argument("--pretrain-epochs", type=int, default=3)
    p.add_argument("--pretrain-seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    data = json.loads(args.out.read_text()) if args.out.is_file() else {}
    weights = args.work / "resnet50_fmnist_w025.pth"
    if "pretrain" not in data or not weights.is_file():
        data = {"pretrain": pretrain(weights, args), "runs": []}
        pre = data["pretrain"]
        print(f"pretrained: Fashion-MNIST top-1 {pre['val_top1']:.3f} in {pre['seconds']:.0f} s", flush=True)
    data["settings"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    done = {(r["arm"], r["seed"]) for r in data["runs"]}
    for seed in args.seeds:
        for arm, init in (("pretrained", f"pretrained:{weights}"), ("scratch", "scratch")):
            if (arm, seed) in done:
                continue
            data["runs"].append(finetune(init, seed, args.work, args))
            r = data["runs"][-1]
            print(f"{arm} seed {seed}: top-1 by epoch {[round(a, 3) for a in r['top1']]} ({r['seconds']:.0f} s)",
                  flush=True)
            data["summary"] = summarise(data["runs"], args.target)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(data, indent=1))
    print(json.dumps(data.get("summary"), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

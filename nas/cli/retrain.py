"""nas-retrain: train a derived architecture from scratch, resume a killed run, or evaluate a checkpoint."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from nas.cli.common import cli_main
from nas.errors import NasError

__all__ = ["main", "build_parser", "build_config", "parse_args"]

# flag attribute -> dotted config key
_FLAG_KEYS = {
    "epochs": "epochs", "resolution": "resolution", "batch_size": "batch_size", "seed": "seed", "data": "data.root",
    "data_root": "data.video_root", "train_list": "data.train_list", "val_list": "data.val_list",
    "frames": "data.frames",
}


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of nas-retrain."""
    p = argparse.ArgumentParser(prog="nas-retrain", description=__doc__)
    p.add_argument("genotype", nargs="?", help="genotype string or name (st_topo:mobilenetv2), YAML file or run folder")
    p.add_argument("--data", metavar="DIR", help="ImageNet-style folder (train/<class>/*, val/<class>/*); "
                                                 "default: the embedded shapes set")
    p.add_argument("--recipe", metavar="FILE", help="YAML recipe, e.g. recipes/retrain/cpu_small.yaml")
    p.add_argument("--epochs", type=int, help="training epochs")
    p.add_argument("--resolution", type=int, help="input resolution in pixels")
    p.add_argument("--batch-size", type=int, help="training batch size")
    p.add_argument("--seed", type=int, help="run seed (model init, data order, augmentation)")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/retrain-<YYYYmmdd-HHMMSS>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from RUN_DIR/last.pt with its own config")
    p.add_argument("--eval", metavar="CHECKPOINT", help="only evaluate CHECKPOINT and print top-1/top-5")
    p.add_argument("--data-root", metavar="DIR", help="video genotypes: folder the clip lists are relative to")
    p.add_argument("--train-list", metavar="FILE", help="video genotypes: training clip list")
    p.add_argument("--val-list", metavar="FILE", help="video genotypes: validation clip list")
    p.add_argument("--frames", type=int, help="video genotypes: frames per clip")
    p.add_argument("--workers", type=int, help="train with N PyTorch DDP workers on Ray Train (gloo on CPU, nccl on "
                                               "GPU); batch_size stays the global batch")
    p.add_argument("opts", nargs="*", metavar="key=value", help="dotted config overrides, e.g. optim.lr=0.1")
    return p


def _flag_overrides(args: argparse.Namespace) -> Dict[str, Any]:
    """Return the explicit flags as a nested config dict (values kept as typed, never re-parsed)."""
    out: Dict[str, Any] = {}
    for attr, key in _FLAG_KEYS.items():
        if getattr(args, attr) is not None:
            *parents, leaf = key.split(".")
            node = out
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = getattr(args, attr)
    return out


def build_config(args: argparse.Namespace, base: Optional[Dict[str, Any]] = None):
    """Return the RetrainConfig of recipe (or ``base``) + flags + ``key=value`` overrides (applied last)."""
    from nas.config import apply_overrides, from_dict, load_recipe, merge
    from nas.config.retrain import RetrainConfig

    data = load_recipe(args.recipe) if args.recipe else dict(base or {})
    data = apply_overrides(merge(data, _flag_overrides(args)), args.opts)
    if args.data is not None and not Path(args.data).is_dir():
        raise NasError(f"data folder not found: {args.data}")
    return from_dict(RetrainConfig, data)


def _resume(args: argparse.Namespace) -> int:
    if args.recipe or args.opts or _flag_overrides(args):
        raise NasError("--resume continues with the run's own config; drop --recipe, flags and overrides")
    run = Path(args.resume)
    if not run.is_dir():
        raise NasError(f"run folder not found: {run}")
    import nas
    from nas.train import run_config
    from nas.train.checkpoint import check_architecture

    cfg, stored = run_config(run)
    # The run's own record is genotype.yaml; last.pt must have been trained for the same architecture.
    g = nas.load_genotype(args.genotype or (run if (run / "genotype.yaml").is_file() else stored))
    check_architecture({"genotype": stored}, str(g), run / "last.pt")
    _fit(args, cfg, g, run, resume=True)
    return 0


def _fit(args: argparse.Namespace, cfg, g, out: Path, resume: bool = False) -> None:
    """Train in this process, or on ``--workers`` Ray Train workers."""
    if args.workers:
        from nas.distributed.train import retrain_distributed

        retrain_distributed(cfg, g, out, args.workers, resume=resume)
        return
    from nas.train import retrain

    retrain(cfg, g, out, resume=resume)


def _evaluate(args: argparse.Namespace) -> int:
    from nas.train import evaluate_checkpoint, load_checkpoint

    ckpt = load_checkpoint(Path(args.eval))
    cfg = build_config(args, base=ckpt["config"])
    evaluate_checkpoint(Path(args.eval), cfg, genotype=args.genotype)
    return 0


def _default_out() -> Path:
    return Path("runs") / time.strftime("retrain-%Y%m%d-%H%M%S")


def _train(args: argparse.Namespace) -> int:
    import nas

    if not args.genotype:
        raise NasError("give a genotype or run folder to train (or --resume RUN_DIR / --eval CHECKPOINT)")
    g = nas.load_genotype(args.genotype)
    cfg = build_config(args)
    out = Path(args.out) if args.out else _default_out()
    if (out / "last.pt").exists():
        raise NasError(f"{out} already holds a run; continue it with --resume {out} or pick another --out")
    _fit(args, cfg, g, out)
    print(f"done: {out}")
    return 0


def parse_args(argv: List[str]) -> argparse.Namespace:
    """Parse ``argv``; positionals and options may interleave, and a lone ``key=value`` is an override."""
    args = build_parser().parse_intermixed_args(argv)
    g = args.genotype
    if g is not None and "=" in g and not Path(g).exists():
        args.opts, args.genotype = [g, *args.opts], None  # e.g. ``--resume RUN optim.lr=0.1``
    return args


@cli_main("nas-retrain")
def main(argv: List[str]) -> int:
    """Run nas-retrain."""
    args = parse_args(argv)
    if args.resume and args.eval:
        raise NasError("use either --resume or --eval, not both")
    if args.resume:
        return _resume(args)
    if args.eval:
        return _evaluate(args)
    return _train(args)


if __name__ == "__main__":
    sys.exit(main())

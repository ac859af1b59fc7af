"""nas-retrain: train a derived architecture for a task, resume a killed run, or evaluate a checkpoint."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

from nas.cli import flags
from nas.cli.common import ArgumentParser, cli_main
from nas.cli.flags import Flag, add_flags
from nas.errors import NasError

__all__ = ["main", "build_parser", "config_flags", "parse_args"]

# The flags of nas-retrain: (flag, help, config key, type, may change on --resume).
FLAGS = (
    Flag("--task", "retraining task (see nas.list_tasks(); default: classification for image genotypes, "
         "video_classification for video ones)", key="task"),
    Flag("--init", "starting weights: scratch (default), supernet (of the search run given as the genotype; or "
         "supernet:RUN), backbone:FILE (a nas-retrain checkpoint, head dropped) or pretrained:FILE (a torchvision "
         "ResNet-50/101 or MobileNetV2 state dict; see docs/pretrained.md)", key="init"),
    Flag("--data", "an ImageNet-style folder (train/<class>/*, val/<class>/*; real/fake folders for the forgery "
         "tasks); default: the embedded set", key="data.root", metavar="DIR", path="read"),
    Flag("--recipe", "YAML recipe, e.g. recipes/retrain/cpu_small.yaml", metavar="FILE", path="read"),
    Flag("--epochs", "training epochs", key="epochs", type=int),
    Flag("--resolution", "input resolution in pixels", key="resolution", type=int),
    Flag("--batch-size", "training batch size", key="batch_size", type=int),
    Flag("--seed", "run seed (model init, data order, augmentation)", key="seed", type=int),
    Flag("--out", "run folder (default runs/retrain-<YYYYmmdd-HHMMSS>)", metavar="DIR", path="dir"),
    Flag("--resume", "continue a run from RUN_DIR/last.pt with its own config", metavar="RUN_DIR", resume=True,
         path="read"),
    Flag("--eval", "only evaluate CHECKPOINT and print its metrics", metavar="CHECKPOINT", path="read"),
    Flag("--data-root", "with --train-list/--val-list: the folder their paths are relative to (data.root, as --data)",
         key="data.root", metavar="DIR", path="read"),
    Flag("--train-list", "video genotypes: training clip list", key="data.train_list", metavar="FILE", path="read"),
    Flag("--val-list", "video genotypes: validation clip list", key="data.val_list", metavar="FILE", path="read"),
    Flag("--frames", "video genotypes: frames per clip", key="data.frames", type=int),
    Flag("--classes", "forgery tasks: label sets 2 (real/fake), 3 (real/ID-replaced/ID-remained), 16 (real + 15 "
         "methods) or a comma list trained jointly, e.g. 2,3,16", key="forgery.classes"),
    Flag("--streams", "forgery tasks: rgb (default), fad, lfs, both or mix (F3-Net's streams; model.streams)",
         key="model.streams"),
    Flag("--map-root", "forgery_spatial on ForgeryNet lists: the spatial_localize/ folder (maps at the images' "
         "relative paths)", key="forgery.map_root", metavar="DIR", path="read"),
    Flag("--json", "with --eval: print the metrics as one JSON object", type=bool),
    Flag("--device", "auto (default: CUDA when available), cpu, cuda or cuda:N; not with --workers",
         key="execution.device",
         resume=True),
    Flag("--workers", "train with N PyTorch DDP workers on Ray Train (gloo on CPU, nccl on GPU); batch_size stays "
         "the global batch", type=int, resume=True),
    Flag("--address", "with --workers: run the DDP workers on an existing Ray cluster; default: start a local one",
         metavar="HOST:PORT", resume=True),
    Flag("--max-failures", "with --workers: restarts of the DDP workers, each from last.pt, after a worker or its "
         "node dies (default 1)", type=int, resume=True),
    Flag("--write-embedded", "write the embedded face-forgery video set (data.train_size / data.val_size videos at "
         "--resolution, data.seed) to DIR as MP4 files plus ForgeryNet video lists, and exit", metavar="DIR",
         path="dir"),
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of nas-retrain."""
    p = ArgumentParser(prog="nas-retrain", description=__doc__)
    p.add_argument("genotype", nargs="?", help="genotype string or name (st_topo:mobilenetv2), YAML file or run folder")
    add_flags(p, FLAGS)
    p.add_argument("opts", nargs="*", metavar="key=value", help="dotted config overrides, e.g. optim.lr=0.1")
    return p


def _init_spec(args: argparse.Namespace) -> Optional[str]:
    """Return ``--init`` with a bare ``supernet`` bound to the search run given as the genotype argument."""
    if args.init != "supernet":
        return args.init
    if not args.genotype or not Path(args.genotype).is_dir():
        raise NasError("--init supernet takes the supernet of the search run given as the genotype argument; "
                       "give a run folder (or use --init supernet:RUN)")
    return f"supernet:{args.genotype}"


def config_flags(args: argparse.Namespace) -> Dict[str, Any]:
    """Return the config-changing flags as ``{dotted key: value or None}`` (``--init supernet`` bound to its run)."""
    return {**flags.config_flags(args, FLAGS), "init": _init_spec(args)}


def _default_recipe(args: argparse.Namespace) -> Optional[str]:
    """Return ``--recipe``, else the recipe the named task ships with (``Task.default_recipe``), else None."""
    if args.recipe or not args.task:
        return args.recipe
    from nas.tasks import get_task

    path = get_task(args.task).recipe_path()
    return None if path is None else str(path)


def _build(args: argparse.Namespace, base: Optional[Dict[str, Any]] = None):
    from nas.config import build_config
    from nas.config.retrain import RetrainConfig

    recipe = args.recipe if base is not None else _default_recipe(args)
    return build_config(RetrainConfig, recipe=recipe, flags=config_flags(args), opts=args.opts, base=base)


def _device(args: argparse.Namespace, cfg):
    """Return the resolved ``--device`` (else the config's ``device``); a missing CUDA device fails here.

    With ``--workers`` it is None: each Ray Train worker gets its device from Ray.
    """
    from nas.utils.device import resolve_device

    if args.workers:
        if args.device:
            raise NasError("--device does not apply with --workers (each Ray Train worker gets its own device)")
        return None
    return resolve_device(cfg.execution.device, log=None if args.json else print)  # --json: stdout is JSON


def _resume(args: argparse.Namespace) -> int:
    flags.check_resume(args, FLAGS, {"key=value overrides": args.opts})
    run = Path(args.resume)
    from nas.spaces import load_genotype
    from nas.train import run_config
    from nas.train.checkpoint import check_architecture

    cfg, stored, workers = run_config(run)
    if args.device is not None:  # where it trains may change on resume; what it trains may not
        cfg = replace(cfg, execution=replace(cfg.execution, device=args.device))
        cfg.validate()
    if args.workers is None and workers > 1:  # a DDP run continues as it started, not in one process
        print(f"resuming on {workers} DDP workers, as the run started (--workers N to change)")
        args.workers = workers
    # The run's own record is genotype.yaml; last.pt must have been trained for the same architecture.
    g = load_genotype(args.genotype or (run if (run / "genotype.yaml").is_file() else stored))
    check_architecture({"genotype": stored}, str(g), run / "last.pt")
    _fit(args, cfg, g, run, resume=True)
    return 0


def _fit(args: argparse.Namespace, cfg, g, out: Path, resume: bool = False) -> None:
    """Train in this process on the resolved device, or on ``--workers`` Ray Train workers."""
    device = _device(args, cfg)
    if args.address and not args.workers:
        raise NasError("--address applies only with --workers (DDP workers on an existing Ray cluster)")
    if args.max_failures is not None and not args.workers:
        raise NasError("--max-failures applies only with --workers (restarts of the DDP workers)")
    if args.workers:
        from nas.distributed.train import MAX_FAILURES, retrain_distributed

        retries = MAX_FAILURES if args.max_failures is None else args.max_failures
        retrain_distributed(cfg, g, out, args.workers, resume=resume, address=args.address, max_failures=retries)
        return
    from nas.train import retrain

    retrain(cfg, g, out, resume=resume, device=device)


def _evaluate(args: argparse.Namespace) -> int:
    from nas.train import evaluate_checkpoint, load_checkpoint

    if args.workers or args.address or args.max_failures is not None:
        raise NasError("--workers, --address and --max-failures do not apply to --eval")
    ckpt = load_checkpoint(Path(args.eval))
    cfg = _build(args, base=ckpt["config"])
    log = (lambda line: None) if args.json else print
    out = evaluate_checkpoint(Path(args.eval), cfg, genotype=args.genotype, device=_device(args, cfg), log=log)
    if args.json:
        import json

        print(json.dumps({"checkpoint": str(args.eval), **out}))
    return 0


def _train(args: argparse.Namespace) -> int:
    from nas.spaces import load_genotype
    from nas.utils.run import default_run_dir, new_run

    if not args.genotype:
        raise NasError("give a genotype or run folder to train (or --resume RUN_DIR / --eval CHECKPOINT)")
    g = load_genotype(args.genotype)
    cfg = _build(args)
    out = Path(args.out) if args.out else default_run_dir("retrain")
    with new_run(out, "retrain"):
        _fit(args, cfg, g, out)
    print(f"done: {out}")
    return 0


def _write_embedded(args: argparse.Namespace) -> int:
    """Write the embedded video set of the config as MP4 files and ForgeryNet lists (``--write-embedded DIR``)."""
    from nas.data.forgery_video_synthetic import write_embedded
    from nas.tasks.forgery_video import embedded_video_spec

    if args.genotype or args.resume or args.eval:
        raise NasError("--write-embedded takes no genotype, --resume or --eval")
    cfg = _build(args)
    lists = write_embedded(Path(args.write_embedded), cfg.data.train_size, cfg.data.val_size, embedded_video_spec(cfg))
    print(f"wrote {cfg.data.train_size} + {cfg.data.val_size} videos to {args.write_embedded}: "
          f"--data-root {args.write_embedded} --train-list {lists[0]} --val-list {lists[1]}")
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
    if args.json and not args.eval:
        raise NasError("--json applies only with --eval")
    if args.write_embedded:
        return _write_embedded(args)
    if args.resume:
        return _resume(args)
    if args.eval:
        return _evaluate(args)
    return _train(args)


if __name__ == "__main__":
    sys.exit(main())

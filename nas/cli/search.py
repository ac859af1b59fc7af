"""nas-search: search a space under a compute budget and write a run folder."""
from __future__ import annotations

import argparse
import sys
from typing import List

from nas.cli.common import cli_main

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of nas-search."""
    p = argparse.ArgumentParser(prog="nas-search", description=__doc__,
                                epilog="Extra positional key=value pairs override any config key, e.g. "
                                       "sgld.snapshots=8 evolution.parents=10")
    p.add_argument("--space", default="st_topo", help="search space (default st_topo; see nas.list_spaces())")
    p.add_argument("--recipe", help="YAML recipe with any config keys (see recipes/search/)")
    p.add_argument("--out", help="run folder (default runs/<space>-<timestamp>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its checkpoints")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--epochs", type=int, help="supernet training epochs")
    p.add_argument("--resolution", type=int, help="target resolution at which cost is computed (default 224)")
    p.add_argument("--num-classes", type=int, help="classes of the target model for the cost (default 1000)")
    img = p.add_argument_group("st_topo (one-shot + SGLD + evolution)")
    img.add_argument("--madds", help="hard MAdds budget, e.g. 330M or 0.5G")
    img.add_argument("--population", type=int, help="evolution population size")
    img.add_argument("--generations", type=int, help="evolution generations")
    img.add_argument("--data", help="ImageNet-style folder (train/<class>/*, optional val/); default: embedded set")
    vid = p.add_argument_group("pv_st (differentiable video search)")
    vid.add_argument("--flops", help="FLOPs (MAdds) budget for video models, e.g. 33G")
    vid.add_argument("--frames", type=int, help="frames per clip")
    vid.add_argument("--data-root", help="root folder of the videos named in the lists")
    vid.add_argument("--train-list", help="training list (mmaction2 'path label', Kinetics CSV or SSv2 JSON)")
    vid.add_argument("--val-list", help="validation list, same formats")
    ray = p.add_argument_group("Ray: trials, eval workers, cluster (see nas.search.trials)")
    ray.add_argument("--trials", type=int, help="run N seeds (seed, seed+1, ...) as Ray Tune trials; with a --madds "
                                                 "list, N seeds per budget (--trials 1: one trial per budget)")
    ray.add_argument("--address", help="join an existing Ray cluster (HOST:PORT); default: start a local one")
    ray.add_argument("--cpus-per-trial", type=float, help="CPUs each trial holds (default 1)")
    ray.add_argument("--gpus-per-trial", type=int, help="whole GPUs each trial holds (default 0)")
    ray.add_argument("--max-failures", type=int, default=1, help="retries of a trial whose process dies (default 1)")
    ray.add_argument("--dashboard", action="store_true",
                     help="start the Ray dashboard on 127.0.0.1 and print its URL and token "
                          "(needs pip install -e '.[dashboard]')")
    ray.add_argument("--eval-workers", type=int, help="score evolution candidates on N Ray tasks")
    p.add_argument("opts", nargs="*", metavar="key=value", help="dotted config overrides")
    return p


@cli_main("nas-search")
def main(argv: List[str]) -> int:
    """Run nas-search."""
    import nas
    from nas.search import get_runner

    args = build_parser().parse_args(argv)
    from nas.search.trials import run_distributed, wants_distributed

    if wants_distributed(args):
        return run_distributed(args)
    if args.resume:
        args.space = _space_of_run(args.resume) or args.space
    nas.get_space(args.space)  # one-line error for an unknown space
    return get_runner(args.space)(args)


def _space_of_run(run_dir: str) -> str | None:
    from pathlib import Path

    import yaml

    path = Path(run_dir) / "config.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return data.get("space") if isinstance(data, dict) else None


if __name__ == "__main__":
    sys.exit(main())

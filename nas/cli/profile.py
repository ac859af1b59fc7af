"""nas-profile: measure a latency lookup table of a space at a target on this machine."""
from __future__ import annotations

import argparse
import sys
import time
from typing import List

from nas.cli.common import cli_main

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of nas-profile."""
    p = argparse.ArgumentParser(prog="nas-profile", description=__doc__)
    p.add_argument("--space", help="space to tabulate, e.g. st_topo or pv_st")
    p.add_argument("--out", help="the table to write (JSON)")
    p.add_argument("--resolution", type=int, help="input resolution (default: the space's)")
    p.add_argument("--num-classes", type=int, help="classifier outputs (default: the space's)")
    p.add_argument("--frames", type=int, help="clip length of video spaces (default: the space's)")
    p.add_argument("--device", help="cpu (default), cuda, cuda:N or auto")
    p.add_argument("--threads", type=int, help="CPU threads of every measurement (default 1)")
    p.add_argument("--batch", type=int, help="batch size (default 1)")
    p.add_argument("--channels-last", action="store_true", default=None, help="time in channels_last")
    p.add_argument("--script", action="store_true", default=None, help="time TorchScript modules")
    p.add_argument("--warmup", type=int, help="untimed runs before each measurement (default 10)")
    p.add_argument("--reps", type=int, help="timed repetitions per entry (default 30)")
    p.add_argument("--clock", help="wall (default) or cpu (CPU time of the calling thread, steadier on a busy machine)")
    p.add_argument("--seed", type=int, help="seed of the random members that fix the overhead (default 0)")
    p.add_argument("--calibration", help="additive (default: overhead = median gap of the whole models) or affine "
                                         "(overhead and a scale of the block sum, fitted)")
    return p


def profile(cfg, log=print):
    """Build and write the table ``cfg`` describes, with a progress bar; return it."""
    from nas.latency.measure import MeasureSpec
    from nas.latency.profile import build_table, calibration_genotypes
    from nas.latency.table import save_table
    from nas.plugins import get_plugin
    from nas.search.progress import Progress
    from nas.utils.device import resolve_device

    space = get_plugin(cfg.space).space
    target = space.target(resolution=cfg.resolution, num_classes=cfg.num_classes, frames=cfg.frames)
    keys = space.block_configs(target)
    calib = calibration_genotypes(space, seed=cfg.seed)
    spec = MeasureSpec(warmup=cfg.warmup, reps=cfg.reps, channels_last=cfg.channels_last, script=cfg.script,
                       clock=cfg.clock)
    bar = Progress(len(keys) + len(calib), f"nas-profile {cfg.space}")
    start = time.monotonic()
    try:
        table = build_table(cfg.space, target, resolve_device(cfg.device), spec, cfg.threads, cfg.batch, calib,
                            on_step=lambda key: bar.advance(), calibration=cfg.calibration)
    finally:
        bar.close()
    save_table(table, cfg.out)
    log(f"wrote {cfg.out}: {len(table.entries)} block entries + overhead {table.overhead_ms:.3f} ms, "
        f"{table.describe()}, in {time.monotonic() - start:.1f} s")
    return table


@cli_main("nas-profile")
def main(argv: List[str]) -> int:
    """Run nas-profile."""
    from nas.config import build_config
    from nas.config.profile import ProfileConfig

    args = build_parser().parse_args(argv)
    cfg = build_config(ProfileConfig, flags=vars(args))
    profile(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())

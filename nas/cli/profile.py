"""nas-profile: measure a latency lookup table of a space at a target on this machine."""
from __future__ import annotations

import argparse
import sys
import time
from typing import List

from nas.cli.common import ArgumentParser, cli_main
from nas.cli.flags import Flag, add_flags, config_flags

__all__ = ["main", "build_parser"]


# The flags of nas-profile: each sets the ProfileConfig key of its name.
FLAGS = (
    Flag("--space", "space to tabulate, e.g. st_topo or pv_st", key="space"),
    Flag("--out", "the table to write (JSON)", key="out", path="file"),
    Flag("--resolution", "input resolution (default: the space's)", key="resolution", type=int),
    Flag("--num-classes", "classifier outputs (default: the space's)", key="num_classes", type=int),
    Flag("--frames", "clip length of video spaces (default: the space's)", key="frames", type=int),
    Flag("--device", "cpu (default), cuda, cuda:N or auto", key="device"),
    Flag("--threads", "CPU threads of every measurement (default 1)", key="threads", type=int),
    Flag("--batch", "batch size (default 1)", key="batch", type=int),
    Flag("--channels-last", "time in channels_last", key="channels_last", type=bool),
    Flag("--script", "time TorchScript modules", key="script", type=bool),
    Flag("--warmup", "untimed runs before each measurement (default 10)", key="warmup", type=int),
    Flag("--reps", "timed repetitions per entry (default 30)", key="reps", type=int),
    Flag("--clock", "wall (default) or cpu (CPU time of the calling thread, steadier on a busy machine)", key="clock"),
    Flag("--seed", "seed of the random members that fix the overhead (default 0)", key="seed", type=int),
    Flag("--calibration", "additive (default: overhead = median gap of the whole models), affine (overhead and a "
         "scale of the block sum, fitted) or stages (a scale per feature-map size, kept near 1)", key="calibration"),
    Flag("--refine", "refine an existing table instead: time --members random models whole, as the table was timed, "
         "and refit its calibration (history kept in the file)", key="refine", metavar="TABLE", path="read"),
    Flag("--members", "with --refine: random members to time (default 8)", key="members", type=int),
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of nas-profile."""
    return add_flags(ArgumentParser(prog="nas-profile", description=__doc__), FLAGS)


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
    noisy = table.env.get("noisy_entries", 0)
    if noisy:
        from nas.latency.measure import NOISE_LIMIT

        log(f"warning: {noisy} of {len(table.entries)} entries stayed noisy after a second timing (interquartile "
            f"range above {NOISE_LIMIT:.0%} of the median): this machine is too busy for a table that repeats; "
            f"rebuild it when it is quieter, or use --clock cpu")
    return table


def refine(cfg, log=print):
    """Time ``cfg.members`` random members not yet among the table's samples, as the table was timed, and let the
    table learn from them (``nas.latency.learn``); return the refined table."""
    import random

    from nas.latency.api import open_table, table_spec, table_target
    from nas.latency.learn import learn_into
    from nas.latency.profile import measure_genotype
    from nas.latency.table import load_table
    from nas.search.progress import Progress
    from nas.spaces import get_space
    from nas.utils.device import resolve_device

    table = load_table(cfg.refine)
    space, target, device = get_space(table.space), table_target(table), resolve_device(cfg.device)
    table, _ = open_table(cfg.refine, table.space, target, device, None)  # made here, on this torch and threads
    seen, rng, picked = {s[0] for s in table.overhead_samples}, random.Random(cfg.seed), []
    for _ in range(100 * cfg.members):
        if len(picked) == cfg.members:
            break
        g = space.sample(rng)
        if str(g) not in seen and g not in picked:
            picked.append(g)
    spec, threads, batch = table_spec(table), int(table.env["threads"]), int(table.env["batch"])
    bar = Progress(len(picked), f"nas-profile --refine {table.space}")
    timings = []
    try:
        for g in picked:
            timings.append((g, measure_genotype(g, target, device, spec, threads, batch).median_ms))
            bar.advance()
    finally:
        bar.close()
    return learn_into(cfg.refine, timings, f"nas-profile --refine, {len(timings)} random members", log)


@cli_main("nas-profile")
def main(argv: List[str]) -> int:
    """Run nas-profile."""
    from nas.config import build_config
    from nas.config.profile import ProfileConfig

    args = build_parser().parse_args(argv)
    cfg = build_config(ProfileConfig, flags=config_flags(args, FLAGS))
    refine(cfg) if cfg.refine is not None else profile(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Measure Ray's costs for nas-search trials: start-up, per-trial overhead, and 2 trials on 2 CPUs vs in turn.

    python tools/bench_ray.py [--epochs 4] [--out /tmp/bench_ray]

Every search is the same micro st_topo run (the one the distributed tests use), with one torch thread, so a
local run and a Tune trial do exactly the same work. Prints a table and writes ``bench_ray.json`` to --out.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from nas.config import from_dict, load_recipe, merge, to_dict
from nas.config.search import SearchConfig

ROOT = Path(__file__).resolve().parents[1]
MICRO = {"data": {"proxy_resolution": 8, "train_size": 64, "val_size": 32, "batch_size": 32},
         "sgld": {"burn_in": 1, "snapshots": 2, "spacing": 1},
         "score": {"bn_batches": 1, "bn_batch_size": 16, "val_images": 32, "eval_batch_size": 32},
         "evolution": {"population": 2, "generations": 1, "parents": 1}}


def config(epochs: int, seed: int) -> SearchConfig:
    data = merge(merge(to_dict(SearchConfig()), load_recipe(str(ROOT / "recipes/search/st_topo_tiny.yaml"))), MICRO)
    data["supernet"]["epochs"], data["seed"] = epochs, seed
    return from_dict(SearchConfig, data)


def spec(cfg: SearchConfig, out: Path, i: int) -> dict:
    from nas.distributed.trials import budget_label

    name = f"trial-{i:03d}-{budget_label(cfg.madds)}-s{cfg.seed}"
    return {"name": name, "run_dir": str((out / name).resolve()), "budget": budget_label(cfg.madds), "seed": cfg.seed,
            "cfg": to_dict(cfg)}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def local_run(cfg: SearchConfig, out: Path) -> float:
    from nas.search.run import SearchRun

    return timed(lambda: SearchRun(cfg, out).run())


def tune_run(specs, out: Path) -> float:
    from nas.distributed.tune import run_experiment

    def fit():
        res = run_experiment(specs, out, verbose=0)
        if res.errors:
            raise SystemExit(f"trials failed: {res.errors}")

    return timed(fit)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=4, help="supernet epochs of the micro search")
    p.add_argument("--out", default=None, help="folder for the runs and bench_ray.json (default: a temp folder)")
    args = p.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_ray-"))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import torch

    torch.set_num_threads(1)
    r = {"load_avg_before": os.getloadavg()[0], "cpus": os.cpu_count(), "epochs": args.epochs}
    t0 = time.perf_counter()
    import ray
    from ray import tune  # noqa: F401  (Tune's import is part of what a trials run pays)

    r["import_ray_tune_s"] = time.perf_counter() - t0
    r["ray_init_s"] = timed(lambda: ray.init(num_cpus=2, include_dashboard=False, logging_level="warning",
                                              _temp_dir=tempfile.mkdtemp(prefix="nasray-")))
    c0, c1 = config(args.epochs, 0), config(args.epochs, 1)
    local_run(config(1, 9), out / "warmup")  # imports and first-call costs, so the local figures are warm
    r["local_1_s"] = local_run(c0, out / "local0")
    r["local_2_in_turn_s"] = r["local_1_s"] + local_run(c1, out / "local1")
    r["tune_1_trial_s"] = tune_run([spec(c0, out / "t1", 0)], out / "t1")
    r["per_trial_overhead_s"] = r["tune_1_trial_s"] - r["local_1_s"]
    r["tune_2_trials_2_cpus_s"] = tune_run([spec(c0, out / "t2", 0), spec(c1, out / "t2", 1)], out / "t2")
    r["speedup_2_trials"] = r["local_2_in_turn_s"] / r["tune_2_trials_2_cpus_s"]
    r["ray_shutdown_s"] = timed(ray.shutdown)
    r["load_avg_after"] = os.getloadavg()[0]
    (out / "bench_ray.json").write_text(json.dumps(r, indent=2) + "\n")
    for key, value in r.items():
        print(f"{key:<26} {value:10.2f}" if isinstance(value, float) else f"{key:<26} {value:>10}")
    print(f"written: {out / 'bench_ray.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

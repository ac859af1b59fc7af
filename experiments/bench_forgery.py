"""F3-Net ablation on the embedded face-forgery set, plus front-end / MixBlock overhead in images per second.

Each run is a real ``nas.train.retrain`` of the forgery_image task (recipes/retrain/forgery_image.yaml with the
overrides given here); AUC/ACC come from its last epoch, params/MAdds from ``nas.cost(genotype, task=...)``,
s/epoch from its metrics. Overheads are forward-pass throughputs measured in this process against the rgb stream.

    python -m experiments.bench_forgery --streams rgb,fad,lfs,both,mix --quality lq --seeds 0 --epochs 3 \
        --train-size 2000 --out bench_forgery.json

The backbone ``searched330m`` is a real 330M search result (``SEARCHED_330M``); ``--searched-image G|RUN`` puts
another genotype or search run behind the name, and ``--searched-image sample`` the seeded in-window sample that
stood in for a search result before one was run.

``--baselines`` runs every task's headline figures beside their trivial baselines over seeds instead
(``experiments/bench_forgery_baselines.py``).

``--video`` runs the video part instead, on the embedded face-video set (width-scaled backbones, every ``--seeds``
value; ``--resume`` skips the runs ``--out`` holds): per-video AUC of forgery_video for TSN-like, TSM-like and a
searched (``--searched``; default a seeded sample of pv_st, a stand-in) pv_st genotype and an image backbone with
frame pooling; then temporal AP / mAP of forgery_temporal, the temporal head on the TSM-like backbone against
per-frame scoring with grouping (on the TSM-like and on the image backbone). The summary is mean and sd over seeds.

    python -m experiments.bench_forgery --video --epochs 6 --train-size 160 --val-size 64 --seeds 0 --out bench_fvid.json
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from experiments.common import ROOT



# What ``nas-search --space st_topo --madds 330M --seed 0`` returned (defaults, one thread, 2026-12-02): 309.7M MAdds.
SEARCHED_330M = ("st_topo:k3e1,k5e3,id,k3e6,k3e3,k3e3,k5e3,k7e3,k5e3,k5e3,id,k5e3,id,k5e6,k5e3,k5e3,id,id,k7e6,-,id,-,-,"
                 "k5e3,k3e3,-,-,k3e3,-,k3e6,-,k3e3,k3e3,k3e3,id,k7e3,-,k5e6,-,k5e3,k5e3,k7e3,k3e3,-,id,id,-,id,-,id,id,"
                 "k5e3,id,-")


def searched_330m(budget: float = 330e6, seed: int = 0) -> str:
    """Return a seeded in-window sample of st_topo at a 330M MAdds budget (224 px), drawn the way the search's
    window strategies draw candidates (``sample_in_window`` over [0.9, 1.0] x budget). It stands in for a searched
    330M genotype in the first ablation runs: a member of the search window, not the output of a search run."""
    import nas
    from nas.search.strategies.window import cost_window, sample_in_window

    space = nas.get_space("st_topo")

    def cost(g):
        return nas.cost(g).madds

    lo, hi = cost_window(space, cost, int(budget), 0.9)
    return str(sample_in_window(space, cost, lo, hi, random.Random(seed)))


def nas_genotype(arg: str):
    """Return the genotype a string or search run folder names."""
    import nas

    return nas.load_genotype(arg)


def run_one(genotype: str, streams: str, quality: str, seed: int, args) -> dict:
    """Train one detector and return its figures."""
    import nas
    from nas.config import build_config
    from nas.config.retrain import RetrainConfig
    from nas.tasks.forgery import detector_kwargs
    from nas.train import retrain

    opts = [f"model.streams={streams}", f"forgery.quality={quality}", f"seed={seed}", f"epochs={args.epochs}",
            f"data.train_size={args.train_size}", f"data.val_size={args.val_size}", f"task={args.task}",
            f"forgery.classes={args.classes}", f"resolution={args.resolution}"]
    recipe = ROOT / "recipes" / "retrain" / f"{args.task}.yaml"
    cfg = build_config(RetrainConfig, recipe=str(recipe), flags={}, opts=opts)
    with tempfile.TemporaryDirectory() as tmp:
        row = retrain(cfg, genotype, Path(tmp) / "run", log=lambda line: None)
        hist = json.loads((Path(tmp) / "run" / "metrics.json").read_text())["epochs"]
    cost = nas.cost(genotype, **detector_kwargs(cfg, args.task))
    metrics = {k: v for k, v in row.items() if k not in ("epoch", "step", "lr", "train_skipped", "val_skipped",
                                                        "seconds")}
    return {**run_key_fields(streams, quality, seed, args), **metrics, "params": cost.params, "madds": cost.madds,
            "s_per_epoch": statistics.mean(h["seconds"] for h in hist)}


def run_key_fields(streams: str, quality: str, seed: int, args) -> dict:
    """Return the fields that identify a run (its settings), stored in every row and matched by ``--resume``."""
    return {"streams": streams, "quality": quality, "seed": seed, "task": args.task, "classes": args.classes,
            "resolution": args.resolution, "epochs": args.epochs, "train_size": args.train_size,
            "val_size": args.val_size}


def _key(row: dict) -> tuple:
    """Return the identity of a run row: its backbone and settings."""
    names = ("backbone", "streams", "quality", "seed", "task", "classes", "resolution", "epochs", "train_size",
             "val_size")
    return tuple(row.get(n) for n in names)


def load_previous(out: Path, resume: bool, genotypes: dict) -> dict:
    """Return the result to append to: ``out``'s content with ``--resume`` (refused if its genotypes differ),
    else a fresh one."""
    fresh = {"genotypes": genotypes, "overhead_img_s": {}, "runs": [], "commands": []}
    if not (resume and out.exists()):
        return fresh
    old = json.loads(out.read_text())
    if old.get("genotypes") != genotypes:
        sys.exit(f"--resume: {out} was written for other genotypes")
    return {**fresh, **old, "commands": old.get("commands", [])}


def throughputs(genotype: str, streams: list, resolution: int, batch: int = 32, rounds: int = 30) -> dict:
    """Return forward images/s of eval-mode detectors per stream setting: the best of ``rounds`` rounds, the
    settings timed in turn within each round so that load from other processes hits them alike."""
    from nas.forgery import create_detector

    dets = {s: create_detector(genotype, streams=s, resolution=resolution).eval() for s in streams}
    x = torch.randn(batch, 3, resolution, resolution)
    best = {s: float("inf") for s in streams}
    with torch.no_grad():
        for det in dets.values():
            det(x)
        for _ in range(rounds):
            for s, det in dets.items():
                t = time.perf_counter()
                det(x)
                best[s] = min(best[s], time.perf_counter() - t)
    return {s: batch / t for s, t in best.items()}


VIDEO_RUNS = (  # (name, task, genotype key, extra overrides)
    ("tsn_r50-like", "forgery_video", "tsn", []), ("tsm_r50-like", "forgery_video", "tsm", []),
    ("searched pv_st", "forgery_video", "searched", []),
    ("image backbone, frame pooling", "forgery_video", "image", ["model.width=0.25"]),
    ("temporal head, tsm_r50-like", "forgery_temporal", "tsm", ["forgery.temporal_head=tem"]),
    ("per-frame scoring + grouping, tsm_r50-like", "forgery_temporal", "tsm", ["forgery.temporal_head=frame"]),
    ("per-frame scoring + grouping, image backbone", "forgery_temporal", "image",
     ["forgery.temporal_head=frame", "model.width=0.25"]),
)


def _searched(arg):
    """Return ``--searched`` (genotype or search run), else a seeded sample of pv_st standing in for one."""
    import nas

    if arg:
        return str(nas.load_genotype(arg))
    return str(nas.get_space("pv_st").sample(random.Random(0)))


def run_video(args) -> dict:
    """Train the video-part runs on the embedded face-video set; return their figures."""
    from nas.config import build_config
    from nas.config.retrain import RetrainConfig
    from nas.train import retrain

    genotypes = {"tsn": "pv_st:tsn_r50", "tsm": "pv_st:tsm_r50", "searched": _searched(args.searched),
                 "image": "st_topo:mobilenetv2"}
    recipe = str(ROOT / "recipes" / "retrain" / "forgery_temporal_embedded.yaml")
    result = {"genotypes": genotypes, "runs": []}
    wanted = [int(i) for i in args.runs.split(",")] if args.runs else range(len(VIDEO_RUNS))
    out = Path(args.out)
    if args.resume and out.exists():
        old = json.loads(out.read_text())
        if old.get("genotypes") != genotypes:
            sys.exit(f"--resume: {out} was written for other genotypes")
        result["runs"] = old.get("runs", [])
    done = {(r["run"], tuple(r["opts"])) for r in result["runs"]}
    for seed in args.seeds.split(","):
        for name, task, key, extra in (VIDEO_RUNS[i] for i in wanted):
            opts = [f"task={task}", f"epochs={args.epochs}", f"data.train_size={args.train_size}",
                    f"data.val_size={args.val_size}", f"seed={seed}", *extra, *args.video_opts]
            if (name, tuple(opts)) in done:
                continue
            cfg = build_config(RetrainConfig, recipe=recipe, flags={}, opts=opts)
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                row = retrain(cfg, genotypes[key], Path(tmp) / "run", log=lambda line: None)
            keep = ("auc", "acc", "ap_0.5", "ap_0.75", "ap_0.9", "ap_0.95", "mAP", "ar_5", "video_auc")
            r = {"run": name, "task": task, "genotype": genotypes[key], "seed": int(seed), "opts": opts,
                 **{k: row[k] for k in keep if k in row}, "seconds": time.perf_counter() - start}
            result["runs"].append(r)
            print(json.dumps(r), flush=True)
            out.write_text(json.dumps(result, indent=1))
    result["summary"] = summarise_video(result["runs"])
    for row in result["summary"]:
        print(json.dumps(row), flush=True)
    out.write_text(json.dumps(result, indent=1))
    return result


def summarise_video(runs: list) -> list:
    """Return one row per video run setting: mean and sd over its seeds of every metric."""
    groups: dict = {}
    for r in runs:
        groups.setdefault(r["run"], []).append(r)
    rows = []
    for name, rs in groups.items():
        row = {"run": name, "task": rs[0]["task"], "seeds": len(rs)}
        rows.append(mean_sd(row, rs, ("auc", "acc", "ap_0.5", "ap_0.75", "ap_0.95", "mAP", "video_auc")))
    return rows


def markdown_video(summary: list) -> str:
    """Return video summary rows as a Markdown table (video AUC and ACC, temporal APs and mAP)."""
    keys = ("auc", "acc", "video_auc", "ap_0.5", "ap_0.75", "ap_0.95", "mAP")
    lines = ["| run | task | seeds | " + " | ".join(keys) + " |", "|" + "---|" * (3 + len(keys))]
    for r in summary:
        lines.append(f"| {r['run']} | {r['task']} | {r['seeds']} | " + " | ".join(_pm(r, k) for k in keys) + " |")
    return "\n".join(lines)


def mean_sd(row: dict, runs: list, keys: tuple) -> dict:
    """Add to ``row`` the mean and sample sd over ``runs`` of each key they hold (sd 0 for one run)."""
    for key in keys:
        vals = [r[key] for r in runs if key in r]
        if vals:
            row[key] = statistics.mean(vals)
            row[key + "_sd"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--streams", default="rgb,fad,lfs,both,mix")
    p.add_argument("--quality", default="hq,lq")
    p.add_argument("--backbones", default="mobilenetv2,searched330m")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--train-size", type=int, default=4000)
    p.add_argument("--val-size", type=int, default=1000)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--task", default="forgery_image", help="forgery_image or forgery_spatial")
    p.add_argument("--classes", default="2", help="label sets, e.g. 2, 3, 16 or 2,3,16 ('' for spatial only)")
    p.add_argument("--overhead-only", action="store_true")
    p.add_argument("--no-overhead", action="store_true")
    p.add_argument("--overhead-rounds", type=int, default=30, help="timed rounds per stream setting (best is kept)")
    p.add_argument("--out", default="bench_forgery.json")
    p.add_argument("--resume", action="store_true",
                   help="append to --out, skipping runs it already holds (same backbone and settings)")
    p.add_argument("--video", action="store_true", help="run the video part (forgery_video, forgery_temporal)")
    p.add_argument("--searched", help="--video: the searched pv_st genotype or search run (default: a stand-in)")
    p.add_argument("--searched-image", metavar="G|RUN",
                   default=SEARCHED_330M,
                   help="the st_topo genotype or search run behind backbone 'searched330m' (default: the seed-0 "
                        "330M search result; 'sample': the seeded in-window sample of the first ablation)")
    p.add_argument("--runs", help="--video: comma list of indices into VIDEO_RUNS to run (default: all)")
    p.add_argument("--video-opts", nargs="*", default=[], metavar="KEY=VALUE",
                   help="--video: overrides added to every run, e.g. forgery.paired=true")
    p.add_argument("--table", metavar="JSON", help="print the summary of a finished or partial --out as a Markdown "
                                                   "table, and exit")
    p.add_argument("--baselines", action="store_true",
                   help="every task's headline figures beside their trivial baselines over --seeds "
                        "(experiments/bench_forgery_baselines.py; --out is a folder)")
    p.add_argument("--tasks", default="image,spatial,video,temporal", help="--baselines: which tasks")
    args = p.parse_args()
    if args.baselines:
        from experiments import bench_forgery_baselines as B

        B.main([int(s) for s in args.seeds.split(",")], args.tasks.split(","), Path(args.out), args.resume)
        return
    if args.table:
        runs = json.loads(Path(args.table).read_text())["runs"]
        video = bool(runs) and runs[0].get("task") in ("forgery_video", "forgery_temporal")
        print(markdown_video(summarise_video(runs)) if video else markdown(summarise(runs)))
        return
    torch.manual_seed(0)
    if args.video:
        run_video(args)
        return
    searched = searched_330m() if args.searched_image == "sample" else str(nas_genotype(args.searched_image))
    genotypes = {"mobilenetv2": "st_topo:mobilenetv2", "searched330m": searched}
    streams = args.streams.split(",")
    result = load_previous(Path(args.out), args.resume, genotypes)
    result["commands"].append(" ".join(sys.argv))
    done = {_key(r) for r in result["runs"]}
    for name in [] if args.no_overhead else args.backbones.split(","):
        ips = throughputs(genotypes[name], streams, args.resolution, rounds=args.overhead_rounds)
        result["overhead_img_s"][name] = {s: {"img_s": v, "vs_rgb": v / ips.get("rgb", v)} for s, v in ips.items()}
        print(name, json.dumps(result["overhead_img_s"][name]), flush=True)
    if not args.overhead_only:
        for name in args.backbones.split(","):
            for q in args.quality.split(","):
                for s in streams:
                    for seed in (int(v) for v in args.seeds.split(",")):
                        if _key({"backbone": name, **run_key_fields(s, q, seed, args)}) in done:
                            continue
                        r = {"backbone": name, **run_one(genotypes[name], s, q, seed, args)}
                        result["runs"].append(r)
                        print(json.dumps(r), flush=True)
                        Path(args.out).write_text(json.dumps(result, indent=1))
    result["summary"] = summarise(result["runs"])
    for row in result["summary"]:
        print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


SETTINGS = ("backbone", "streams", "quality", "task", "classes", "resolution", "epochs", "train_size", "val_size")


def summarise(runs: list) -> list:
    """Return the mean and sample standard deviation over seeds of AUC and ACC per backbone and settings."""
    groups: dict = {}
    for r in runs:
        groups.setdefault(_key({**r, "seed": None}), []).append(r)
    out = []
    for rs in groups.values():
        settings = {k: v for k, v in rs[0].items() if k in SETTINGS}
        row = {**settings, "seeds": len(rs),
               "params": rs[0]["params"], "madds": rs[0]["madds"],
               "s_per_epoch": statistics.mean(r["s_per_epoch"] for r in rs)}
        out.append(mean_sd(row, rs, ("auc", "acc", "bacc_3", "bacc_16", "l1")))
    return out


def _pm(row: dict, key: str) -> str:
    """Return ``mean ± sd`` of a summary field (just the mean for one seed), or a dash."""
    if key not in row:
        return "-"
    return f"{row[key]:.3f} ± {row[key + '_sd']:.3f}" if row["seeds"] > 1 else f"{row[key]:.3f}"


def markdown(summary: list) -> str:
    """Return summary rows as a Markdown table (AUC, ACC, balanced accuracies, L1, cost, s/epoch)."""
    lines = ["| backbone | task | classes | quality | streams | seeds | AUC | ACC@0.5 | bacc_3 | bacc_16 | L1 | params "
             "| MAdds | s/epoch |", "|" + "---|" * 14]
    for r in summary:
        lines.append(f"| {r['backbone']} | {r['task']} | {r['classes']} | {r['quality']} | {r['streams']} | "
                     f"{r['seeds']} | {_pm(r, 'auc')} | {_pm(r, 'acc')} | {_pm(r, 'bacc_3')} | {_pm(r, 'bacc_16')} | "
                     f"{_pm(r, 'l1')} | {r['params'] / 1e6:.2f}M | {r['madds'] / 1e6:.1f}M | {r['s_per_epoch']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

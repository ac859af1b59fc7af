"""Every forgery task's headline figures beside their trivial baselines, over seeds, on the embedded sets.

Each run is a real ``nas.train.retrain`` of one task from its recipe with the reduced sizes of ``TASKS`` (chosen
so the four tasks x 3 seeds fit about an hour on 2 shared CPU cores); ``seed`` and ``data.seed`` are both the
seed, so the data draw and the baselines vary too. The final epoch's row is kept whole (the model's metrics,
``base_*`` and ``beats_*``) in ``--out``/runs.jsonl, appended as each run ends (``--resume`` skips the runs it
holds), and the summary (mean, sd and every seed's value of each metric and baseline, and in how many seeds the
model beats each baseline) is recomputed from those rows into ``--out``/summary.json and printed as Markdown.

    python -m experiments.bench_forgery --baselines --seeds 0,1,2 --out experiments/results/forgery/baselines

``video`` runs the video recipe's temporal head; ``video_pool`` (not in the default ``--tasks``) the pooled clip
scorer that recipe held before, on the same videos, for comparison.
"""
from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

from experiments.common import ROOT

__all__ = ["TASKS", "HEADLINES", "run_task", "summarise", "markdown", "main", "data_baselines"]

IMAGE = "st_topo:mobilenetv2"
VIDEO = "pv_st:tsm_r50"
SMALL_VIDEO = ["data.train_size=256", "data.val_size=128", "epochs=20"]
POOLED_VIDEO = ["forgery.video_head=pool", "data.temporal_length=16", "data.frames=8", "eval.pool=mean",
                "forgery.part_weight=0"]  # the clip scorer the video recipe held before issue 37's temporal head
TASKS: Dict[str, tuple] = {  # name -> (genotype, task, recipe, overrides): reduced sizes, stated in the docs
    "image": (IMAGE, "forgery_image", "forgery_image.yaml",
              ["data.train_size=1000", "data.val_size=400", "epochs=3"]),
    "spatial": (IMAGE, "forgery_spatial", "forgery_spatial.yaml",
                ["data.train_size=1500", "data.val_size=500", "epochs=6"]),
    # the spatial recipe at its own sizes (15000 + 1000 images, 2 epochs), and two single-change ablations of the
    # reduced row: the region loss and the grey-map gate of before 2026-12-07 (docs/forgery.md)
    "spatial_recipe": (IMAGE, "forgery_spatial", "forgery_spatial.yaml", []),
    "spatial_balanced": (IMAGE, "forgery_spatial", "forgery_spatial.yaml",
                         ["data.train_size=1500", "data.val_size=500", "epochs=6",
                          "forgery.region_loss=balanced_dice"]),
    "spatial_soft": (IMAGE, "forgery_spatial", "forgery_spatial.yaml",
                     ["data.train_size=1500", "data.val_size=500", "epochs=6", "forgery.map_gate=soft"]),
    # the recipe with F3-Net's mix streams, at its own size and at four times the images (about 13 and 58 min per
    # seed at one thread; docs/forgery.md "Spatial: how high region IoU can go")
    "spatial_mix": (IMAGE, "forgery_spatial", "forgery_spatial.yaml", ["model.streams=mix"]),
    "spatial_mix_60000": (IMAGE, "forgery_spatial", "forgery_spatial_full.yaml", []),  # the recipe that meets 0.5
    "video": (VIDEO, "forgery_video", "forgery_video_embedded.yaml", SMALL_VIDEO),
    "temporal": (VIDEO, "forgery_temporal", "forgery_temporal_embedded.yaml",
                 ["data.train_size=256", "data.val_size=64", "epochs=10"]),
    "video_pool": (VIDEO, "forgery_video", "forgery_video_embedded.yaml", SMALL_VIDEO + POOLED_VIDEO),
}
HEADLINES = {  # task -> (metric, its baselines)
    "image": [("auc", ("chance",)), ("acc", ("majority",))],
    "spatial": [("bin_iou", ("zero", "mean")), ("bin_f1", ("zero", "mean")), ("l1", ("zero", "mean"))],
    **{name: [("bin_iou", ("zero", "mean")), ("bin_f1", ("zero", "mean")), ("l1", ("zero", "mean"))]
       for name in ("spatial_recipe", "spatial_balanced", "spatial_soft", "spatial_mix", "spatial_mix_60000")},
    "video": [("auc", ("chance", "framediff")), ("acc", ("majority",))],
    "video_pool": [("auc", ("chance", "framediff")), ("acc", ("majority",))],
    "temporal": [(m, ("whole", "whole_called", "whole_true")) for m in ("mAP", "ap_0.5", "ap_0.75", "ap_0.95")]
    + [("video_auc", ("framediff",))],
}


def run_task(name: str, seed: int) -> dict:
    """Train task ``name`` at ``seed`` (data seed too) and return its final metric row with the run's settings."""
    from nas.config import build_config
    from nas.config.retrain import RetrainConfig
    from nas.train import retrain

    genotype, task, recipe, opts = TASKS[name]
    cfg = build_config(RetrainConfig, recipe=str(ROOT / "recipes" / "retrain" / recipe), flags={},
                       opts=[f"task={task}", f"seed={seed}", f"data.seed={seed}", *opts])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        row = retrain(cfg, genotype, Path(tmp) / "run", log=lambda line: None)
    keep = {k: v for k, v in row.items() if isinstance(v, (int, float))}
    return {"name": name, "seed": seed, "genotype": genotype, "task": task, "recipe": recipe, "opts": opts,
            "wall_s": time.perf_counter() - start, **keep}


def _stats(values: List[float]) -> dict:
    return {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


def summarise(runs: List[dict]) -> dict:
    """Return, per task and headline metric, the model's and each baseline's mean / sd / values over seeds, and
    in how many seeds the model beats each baseline."""
    out: dict = {}
    for name, metrics in HEADLINES.items():
        rows = sorted((r for r in runs if r["name"] == name), key=lambda r: r["seed"])
        if not rows:
            continue
        task = out.setdefault(name, {"seeds": [r["seed"] for r in rows]})
        for metric, bases in metrics:
            entry = {"model": _stats([r[metric] for r in rows])}
            for b in bases:
                key = f"{b}_{metric}"
                if all(f"base_{key}" in r for r in rows):
                    entry[b] = {**_stats([r[f"base_{key}"] for r in rows]),
                                "beaten_in": sum(int(r[f"beats_{key}"]) for r in rows)}
            task[metric] = entry
    return out


def markdown(summary: dict) -> str:
    """Return the summary as a Markdown table: model mean ± sd, each baseline's, and seeds beaten."""
    lines = ["| task | metric | model (mean ± sd) | baselines (mean ± sd; seeds beaten) |", "|---|---|---|---|"]
    for name, task in summary.items():
        n = len(task["seeds"])
        for metric, entry in task.items():
            if metric == "seeds":
                continue
            m = entry["model"]
            bases = "; ".join(f"{b} {v['mean']:.3f} ± {v['sd']:.3f} ({v['beaten_in']}/{n})"
                              for b, v in entry.items() if b != "model")
            lines.append(f"| {name} | {metric} | {m['mean']:.3f} ± {m['sd']:.3f} | {bases} |")
    return "\n".join(lines)


def main(seeds: List[int], names: List[str], out: Path, resume: bool) -> None:
    """Run every (task, seed) not yet in ``out``/runs.jsonl, then write and print the summary."""
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "runs.jsonl"
    runs = [json.loads(line) for line in raw.read_text().splitlines() if line.strip()] if resume and raw.exists() \
        else []
    if not resume:
        raw.write_text("")
    done = {(r["name"], r["seed"]) for r in runs}
    todo = [(n, s) for n in names for s in seeds if (n, s) not in done]
    for i, (name, seed) in enumerate(todo, 1):
        row = run_task(name, seed)
        with raw.open("a") as f:
            f.write(json.dumps(row) + "\n")
        runs.append(row)
        print(f"[{i}/{len(todo)}] {name} seed {seed}: {row['wall_s']:.0f} s", flush=True)
    summary = summarise(runs)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(markdown(summary))


def data_baselines(seed: int, val_size: int = 128, opts: Sequence[str] = ()) -> dict:
    """Return the baselines that need no model on the embedded paired video set of ``seed`` (``val_size``
    validation videos of the temporal recipe, one slot per frame, plus config ``opts`` such as
    ``forgery.video_artefacts=0``): the frame-difference AUC / AP, and the ``whole`` / ``whole_true`` temporal APs
    (``whole_called`` needs a model's video score)."""
    import torch

    from nas.config import build_config
    from nas.config.retrain import RetrainConfig
    from nas.data.forgery_video import split_video_target
    from nas.forgery import baselines as B
    from nas.tasks.forgery_video import embedded_video_sets

    cfg = build_config(RetrainConfig, recipe=str(ROOT / "recipes" / "retrain" / "forgery_temporal_embedded.yaml"),
                       flags={}, opts=["task=forgery_temporal", f"seed={seed}", f"data.seed={seed}",
                                       "data.train_size=1", f"data.val_size={val_size}", *opts])
    _, val = embedded_video_sets(cfg)
    t = split_video_target(torch.stack([val[i][1] for i in range(len(val))]))
    y = t["binary"].numpy()
    out = {"name": "data", "seed": seed, "opts": list(opts), "artefacts": cfg.forgery.video_artefacts,
           "val_videos": len(val), "fake_videos": int(y.sum()),
           "segments": sum(len(s) for s in t["segments"])}
    out.update(B.video_baselines(t["framediff"].numpy(), y))
    gts = dict(enumerate(t["segments"]))
    out.update({k: v for k, v in B.temporal_baselines(t["frames"].tolist(), gts, [0.0] * len(y), y).items()
                if "whole_called" not in k})
    return out

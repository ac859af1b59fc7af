"""How high can region IoU go on the embedded forgery set without seeing the source image? A noise-resampling
oracle for issue 37's spatial goal (IoU >= 0.5 on the fakes). Research only.

The true region is where the grey difference map ``|fake - source|`` reaches ``forgery.region_tau``. Where a
manipulation replaces or resamples pixels, the source's fine detail there (skin texture, sensor noise) is gone
from the fake, and whether a pixel's difference crosses the threshold depends on it. The oracle knows every draw
of the generator (faces, donors, method, its parameters) except that fine detail: it redraws the sources' skin
texture and sensor noise ``--draws`` times (``source_rng`` of ``nas.data.forgery_synthetic._batch``), takes each
pixel's region frequency ``p`` over the redraws, and predicts the region where ``p >= t``. ``t`` is chosen on a
calibration set of other images, then the oracle is scored against the held-out *first* draw (the truth it
never saw), pooled over the fakes as ``nas.forgery.metrics.region_sums`` pools. A real detector knows less (it
must infer the method, the donor and the geometry from the image), so this is an estimate of a ceiling, not a
bound: the fake can leak a little of the source's noise through feathered rims.

``--checkpoint RUN/best.pt`` (repeatable) adds each trained run's IoU per method on its own validation set (a
different draw of the same generator), so the oracle and the detectors read side by side.

Usage: python -m experiments.spatial_ceiling [--images 1000] [--draws 16] [--taus 0.02,0.05,0.1]
       [--checkpoint RUN/best.pt ...] [--out FILE]
Prints one JSON object (written to ``--out`` too).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)
EVAL_SEED, CALIBRATION_SEED = 20261207, 777


def draws(n: int, k: int, seed: int, spec) -> tuple:
    """Return ``(methods (n,), maps (k + 1, n, R, R) uint8)``: one method and manipulation per image, k + 1 draws of
    the sources' texture and noise."""
    from nas.data.forgery_synthetic import BATCH, _batch, _methods

    methods = _methods(n, spec.fake_share, np.random.default_rng([seed, 0]))
    maps = []
    for v in range(k + 1):
        rng, src = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2, v])
        maps.append(np.concatenate([_batch(methods[s:s + BATCH], spec, rng, src)[1] for s in range(0, n, BATCH)]))
    return methods, np.stack(maps)


def per_image(methods: np.ndarray, maps: np.ndarray, tau: float) -> np.ndarray:
    """Return each fake's intersection and union with the first draw's region per threshold of GRID: an array
    (fakes, thresholds, 2) in the order of ``methods``' fakes."""
    regions = maps >= tau * 255 - 1e-6
    truth, p = regions[0], regions[1:].mean(0)
    rows = []
    for i in np.flatnonzero(methods > 0):
        pred = p[i][None] >= GRID[:, None, None]
        rows.append(np.stack([(pred & truth[i]).sum((1, 2)), (pred | truth[i]).sum((1, 2))], 1))
    return np.asarray(rows, np.float64).reshape(-1, len(GRID), 2)


def iou_by_threshold(methods: np.ndarray, maps: np.ndarray, tau: float) -> Dict[str, np.ndarray]:
    """Return pooled intersection and union over the fakes per threshold of GRID, in total and per method."""
    rows, fakes = per_image(methods, maps, tau), methods[methods > 0]
    sums = {"all": rows.sum(0)}
    for m in np.unique(fakes):
        sums[str(int(m))] = rows[fakes == m].sum(0)
    return sums


def pooled_above(rows: np.ndarray, goal: float) -> Dict[str, float]:
    """Return pooled IoU of per-image ``(intersection, union)`` rows with a bootstrap interval over images and the
    one-sided p that it is at or below ``goal``."""
    from nas.utils.stats import bootstrap_test

    est, low, high, p = bootstrap_test(lambda i, u: i.sum() / max(u.sum(), 1.0) - goal, rows[:, 0], rows[:, 1],
                                       paired=True)
    return {"iou": est + goal, "low": low + goal, "high": high + goal, "p_at_or_below_goal": p, "n_fakes": len(rows)}


def load_spatial(checkpoint: Path):
    """Return ``(model in eval mode, resolved config, datasets)`` of a forgery_spatial run's checkpoint."""
    from nas.config import from_dict
    from nas.config.retrain import RetrainConfig
    from nas.spaces import load_genotype
    from nas.tasks import resolve_task
    from nas.train import checkpoint as ck
    from nas.train.retrain import build_model

    ckpt = ck.load_checkpoint(checkpoint)
    cfg = from_dict(RetrainConfig, ckpt["config"])
    g = load_genotype(ckpt["genotype"])
    task = resolve_task(cfg.task, g)
    data = task.datasets(cfg, g)
    model = build_model(task, g, cfg, ckpt["num_classes"])
    ck.load_model_state(model, ckpt["model"], checkpoint)
    return model.eval(), cfg, data


def model_per_method(checkpoint: Path, goal: float = 0.5, batch_size: int = 250) -> Dict[str, object]:
    """Return a run's region IoU (probability >= 1/2) on its own validation set, pooled over the fakes, in total
    (``"all"``, with ``pooled_above``'s test over validation images as ``"test"``) and per method name."""
    import torch

    from nas.data.forgery import split_target
    from nas.data.forgery_methods import METHODS

    model, cfg, data = load_spatial(checkpoint)
    methods = np.asarray(data.val.methods)
    sums: Dict[str, np.ndarray] = {}
    rows = []
    start = 0
    loader = torch.utils.data.DataLoader(data.val, batch_size=batch_size, shuffle=False)
    with torch.no_grad():
        for x, y in loader:
            _, maps = split_target(y)
            pred = model(x)["region"].numpy() >= 0.5
            truth = (maps >= cfg.forgery.region_tau).numpy()
            for i in range(len(x)):
                m = int(methods[start + i])
                if m:
                    s = np.array([(pred[i] & truth[i]).sum(), (pred[i] | truth[i]).sum()], np.float64)
                    rows.append(s)
                    for key in ("all", METHODS[m].name):
                        sums[key] = sums.get(key, 0) + s
            start += len(x)
    out: Dict[str, object] = {k: float(v[0] / max(v[1], 1)) for k, v in sums.items()}
    out["test"] = pooled_above(np.asarray(rows), goal)
    return out


def main(argv: List[str] = None) -> int:
    from nas.data.forgery_methods import METHODS
    from nas.data.forgery_synthetic import ForgerySpec

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=16)
    ap.add_argument("--taus", default="0.02,0.05,0.1")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--goal", type=float, default=0.5, help="the region IoU goal the oracle is tested against")
    ap.add_argument("--checkpoint", type=Path, action="append", default=[],
                    help="a forgery_spatial run's best.pt: its per-method IoU on its own validation set (repeatable)")
    args = ap.parse_args(argv)
    spec = ForgerySpec()
    start = time.perf_counter()
    cal_methods, cal_maps = draws(args.images, args.draws, CALIBRATION_SEED, spec)
    methods, maps = draws(args.images, args.draws, EVAL_SEED, spec)
    out = {"images": args.images, "draws": args.draws, "spec": spec.__dict__, "taus": {}}
    for tau in (float(t) for t in args.taus.split(",")):
        cal = iou_by_threshold(cal_methods, cal_maps, tau)["all"]
        t = int(np.argmax(cal[:, 0] / np.maximum(cal[:, 1], 1)))
        ev = iou_by_threshold(methods, maps, tau)
        iou = {k: float(v[t, 0] / max(v[t, 1], 1)) for k, v in ev.items()}
        out["taus"][f"{tau:g}"] = {
            "threshold": float(GRID[t]), "iou": iou["all"],
            "test": pooled_above(per_image(methods, maps, tau)[:, t], args.goal),
            "iou_at_half": float(ev["all"][GRID.tolist().index(0.5), 0] / ev["all"][GRID.tolist().index(0.5), 1]),
            "region_share_of_fake_pixels": float((maps[0][methods > 0] >= tau * 255 - 1e-6).mean()),
            "per_method": {METHODS[int(k)].name: v for k, v in sorted(iou.items(), key=lambda kv: kv[0])
                           if k != "all"}}
    out["models"] = {str(c): model_per_method(c, args.goal) for c in args.checkpoint}
    out["seconds"] = round(time.perf_counter() - start, 1)
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

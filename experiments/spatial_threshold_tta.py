"""Region IoU of a trained forgery_spatial checkpoint under two evaluation-time changes: a flip-averaged region
(test-time augmentation) and a region threshold other than 1/2, chosen on fresh images, never on validation.

The calibration images are a new draw of the embedded set (``make_forgeries`` from the generator seeded
``data.seed + CALIBRATION_OFFSET``): neither training nor validation images. For each threshold on a grid it
pools the region's intersection and union over the fakes (as ``nas.forgery.metrics.region_sums`` does at 1/2),
picks the threshold with the best calibration IoU, and reports validation IoU at 1/2 and at that threshold, with
and without the flip. Prints one JSON object; research only (issue 37's spatial goal).

Usage: OMP_NUM_THREADS=1 python -m experiments.spatial_threshold_tta RUN/best.pt [--calibration 1000]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

CALIBRATION_OFFSET = 1_000_003
GRID = np.round(np.arange(0.20, 0.701, 0.05), 2)


def region_probs(model, dataset, batch_size: int, tau: float):
    """Yield ``(region, flip-averaged region, true region, fake)`` per batch, as numpy arrays."""
    from nas.data.forgery import split_target

    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    with torch.no_grad():
        for x, y in loader:
            labels, maps = split_target(y)
            plain = model(x)["region"]
            flipped = model(torch.flip(x, dims=[-1]))["region"].flip(-1)
            yield (plain.numpy(), ((plain + flipped) / 2).numpy(), (maps >= tau).numpy(),
                   (labels[:, 0] == 1).numpy())


def iou_table(model, dataset, batch_size: int, tau: float) -> dict:
    """Return pooled IoU over the fakes per threshold, for the plain and the flip-averaged region."""
    sums = {k: np.zeros((len(GRID), 2)) for k in ("plain", "flip")}
    for plain, flip, truth, fake in region_probs(model, dataset, batch_size, tau):
        g = truth[fake]
        for k, p in (("plain", plain[fake]), ("flip", flip[fake])):
            for i, t in enumerate(GRID):
                b = p >= t
                sums[k][i] += (np.sum(b & g), np.sum(b | g))
    return {k: {f"{t:.2f}": float(s[i, 0] / max(s[i, 1], 1.0)) for i, t in enumerate(GRID)} for k, s in sums.items()}


def main(argv=None) -> int:
    from experiments.spatial_ceiling import load_spatial
    from nas.data.forgery import ArrayForgeries
    from nas.data.forgery_synthetic import ForgerySpec, make_forgeries

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--calibration", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=200)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model, cfg, data = load_spatial(args.checkpoint)
    d, f = cfg.data, cfg.forgery
    spec = ForgerySpec(train=0, val=args.calibration, resolution=cfg.resolution, quality=f.quality,
                       strength=f.strength, seed=d.seed + CALIBRATION_OFFSET)
    images, gmaps, methods = make_forgeries(args.calibration, spec, np.random.default_rng(spec.seed))
    calib = ArrayForgeries(images, gmaps, methods, False, spec.seed, True, f.replaced_label)
    tau = f.region_tau
    out = {"checkpoint": str(args.checkpoint), "calibration_images": args.calibration,
           "calibration": iou_table(model, calib, args.batch_size, tau),
           "validation": iou_table(model, data.val, args.batch_size, tau)}
    for k in ("plain", "flip"):
        best = max(out["calibration"][k], key=out["calibration"][k].get)
        out[f"{k}_threshold"] = float(best)
        out[f"{k}_val_iou_at_half"] = out["validation"][k]["0.50"]
        out[f"{k}_val_iou_at_threshold"] = out["validation"][k][best]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

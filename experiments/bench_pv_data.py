"""Train pv_st members of different slot mixes on the embedded video set; print top-1 per class group.

The set (``nas.data.video_synthetic``) has order, motion and texture classes; a frame-averaging net is bounded
by 4/7. Each mix is trained from scratch with one protocol at the proxy width and scored on fresh clips, so
the table shows whether the set tells temporal ops apart, not only 2-D from temporal.

    python -m experiments.bench_pv_data --epochs 4 --width 0.125
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List

__all__ = ["MIXES", "group_accuracy", "main"]

# name -> op per slot for pv_st's 16 slots (stages of 3, 4, 6, 3 blocks)
MIXES = {
    "tsn (all 2-D)": ["t_id"] * 16,
    "tsm (all shift)": ["t_shift"] * 16,
    "r2plus1d (all (2+1)-D)": ["t_r21d"] * 16,
    "dw3 (all depthwise k3)": ["t_dw3"] * 16,
    "shift in stage 4 only": ["t_id"] * 13 + ["t_shift"] * 3,
    "2-D early, conv3 late": ["t_id"] * 7 + ["t_conv3"] * 9,
}


def group_accuracy(ops: List[str], epochs: int, width: float, size: int, seed: int) -> Dict[str, float]:
    """Train the pv_st member ``ops`` on fresh clips; return top-1 overall and per class group on other clips."""
    import torch
    from torch.utils.data import DataLoader

    import nas
    from nas.data.collate import collate_skip
    from nas.data.video_synthetic import CLASS_NAMES, GROUPS, SyntheticMotion
    from nas.search.finalists import train_briefly
    from nas.utils.seeds import seeded_init, torch_generator

    space = nas.get_space("pv_st")
    g = space.freeze(dict(zip(space.dims(), ops)))
    train, test = SyntheticMotion(512, 8, size, seed=2000), SyntheticMotion(448, 8, size, seed=2001)
    with seeded_init(seed):
        model = nas.create_model(g, num_classes=len(CLASS_NAMES), width=width)
    loader = DataLoader(train, batch_size=32, shuffle=True, drop_last=True, generator=torch_generator(seed),
                        collate_fn=collate_skip)
    train_briefly(model, loader, epochs, 0.05, torch.device("cpu"))
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(test.clips[i : i + 64]).argmax(1) for i in range(0, len(test), 64)])
    hit = pred == test.labels
    out = {"all": float(hit.float().mean())}
    for name, classes in GROUPS.items():
        mask = torch.isin(test.labels, torch.tensor(classes))
        out[name] = float(hit[mask].float().mean())
    return out


def main(argv: List[str] | None = None) -> int:
    """Train every mix and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--width", type=float, default=0.125)
    p.add_argument("--size", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    print(f"pv_st at width {a.width}, 8x{a.size}^2 clips, {a.epochs} epochs on 512 clips, 448 test clips "
          "(chance: order 1/3, motion 1/2, texture 1/2; 2-D bound overall 4/7)")
    print(f"{'mix':26s} {'all':>6s} {'order':>6s} {'motion':>6s} {'texture':>7s}")
    for name, ops in MIXES.items():
        r = group_accuracy(ops, a.epochs, a.width, a.size, a.seed)
        print(f"{name:26s} {r['all']:6.3f} {r['order']:6.3f} {r['motion']:6.3f} {r['texture']:7.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

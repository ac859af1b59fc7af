"""Compare peak training memory of the pv_st supernet: all paths (DARTS softmax) vs sampled paths (Gumbel, top-k).

Each configuration runs in its own subprocess; memory is ``ru_maxrss`` after one forward+backward minus the
RSS measured just before it (model and input already built), so the torch runtime itself is not counted.

    python -m experiments.bench_pv_memory --batch 4 --frames 8 --size 64            # the ResNet-50 space, full width
    python -m experiments.bench_pv_memory --batch 16 --frames 8 --size 32 --width 0.125  # the search's proxy
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Dict

from experiments.common import ROOT

__all__ = ["measure", "main"]


def _rss_kb() -> int:
    """Return the current resident set size in KiB (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure(space: str, relaxation: str, batch: int, frames: int, size: int, paths: int,
            width: float = 1.0) -> Dict[str, float]:
    """Run one forward+backward of the supernet under ``relaxation``; return activation peak in MiB."""
    import resource

    import torch

    import nas

    torch.manual_seed(0)
    sn = nas.create_supernet(space, num_classes=10, width=width).train()
    sn.set_relaxation(relaxation, tau=1.0, k=paths)
    x, y = torch.randn(batch, 3, frames, size, size), torch.randint(0, 10, (batch,))
    before = _rss_kb()
    loss = torch.nn.functional.cross_entropy(sn(x), y)
    loss.backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"relaxation": relaxation, "peak_mib": peak / 1024, "activation_mib": (peak - before) / 1024}


def main(argv=None) -> int:
    """Measure every relaxation in a subprocess and print the ratios against all paths."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="pv_st")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--paths", type=int, default=2)
    p.add_argument("--width", type=float, default=1.0, help="supernet channel multiplier (1.0: the real widths)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(measure(a.space, a.child, a.batch, a.frames, a.size, a.paths, a.width)))
        return 0
    rows = {}
    for mode in ("softmax", "gumbel", "sample"):
        cmd = [sys.executable, "-m", __spec__.name, "--child", mode] + [f"--{k}={v}" for k, v in
                                                            (("space", a.space), ("batch", a.batch),
                                                             ("frames", a.frames), ("size", a.size),
                                                             ("paths", a.paths), ("width", a.width))]
        rows[mode] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout)
    base = rows["softmax"]["activation_mib"]
    print(f"{a.space} width={a.width} batch={a.batch} clip={a.frames}x{a.size}^2")
    for mode, r in rows.items():
        print(f"  {mode:8s} activation peak {r['activation_mib']:8.1f} MiB  (process peak {r['peak_mib']:.0f} MiB)"
              f"  ratio vs all paths {r['activation_mib'] / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Estimate pv_st supernet training memory at the real clip size on a machine without a GPU (no compute).

    python tools/pv_memory_estimate.py                       # pv_st and pv_st_m, batch 8, 8x224^2
    python tools/pv_memory_estimate.py --batch 4 --spaces pv_st

The forward pass runs on fake tensors (``FakeTensorMode``: shapes and dtypes only), and a saved-tensor hook
adds up the storage of every tensor autograd keeps for backward: the activation memory one training step
holds at its peak, for one sampled path, with and without activation checkpointing, in float32 and under bf16
autocast. Weights, gradients and SGD momentum add 3 x 4 bytes per parameter. This is an estimate, a lower
bound on a GPU's peak: it leaves out cuDNN workspaces, the allocator's fragmentation and the CUDA context
(about 0.5 GiB); ``tools/gpu_bench.py`` measures the peak on a GPU.
"""
from __future__ import annotations

import argparse
import random
import sys
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

import nas
from nas.nn.checkpointing import checkpoint_blocks


def estimate(space: str, batch: int, frames: int, side: int, checkpointing: bool,
             dtype: Optional[torch.dtype]) -> Dict[str, float]:
    """Return ``{"activations_gib", "state_gib"}`` of one training step of ``space``'s supernet (one path)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True):
        net = nas.create_supernet(space, num_classes=400)
        if checkpointing:
            checkpoint_blocks(net)
        net.sample_active(random.Random(0))
        net.train()
        x = torch.randn(batch, 3, frames, side, side)
        y = torch.randint(0, 400, (batch,))
        saved: Dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            storage = t.untyped_storage()
            saved[id(storage)] = storage.nbytes()  # views of one storage count once
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
                F.cross_entropy(net(x), y)
        params = sum(p.numel() for p in net.parameters())
    return {"activations_gib": sum(saved.values()) / 2**30, "state_gib": params * 4 * 3 / 2**30}


def main(argv: Optional[List[str]] = None) -> int:
    """Print the estimate table; return 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spaces", nargs="+", default=["pv_st", "pv_st_m"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--side", type=int, default=224)
    args = p.parse_args(argv)
    print(f"estimated training memory, batch {args.batch} at {args.frames}x{args.side}^2, one sampled path "
          "(activations kept for backward + weights/grads/momentum; not a measured GPU peak)")
    print(f"{'space':<9} {'checkpointing':<14} {'dtype':<6} {'activations GiB':>16} {'state GiB':>10} {'total':>7}")
    for space in args.spaces:
        for ckpt in (False, True):
            for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
                r = estimate(space, args.batch, args.frames, args.side, ckpt, dtype)
                total = r["activations_gib"] + r["state_gib"]
                print(f"{space:<9} {'on' if ckpt else 'off':<14} {name:<6} {r['activations_gib']:>16.2f} "
                      f"{r['state_gib']:>10.2f} {total:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

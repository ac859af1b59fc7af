"""Benchmark the pure cost model and the supernet step, as ratios measured within one run.

1. Cost model vs counting: MAdds from ``nas.cost`` equal a FlopCounterMode count of the extracted model, for
   random genotypes; time per genotype against thop profiling the same models (on deep copies).
2. Cost-model throughput in genotypes/s.
3. Supernet with one active genotype vs the extracted standalone model: forward+backward, batch 32, 64x64.

Usage: python tools/bench_cost.py [--genotypes 20] [--reps 7]
"""
from __future__ import annotations

import argparse
import copy
import random
import statistics
import time
import warnings

import torch
from torch.utils.flop_counter import FlopCounterMode

import nas


def counted_madds(model: torch.nn.Module, res: int) -> int:
    """Count conv+linear MACs of one forward pass with torch's FlopCounterMode (FLOPs / 2)."""
    model.eval()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(torch.randn(1, 3, res, res))
    return fc.get_total_flops() // 2


def thop_seconds(model: torch.nn.Module, res: int) -> float:
    """Time thop.profile on a deep copy (thop leaves buffers behind on the original)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import thop

        m = copy.deepcopy(model)
        t = time.perf_counter()
        thop.profile(m, inputs=(torch.randn(1, 3, res, res),), verbose=False)
        return time.perf_counter() - t


def bench_cost(n: int, res: int) -> None:
    space = nas.get_space("st_topo")
    rng = random.Random(0)
    genotypes = [space.sample(rng) for _ in range(n)]
    exact, thop_t = 0, []
    for g in genotypes:
        model = nas.create_model(g)
        exact += counted_madds(model, res) == nas.cost(g, resolution=res).madds
        thop_t.append(thop_seconds(model, res))
    many = [space.sample(rng) for _ in range(5000)]
    t = time.perf_counter()
    for g in many:
        nas.cost(g, resolution=res)
    per_cost = (time.perf_counter() - t) / len(many)
    print(f"cost model == FlopCounterMode on extracted models: {exact}/{n} genotypes at {res}px")
    print(f"cost model: {per_cost * 1e6:.0f} us/genotype = {1 / per_cost:,.0f} genotypes/s")
    print(f"thop.profile: {statistics.median(thop_t) * 1e3:.0f} ms/genotype (median)")
    print(f"speed-up over thop: {statistics.median(thop_t) / per_cost:,.0f}x")


def step_time(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    t = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    return time.perf_counter() - t


def bench_step(reps: int, samples: int) -> None:
    rng = random.Random(1)
    ratios = []
    for _ in range(samples):
        sn = nas.create_supernet("st_topo", num_classes=10)
        g = sn.sample_active(rng)
        model = sn.extract(g).train()
        sn.train()
        x = torch.randn(32, 3, 64, 64).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (32,))
        for m in (sn, model):
            step_time(m, x, y)  # warm-up
        a, b = [], []
        for _ in range(reps):  # interleaved, so machine noise hits both alike
            a.append(step_time(sn, x, y))
            b.append(step_time(model, x, y))
        ratio = statistics.median(a) / statistics.median(b)
        ratios.append(ratio)
        print(f"  {nas.cost(g).madds / 1e6:6.1f}M: supernet {statistics.median(a) * 1e3:.0f} ms, "
              f"standalone {statistics.median(b) * 1e3:.0f} ms, ratio {ratio:.3f}")
    print(f"supernet / standalone train step (b32, 64x64): median ratio {statistics.median(ratios):.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--genotypes", type=int, default=20)
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--step-samples", type=int, default=3)
    args = p.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    bench_cost(args.genotypes, args.resolution)
    bench_step(args.reps, args.step_samples)


if __name__ == "__main__":
    main()

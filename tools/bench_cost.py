"""Benchmark the pure cost model against two counters on built models, and the supernet step against its subnet.

What each one counts, per forward pass of one input:
- ``nas.cost`` (ours, no module built): the multiply-accumulates (MAdds) of convs and linears only, as the
  MobileNetV2 and ST-NAS papers count them; ``params`` is every trainable parameter, BatchNorm included.
- ``torch.utils.flop_counter.FlopCounterMode``: FLOPs of the aten matmul/conv kernels, two per
  multiply-accumulate, nothing for BatchNorm, activations, pooling or additions. Half of it equals ours exactly.
- ``thop.profile`` (0.1.1): MACs from forward hooks on leaf modules, one per multiply-accumulate for convs and
  linears (ours again), plus 4 per output element of every affine BatchNorm (2 for the normalisation, doubled
  for the affine terms; thop's own rule), zero for ReLU/ReLU6, and nothing for functional ops (``mean``
  pooling, residual additions). So thop's count is systematically ours + 4 x (BatchNorm output elements);
  its parameter count equals ours. thop finds its rules by exact module type, so subclassed layers (pv_st's
  ``Spatial`` and ``TemporalConv`` convs) are handed their parent's rule (``inherited_rules``); without that
  thop counts them as zero. The tool checks both identities and reports thop's BN share.

Sections:
1. Counts: ours vs FlopCounterMode vs thop (with the BN term taken out) on random genotypes, any space.
2. Speed: cost model throughput in genotypes/s against the time of one thop profile (on deep copies).
3. Supernet with one active genotype vs the extracted standalone model (st_topo): forward+backward, b32, 64x64.

Usage: python tools/bench_cost.py [--space st_topo] [--genotypes 20] [--resolution 224] [--frames 8] [--reps 7]
"""
from __future__ import annotations

import argparse
import copy
import random
import statistics
import time
import warnings
from dataclasses import dataclass
from typing import List, Tuple

import torch
from torch.utils.flop_counter import FlopCounterMode

import nas
from nas.core.target import Target


@dataclass(frozen=True)
class Counts:
    """One genotype's counts: ours, FlopCounterMode's MACs, thop's MACs and params, BN output elements."""

    ours: nas.Cost
    flop_counter: int
    thop_macs: int
    thop_params: int
    bn_elements: int

    @property
    def thop_without_bn(self) -> int:
        """Return thop's MACs less its BatchNorm term (4 per output element of an affine BN)."""
        return self.thop_macs - 4 * self.bn_elements


def counted_madds(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Count conv+linear MACs of one forward pass with torch's FlopCounterMode (FLOPs / 2)."""
    model.eval()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(x)
    return fc.get_total_flops() // 2


def bn_elements(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Return the number of output elements of all affine BatchNorms in one forward pass."""
    seen: List[int] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: seen.append(out.numel())) for m in model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.affine]
    with torch.no_grad():
        model.eval()(x)
    for h in hooks:
        h.remove()
    return sum(seen)


def inherited_rules(model: torch.nn.Module) -> dict:
    """Return thop ``custom_ops`` for module types that only subclass a layer thop knows.

    thop looks its rules up by exact type, so a subclass such as pv_st's ``Spatial(nn.Conv3d)`` would count
    as zero MACs and zero params; handing it the parent's rule makes thop count it like the plain layer.
    """
    from thop.profile import register_hooks

    rules = {}
    for t in {type(m) for m in model.modules()} - set(register_hooks):
        base = next((b for b in t.__mro__[1:] if b in register_hooks), None)
        if base is not None:
            rules[t] = register_hooks[base]
    return rules


def thop_profile(model: torch.nn.Module, x: torch.Tensor) -> Tuple[int, int, float]:
    """Return thop's ``(MACs, params, seconds)`` on a deep copy (thop leaves buffers behind on the original)."""
    from nas.utils.extras import require

    require("thop", purpose="tools/bench_cost.py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import thop

        m = copy.deepcopy(model)
        t = time.perf_counter()
        macs, params = thop.profile(m, inputs=(x,), custom_ops=inherited_rules(m), verbose=False)
        return int(macs), int(params), time.perf_counter() - t


def count(g: nas.Genotype, target: Target) -> Tuple[Counts, float]:
    """Return every count of ``g``'s built model at ``target`` and the seconds thop took."""
    model = nas.create_model(g, num_classes=target.num_classes)
    x = torch.randn(target.input_shape())
    macs, params, seconds = thop_profile(model, x)
    ours = nas.get_space(g.space).cost_at(g, target)
    return Counts(ours, counted_madds(model, x), macs, params, bn_elements(model, x)), seconds


def bench_cost(space_name: str, n: int, target: Target) -> None:
    """Print how the three counts agree on ``n`` random genotypes, and the cost model's speed against thop."""
    space = nas.get_space(space_name)
    rng = random.Random(0)
    rows = [count(space.sample(rng), target) for _ in range(n)]
    fc_ok = sum(c.ours.madds == c.flop_counter for c, _ in rows)
    thop_ok = sum(c.ours.madds == c.thop_without_bn for c, _ in rows)
    params_ok = sum(c.ours.params == c.thop_params for c, _ in rows)
    bn_share = statistics.median((c.thop_macs - c.ours.madds) / c.thop_macs for c, _ in rows)
    many = [space.sample(rng) for _ in range(5000)]
    t = time.perf_counter()
    for g in many:
        space.cost_at(g, target)
    per_cost = (time.perf_counter() - t) / len(many)
    thop_t = statistics.median(s for _, s in rows)
    print(f"{space_name} at {target}: {n} random genotypes")
    print(f"  ours == FlopCounterMode / 2:               {fc_ok}/{n}")
    print(f"  ours == thop MACs - 4 x BN output elements: {thop_ok}/{n} (BN is {bn_share:.1%} of thop's count)")
    print(f"  ours params == thop params:                 {params_ok}/{n}")
    print(f"cost model: {per_cost * 1e6:.0f} us/genotype = {1 / per_cost:,.0f} genotypes/s")
    print(f"thop.profile: {thop_t * 1e3:.0f} ms/genotype (median); speed-up over thop: {thop_t / per_cost:,.0f}x")


def step_time(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Return the seconds of one forward + backward."""
    t = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    return time.perf_counter() - t


def bench_step(reps: int, samples: int) -> None:
    """Print the supernet / standalone train-step time ratio for ``samples`` random st_topo members."""
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
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="st_topo")
    p.add_argument("--genotypes", type=int, default=20)
    p.add_argument("--resolution", type=int, default=None, help="default: the space's")
    p.add_argument("--frames", type=int, default=None, help="video spaces only (default: the space's)")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--step-samples", type=int, default=3, help="0 skips the supernet step benchmark")
    args = p.parse_args()
    target = nas.get_space(args.space).target(resolution=args.resolution, frames=args.frames)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    bench_cost(args.space, args.genotypes, target)
    if args.step_samples:
        bench_step(args.reps, args.step_samples)


if __name__ == "__main__":
    main()

"""Time AdaRem's optimizer step (foreach and loop paths) against torch Adam(foreach=True) on a ~5M-param model."""
from __future__ import annotations

import argparse
import copy
import statistics
import time
from typing import Callable, Dict, List

import torch
from torch import nn

from nas.optim import SGLD, AdaRem

TARGET_RATIO = 1.3  # AdaRem may cost at most 1.3x an Adam step

OptimizerFactory = Callable[[List[nn.Parameter]], torch.optim.Optimizer]


def build_model() -> nn.Module:
    """Return a ~5M-parameter conv stack plus classifier, mixing large kernels with many small 1-D tensors."""
    widths = [3, 64, 128, 128, 256, 256, 256, 256, 256, 256, 512]
    layers: List[nn.Module] = []
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], 1000)]
    return nn.Sequential(*layers)


def candidates(num_data: int) -> Dict[str, OptimizerFactory]:
    """Return the optimizers to time, keyed by table label; the first one is the baseline."""
    return {
        "adam foreach (baseline)": lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True),
        "adarem foreach": lambda ps: AdaRem(ps, lr=0.1, weight_decay=1e-4, foreach=True),
        "adarem loop": lambda ps: AdaRem(ps, lr=0.1, weight_decay=1e-4, foreach=False),
        "adarem foreach step_on_momentum": lambda ps: AdaRem(ps, lr=0.1, step_on_momentum=True, foreach=True),
        "adarem foreach max_scope=global": lambda ps: AdaRem(ps, lr=0.1, max_scope="global", foreach=True),
        "adam loop": lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=False),
        "sgd momentum foreach": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, foreach=True),
        "sgld": lambda ps: SGLD(ps, lr=1e-4, num_data=num_data, generator=torch.Generator(ps[0].device)),
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(opt: torch.optim.Optimizer, steps: int, device: torch.device) -> float:
    """Return the mean seconds per ``opt.step()`` over ``steps`` consecutive steps."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        opt.step()
    _sync(device)
    return (time.perf_counter() - start) / steps


def benchmark(reps: int, steps: int, warmup: int, device: torch.device) -> Dict[str, float]:
    """Return the median seconds per step of each candidate; repetitions interleave the candidates."""
    torch.manual_seed(0)
    base = build_model().to(device)
    opts = {}
    for name, make in candidates(num_data=50_000).items():
        model = copy.deepcopy(base)
        params = list(model.parameters())
        for p in params:
            p.grad = torch.randn_like(p)  # populated once: only the step itself is timed
        opts[name] = make(params)
        time_steps(opts[name], warmup, device)
    times: Dict[str, List[float]] = {name: [] for name in opts}
    names = list(opts)
    for rep in range(reps):
        # Rotate the order each repetition so drift in machine load does not favour one candidate.
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            times[name].append(time_steps(opts[name], steps, device))
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    """Parse arguments, run the benchmark and print the table and the AdaRem/Adam ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=21, help="interleaved repetitions; the median is reported")
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps timed per repetition")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per optimizer before timing")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: keep torch's default)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    n_params = sum(p.numel() for p in build_model().parameters())
    n_tensors = len(list(build_model().parameters()))
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, "
          f"{n_params / 1e6:.2f}M params in {n_tensors} tensors, {args.reps} reps x {args.steps} steps")
    medians = benchmark(args.reps, args.steps, args.warmup, device)
    baseline = next(iter(medians.values()))
    print(f"{'optimizer':<34} {'ms/step':>9} {'x adam':>8}")
    for name, seconds in medians.items():
        print(f"{name:<34} {seconds * 1e3:>9.3f} {seconds / baseline:>8.2f}")
    ratio = medians["adarem foreach"] / baseline
    verdict = "OK" if ratio <= TARGET_RATIO else "ABOVE TARGET"
    print(f"adarem foreach / adam foreach = {ratio:.2f} (target <= {TARGET_RATIO}): {verdict}")


if __name__ == "__main__":
    main()

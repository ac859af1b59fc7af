"""Measure ST-NAS search quality on the embedded set: rank stability, ranking quality, budget use.

* Rank stability: Kendall tau of the proxy scores of N fixed in-budget architectures (a) under two SGLD chains
  from one trained supernet, (b) under SGLD from two supernets trained with different seeds, and (c) the plain
  one-shot proxy (trained weights, K = 1) under the same two supernets.
* Ranking quality: Kendall tau between each proxy's scores and the accuracy of M of those architectures trained
  standalone from scratch (12 epochs by default) on the embedded set (at the proxy width and resolution).
* Budget use: the best genotype's MAdds over the budget, from a finished search run folder (``--run``).
* ``--nb201``: the same diagnostics on real ground truth instead: Kendall tau (with a bootstrap interval) between
  NAS-Bench-201's 12-epoch columns and the 200-epoch CIFAR-10 column, over all cells and within the top 1%.

* Noise ceiling: the same standalone training with two seeds ranks the architectures only so consistently (with
  more seeds: the mean tau over seed pairs); a proxy cannot be expected to agree with standalone accuracy better
  than that. Cost (MAdds) alone is the trivial baseline a proxy has to beat.

All supernets share the data (``data.seed``); each proxy is scored at every ``--val-images`` size, and the
standalone accuracy (mean over ``--standalone-seeds``) on the whole validation set.

Usage: python -m experiments.bench_search --nb201 [--resamples 1000] [--json FILE]
       python -m experiments.bench_search [--archs 20] [--standalone 8] [--standalone-epochs 12] [--standalone-seeds 2]
           [--val-images 400,1000] [--spread] [--truth EARLIER.json] [--run RUN_DIR] [--json FILE] [key=value ...]
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F

import nas
from nas.config import apply_overrides, from_dict, to_dict
from nas.config.search import SearchConfig
from nas.search.strategies.evolution import Evolution
from nas.search.strategies.window import sample_in_window
from nas.search.one_shot import accuracy
from nas.search.scorer import OneShotScorer, window_sampler
from nas.train.loop import MeanLoss, StepOptions, train_step
from nas.search.strategies.window import cost_window
from nas.utils.seeds import seeded_init
from nas.utils.stats import kendall_tau, kendall_tau_ci


def proxy_scorer(cfg: SearchConfig, out: Path) -> OneShotScorer:
    """Return the untrained OneShotScorer of ``cfg`` with the search's path sampler (its cost window or SPOS)."""
    space = nas.get_space(cfg.space)
    cost = lambda g: space.cost(g, cfg.resolution, cfg.num_classes).madds  # noqa: E731
    lo, hi = cost_window(space, cost, cfg.madds, cfg.evolution.min_budget_fraction)
    sampler = window_sampler(space, cost, lo, hi, cfg.evolution.max_tries) if cfg.supernet.sampling == "budget" else None
    return OneShotScorer(cfg, out, sampler=sampler)


def trained_scorer(cfg: SearchConfig, out: Path, init_state=None) -> Tuple[OneShotScorer, dict]:
    """Train a supernet (or start from ``init_state``), run the SGLD phase into ``out/snapshots``.

    Returns the scorer and the trained (pre-SGLD) weights.
    """
    s = proxy_scorer(cfg, out)
    if init_state is None:
        s.train_supernet()
    else:
        s.supernet.load_state_dict(init_state)
    trained = copy.deepcopy(s.supernet.state_dict())
    s.sgld()
    return s, trained


def proxy_scores(s: OneShotScorer, archs, snapshots, val_images: int) -> List[float]:
    """Mean accuracy over ``snapshots`` of each architecture on the first ``val_images`` validation images."""
    per = s(archs, snapshots=snapshots, val_images=val_images)
    return [sum(r) / len(r) for r in per]


def standalone_accuracy(s: OneShotScorer, g, epochs: int, seed: int, ema: float = 0.0, data=None) -> float:
    """Train ``g`` from scratch at the proxy width/resolution and return its validation accuracy.

    ``data`` (a ``ProxyData``) replaces the scorer's proxy data, e.g. a larger embedded set for the truth only.
    ``ema`` > 0 evaluates an exponential moving average of the weights instead of the final weights: decay
    ``min(ema, (1 + t) / (10 + t))`` at step t, then BN statistics recomputed for the averaged weights over one
    pass of the training images (averaged running statistics do not match averaged weights).
    """
    from torch.optim.swa_utils import AveragedModel, update_bn

    data = data if data is not None else s.data
    with seeded_init(seed):
        model = nas.create_model(g, num_classes=data.num_classes, width=s.cfg.supernet.width, dropout=0.0,
                                 stem_stride=s.cfg.supernet.stem_stride)
    model = model.to(memory_format=torch.channels_last)

    def ema_step(avg, new, count):
        d = min(ema, (1.0 + float(count)) / (10.0 + float(count)))
        return d * avg + (1.0 - d) * new

    avg = AveragedModel(model, avg_fn=ema_step) if ema > 0 else None
    steps = epochs * data.steps_per_epoch
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=4e-5)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps, pct_start=0.1)
    objective, opts = MeanLoss(F.cross_entropy), StepOptions(device=torch.device("cpu"))
    model.train()
    for epoch in range(epochs):
        for x, y in data.train_batches(1000 + epoch):
            train_step(model, x, y, objective, opt, None, opts)
            sched.step()
            if avg is not None:
                avg.update_parameters(model)
    if avg is not None:
        update_bn((x for x, _ in data.train_batches(999)), avg)
        model = avg.module
    _, val = data.score_batches(val_images=len(data.val))  # the whole validation set
    return accuracy(model, val)


def nb201_taus(resamples: int) -> Dict[str, object]:
    """Return tau (with 95% bootstrap intervals) between the NAS-Bench-201 table's short and long training.

    "Short training as truth": how well a 12-epoch column ranks cells by their 200-epoch CIFAR-10 accuracy,
    over all cells, over the connected ones, and within the top 1% (by the 200-epoch truth, and by 12-epoch
    validation, the column a search selects on).
    """
    from nas.benchmarks import load_table

    plugin = nas.get_plugin("nb201")
    table = load_table(plugin.space, plugin.table_source())
    cols = {c: table.column(c) for c in ("c10_valid_12ep", "c10_test_12ep", "c10_test_200ep_analog")}
    keys = list(cols["c10_valid_12ep"])
    truth = cols["c10_test_200ep_analog"]
    top = max(1, len(keys) // 100)
    subsets = {"all": keys,
               "connected": [k for k in keys if plugin.space.is_connected(plugin.space.parse(k))],
               "top1%_by_200ep": sorted(keys, key=lambda k: -truth[k])[:top],
               "top1%_by_valid_12ep": sorted(keys, key=lambda k: -cols["c10_valid_12ep"][k])[:top]}
    out: Dict[str, object] = {}
    for name, ks in subsets.items():
        for col in ("c10_valid_12ep", "c10_test_12ep"):
            ci = kendall_tau_ci([cols[col][k] for k in ks], [truth[k] for k in ks], resamples=resamples)
            out[f"tau_{col}_vs_200ep[{name}]"] = {"tau": ci.tau, "ci95": [ci.low, ci.high], "n": ci.n}
            print(f"{col:>15} vs 200ep, {name:>20}: tau {ci}", flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--archs", type=int, default=20)
    p.add_argument("--standalone", type=int, default=8)
    p.add_argument("--standalone-epochs", type=int, default=12,
                   help="standalone training length; 6 epochs ranked the architectures no better than chance")
    p.add_argument("--standalone-seeds", type=int, default=2,
                   help="train each standalone architecture this many times; two or more give the noise ceiling")
    p.add_argument("--val-images", default="400,1000",
                   help="comma list of scoring set sizes to compare (the default config scores on 400)")
    p.add_argument("--spread", action="store_true",
                   help="spread the architectures evenly over the cost window instead of drawing them uniformly")
    p.add_argument("--truth", help="reuse the standalone accuracies of an earlier --json output (same --archs and "
                   "overrides); seeds beyond its count up to --standalone-seeds are trained and added")
    p.add_argument("--run", help="finished search run folder for the budget-use figure")
    p.add_argument("--json", help="write all numbers to this JSON file")
    p.add_argument("overrides", nargs="*", help="config overrides key=value, as for nas-search")
    p.add_argument("--nb201", action="store_true", help="the tau diagnostics on the NAS-Bench-201 table instead")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of each tau interval")
    args = p.parse_args()
    t0 = time.time()
    if args.nb201:
        out_nb = nb201_taus(args.resamples)
        if args.json:
            Path(args.json).write_text(json.dumps(out_nb, indent=1))
        return
    cfg = from_dict(SearchConfig, apply_overrides(to_dict(SearchConfig()), args.overrides))
    sizes = [int(v) for v in args.val_images.split(",")]
    space = nas.get_space("st_topo")
    cost = lambda g: space.cost(g).madds  # noqa: E731
    # The architectures come from the search's own cost window (evolution.min_budget_fraction x budget .. budget),
    # the window the supernet's paths are drawn from; lower the fraction to compare across a wider cost range.
    lo = int(cfg.evolution.min_budget_fraction * cfg.madds)
    evo = Evolution(space, cost, lo=lo, hi=cfg.madds, population=1, parents=1, rng=random.Random(123))
    if args.spread:  # one architecture per equal-width cost bin: uniform draws bunch near the window's top
        edges = [lo + (cfg.madds - lo) * k // args.archs for k in range(args.archs + 1)]
        archs = [sample_in_window(space, cost, a, b, evo.rng, max_tries=2000) for a, b in zip(edges, edges[1:])]
    else:
        archs = [evo.random_feasible() for _ in range(args.archs)]
    out: Dict[str, object] = {"archs": len(archs), "overrides": args.overrides, "val_images": sizes,
                              "madds_range": [min(map(cost, archs)), max(map(cost, archs))]}
    m = min(args.standalone, len(archs))
    # The architectures trained standalone: the first m, or with --spread m spread over the cost range.
    pick = [round(k * (len(archs) - 1) / max(1, m - 1)) for k in range(m)] if args.spread else list(range(m))
    out["standalone_archs"] = [str(archs[k]) for k in pick]
    out["standalone_madds"] = [cost(archs[k]) for k in pick]
    runs: List[List[float]] = []
    if args.truth:  # the architectures are drawn from a fixed RNG, so an earlier run's truth still applies
        earlier = json.loads(Path(args.truth).read_text())
        if earlier.get("standalone_archs", out["standalone_archs"])[:m] != out["standalone_archs"]:
            raise SystemExit(f"--truth {args.truth}: its standalone architectures are not this run's "
                             "(different --archs, --standalone, --spread or overrides)")
        runs = [r[:m] for r in earlier["standalone_acc"]]
        args.standalone_epochs = earlier["standalone_epochs"]
    scores: Dict[str, List[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Every supernet sees the same data (data.seed); only the run seed (init, order, paths, noise) differs.
        a, a_trained = trained_scorer(cfg, Path(tmp) / "a")
        a2, _ = trained_scorer(replace(cfg, seed=cfg.seed + 1000), Path(tmp) / "a2", init_state=a_trained)
        b, b_trained = trained_scorer(replace(cfg, seed=cfg.seed + 1), Path(tmp) / "b")
        for n in sizes:
            sg_a, sg_a2, sg_b = (proxy_scores(s, archs, s.snapshots(), n) for s in (a, a2, b))
            plain_a, plain_b = proxy_scores(a, archs, [a_trained], n), proxy_scores(b, archs, [b_trained], n)
            scores.update({f"sgld_a@{n}": sg_a, f"sgld_a2@{n}": sg_a2, f"sgld_b@{n}": sg_b,
                           f"plain_a@{n}": plain_a, f"plain_b@{n}": plain_b})
            out[f"tau_sgld_two_chains_same_supernet@{n}"] = kendall_tau(sg_a, sg_a2)
            out[f"tau_sgld_two_supernet_seeds@{n}"] = kendall_tau(sg_a, sg_b)
            out[f"tau_plain_two_supernet_seeds@{n}"] = kendall_tau(plain_a, plain_b)
        print(json.dumps(out, indent=1), flush=True)
        for r in range(len(runs), args.standalone_seeds):  # train the seeds the earlier truth lacks, if any
            runs.append([])
            for i, k in enumerate(pick):
                t = time.time()
                runs[-1].append(standalone_accuracy(a, archs[k], args.standalone_epochs, seed=1000 * r + i))
                print(f"standalone {i + 1}/{m} (seed {r}, {cost(archs[k]) / 1e6:.0f}M MAdds): "
                      f"acc {runs[-1][-1]:.3f} ({time.time() - t:.0f}s)", flush=True)
        truth = [sum(col) / len(col) for col in zip(*runs)]
        out["standalone_epochs"] = args.standalone_epochs
        out["standalone_acc"] = runs
        if len(runs) >= 2:  # the noise ceiling: how alike two standalone seeds rank them (mean over seed pairs)
            pairs = [kendall_tau(x, y) for i, x in enumerate(runs) for y in runs[i + 1:]]
            out["tau_standalone_seed_vs_seed"] = sum(pairs) / len(pairs)
            out["tau_standalone_seed_pairs"] = pairs
        out["tau_madds_vs_standalone"] = kendall_tau(out["standalone_madds"], truth)
        for key, vals in scores.items():
            ci = kendall_tau_ci([vals[k] for k in pick], truth)
            out[f"tau_{key}_vs_standalone"] = ci.tau
            out[f"tau_{key}_vs_standalone_ci95"] = [ci.low, ci.high]  # few architectures: read the interval
        out["scores"] = scores
    if args.run:
        summary = json.loads((Path(args.run) / "summary.json").read_text())
        out["budget_use"] = summary["madds"] / summary["budget"]
    out["seconds"] = round(time.time() - t0)
    print(json.dumps({k: v for k, v in out.items() if k != "scores"}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

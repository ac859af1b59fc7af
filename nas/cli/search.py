"""nas-search: search a space under a compute budget and write a run folder."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import List, Optional

from nas.cli.common import ArgumentParser, cli_main
from nas.cli.flags import Flag, add_flags, check_resume, config_flags
from nas.errors import NasError

__all__ = ["main", "build_parser"]

IMG = "image spaces (st_topo, nb201: one-shot supernet + SGLD + evolution or random, or a table look-up)"
VID = "video spaces (pv_st: differentiable search)"
RAY = "Ray: trials, eval workers, cluster (see nas.distributed.trials)"

# The flags of nas-search: (flag, help, config key, type, modality, may change on --resume, group).
FLAGS = (
    Flag("--space", "search space (default: the recipe's, else st_topo; see nas.list_spaces())", key="space"),
    Flag("--strategy", "search strategy (default: the space's; see nas.list_strategies())", key="strategy"),
    Flag("--recipe", "YAML recipe with any config keys (see recipes/search/)", path="read"),
    Flag("--out", "run folder (default runs/<space>-<timestamp>)", path="dir"),
    Flag("--resume", "continue an interrupted run from its checkpoints", metavar="RUN_DIR", resume=True, path="read"),
    Flag("--device", "auto (CUDA when available; the default), cpu, cuda or cuda:N", key="execution.device",
         resume=True),
    Flag("--seed", "random seed", key="seed", type=int),
    Flag("--epochs", "supernet training epochs (search.epochs for --strategy differentiable)", key="supernet.epochs",
         type=int),
    Flag("--resolution", "target resolution at which cost is computed (default 224)", key="resolution", type=int),
    Flag("--num-classes", "classes of the target model for the cost (default 1000)", key="num_classes", type=int),
    Flag("--latency", "hard latency budget of the predicted model latency, e.g. 25ms (alone, or with a MAdds "
         "budget: both limits hold)", key="latency"),
    Flag("--lut", "nas-profile latency table for --latency (default: build one into the run folder)", key="lut",
         path="read"),
    Flag("--verify-k", "a --latency search times its K best candidates on the target at the end and returns the "
         "best one measured within the budget (default 5; may change on --resume)", key="latency_verify_k",
         type=int, resume=True),
    Flag("--lut-force", "accept a table made on another device, torch version or thread count", key="lut_force",
         type=bool),
    Flag("--learn", "the final latency check's timings refine the --lut file's calibration (recorded in its history)",
         key="latency_learn", type=bool, resume=True),
    Flag("--madds", "hard MAdds budget, e.g. 330M or 0.5G (a comma list runs one trial each)", key="madds",
         modality="image", group=IMG),
    Flag("--population", "candidates per round (evolution, random)", key="evolution.population", type=int,
         modality="image", group=IMG),
    Flag("--generations", "rounds after the first (evolution, random)", key="evolution.generations", type=int,
         modality="image", group=IMG),
    Flag("--data", "ImageNet-style folder (train/<class>/*, optional val/); default: embedded set", key="data.root",
         modality="image", group=IMG, path="read"),
    Flag("--benchmark", "score by look-up in the space's tabular benchmark instead of training (nb201: cifar10, "
         "cifar100 or imagenet16; see benchmark.* keys)", key="benchmark.name", modality="image", group=IMG),
    Flag("--flops", "MAdds budget of the video model, e.g. 33G (the same quantity as --madds)", key="madds",
         modality="video", group=VID),
    Flag("--frames", "clip length the cost and --flops refer to (default 8; the proxy clips: data.frames=N)",
         key="frames", type=int, modality="video", group=VID),
    Flag("--data-root", "root folder of the videos named in the lists", key="data.root", modality="video", group=VID,
         path="read"),
    Flag("--train-list", "training list (mmaction2 'path label', Kinetics CSV or SSv2 JSON)", key="data.train_list",
         modality="video", group=VID, path="read"),
    Flag("--val-list", "validation list, same formats", key="data.val_list", modality="video", group=VID, path="read"),
    Flag("--trials", "run N seeds (seed, seed+1, ...) as Ray Tune trials; with a budget list, N seeds per budget "
         "(--trials 1: one trial per budget)", type=int, group=RAY),
    Flag("--address", "join an existing Ray cluster (HOST:PORT); default: start a local one", resume=True, group=RAY),
    Flag("--cpus-per-trial", "CPUs each trial holds (default 1)", type=float, group=RAY),
    Flag("--gpus-per-trial", "GPUs each trial holds, e.g. 1 or 0.5 to share one (default 0: trials run on the CPU)",
         type=float, group=RAY),
    Flag("--max-failures", "retries of a trial whose process dies (default 1)", type=int, group=RAY),
    Flag("--dashboard", "start the Ray dashboard on 127.0.0.1 and print its URL and token (needs pip install -e "
         "'.[dashboard]')", type=bool, resume=True, group=RAY),
    Flag("--eval-workers", "score candidates on N Ray tasks", type=int, resume=True, group=RAY),
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of nas-search."""
    p = ArgumentParser(prog="nas-search", description=__doc__,
                       epilog="Extra positional key=value pairs override any config key, e.g. "
                              "sgld.snapshots=8 evolution.parents=10")
    add_flags(p, FLAGS)
    p.add_argument("opts", nargs="*", metavar="key=value", help="dotted config overrides")
    return p


@cli_main("nas-search")
def main(argv: List[str]) -> int:
    """Run nas-search."""
    args = build_parser().parse_args(argv)
    if args.resume:
        return _resume(args)
    cfg, budgets = _config(args)
    from nas.distributed.trials import ClusterOptions, run_trials, run_with_eval_workers

    name = cfg.execution.device
    cluster = ClusterOptions(args.address, args.dashboard, name)
    trials = args.trials is not None or len(budgets) > 1 or bool(args.address) or args.dashboard
    opts = _trial_options(args, trials)
    out = Path(args.out) if args.out else _default_out(cfg.space, trials)
    from nas.utils.run import new_run

    if trials:
        with new_run(out, "trials"):
            return run_trials(cfg, out, budgets, opts, cluster)
    from nas.search.run import SearchRun

    SearchRun(cfg, out).check()  # a config the run cannot take is the first thing said (it measures nothing)
    device = _device(name)  # a CUDA device this machine lacks is a one-line error here, before any work
    with new_run(out, "search"):
        if args.eval_workers:
            best = run_with_eval_workers(cfg, out, device, args.eval_workers, cluster, resume=False)[1]
        else:
            best = SearchRun(cfg, out, device).run(resume=False)
    return _print_result(out, best)


def _trial_options(args, trials: bool):
    """Return the trial options; the trial-only flags are an error on a single search."""
    from nas.distributed.trials import TrialOptions

    for flag in ("cpus_per_trial", "gpus_per_trial", "max_failures"):
        if getattr(args, flag) is not None and not trials:
            raise NasError(f"--{flag.replace('_', '-')} applies to trials only (--trials, a budget list, --address)")
    return TrialOptions(trials=1 if args.trials is None else args.trials,
                        cpus_per_trial=1 if args.cpus_per_trial is None else args.cpus_per_trial,
                        gpus_per_trial=args.gpus_per_trial or 0.0,
                        max_failures=1 if args.max_failures is None else args.max_failures,
                        eval_workers=args.eval_workers or 0)


def _device(name: str):
    from nas.utils.device import resolve_device

    return resolve_device(name)


def _space(args) -> str:
    """Return the space: --space, else the recipe's ``space``, else st_topo."""
    from nas.config import load_recipe

    if args.space:
        return args.space
    recipe = load_recipe(args.recipe) if args.recipe else {}
    return str(recipe.get("space") or "st_topo")


def _config(args):
    """Return the typed config and the list of budgets (one per trial) the flags ask for."""
    from nas.plugins import get_plugin
    from nas.config import load_recipe
    from nas.config.search import search_config

    plugin = get_plugin(_space(args))
    flags = config_flags(args, FLAGS, plugin.modality, plugin.name)
    budgets = _budget_list(flags["madds"], "flops" if plugin.modality == "video" else "madds")
    recipe = load_recipe(args.recipe) if args.recipe else {}
    flags.update(space=plugin.name, madds=budgets[0] if budgets else None)
    if (args.strategy or recipe.get("strategy") or plugin.default_strategy) == "differentiable":
        flags["search.epochs"] = flags.pop("supernet.epochs")  # --epochs: the bilevel epochs on every space
    if args.train_list is not None:
        flags["data.source"] = "list"
    opts = list(args.opts or [])
    if args.latency is not None and not budgets and "madds" not in recipe:
        opts.insert(0, "madds=null")  # --latency alone: no MAdds limit (a key=value override still sets one)
    cfg = search_config(plugin.name, recipe=args.recipe, flags=flags, opts=opts)
    from nas.search.run import resolve_strategy

    resolve_strategy(plugin, cfg.strategy)  # a misfit strategy is an error before any work
    if plugin.modality == "image" and cfg.data.root is not None and not Path(cfg.data.root).is_dir():
        raise NasError(f"data folder not found: {cfg.data.root}"[:200])
    return cfg, budgets or [cfg.madds]


def _budget_list(text: Optional[str], flag: str) -> List[int]:
    """Parse ``330M`` or ``330M,500M`` into integers (once, here); empty when the flag was not given."""
    from nas.core.cost import parse_budget

    if text is None:
        return []
    items = [b.strip() for b in str(text).split(",") if b.strip()]
    if not items:
        raise NasError(f"--{flag} {text[:40]!r}: give a budget such as 330M or a list such as 330M,500M")
    return [parse_budget(b) for b in items]


def _resume(args) -> int:
    """Continue a search (or a trials experiment) with its stored config; flags that change it are refused."""
    from nas.distributed.trials import SPEC_FILE, ClusterOptions, resume_trials, run_with_eval_workers

    out = Path(args.resume)
    trials = (out / SPEC_FILE).is_file()
    cfg = None if trials else _stored_config(out)  # not a run folder: say that first
    check_resume(args, FLAGS, {"key=value overrides": args.opts})
    cluster = ClusterOptions(args.address, args.dashboard, args.device or "auto")
    if trials:
        return resume_trials(out, cluster)
    if args.device is not None:  # where it computes may change on resume; what it computes may not
        cfg = replace(cfg, execution=replace(cfg.execution, device=args.device))
    if args.verify_k is not None:  # nor may it, but the latency check of its end may time more candidates
        cfg = replace(cfg, latency_verify_k=args.verify_k)
    if args.learn:  # and that check's timings may refine the --lut file
        cfg = replace(cfg, latency_learn=True)
    cfg.validate()
    device = _device(cfg.execution.device)
    if args.eval_workers:
        return _print_result(out, run_with_eval_workers(cfg, out, device, args.eval_workers, cluster, True)[1])
    from nas.search.run import SearchRun

    return _print_result(out, SearchRun(cfg, out, device).run(resume=True))


def _stored_config(out: Path):
    """Return the typed config stored in a search run folder (older runs' keys migrated)."""
    from nas.config.search import load_search_config
    from nas.utils.readers import read_yaml
    from nas.utils.run import RunFolder

    RunFolder.reopen(out, "search", needs=("config.yaml",))
    data = read_yaml(out / "config.yaml", "run config")
    if not isinstance(data, dict):
        raise NasError(f"--resume {str(out)[:120]}: config.yaml is empty or not a mapping")
    return load_search_config(data)


def _default_out(space: str, trials: bool) -> Path:
    from nas.utils.run import default_run_dir

    return default_run_dir("trials" if trials else space)


def _print_result(out: Path, best) -> int:
    """Print the best genotype, its score and cost, and where the run folder is."""
    import json

    s = json.loads((out / "summary.json").read_text())
    print(f"best genotype: {best}")
    use = f" ({100 * s['budget_use']:.1f}% of budget)" if "budget_use" in s else ""
    if "predicted_latency_ms" in s:
        use += (f", latency {s['predicted_latency_ms']:.2f} ms predicted / {s['measured_latency_ms']:.2f} ms measured "
                f"(budget {s['latency_budget_ms']:g} ms)")
    print(f"score {s['score']:.4f} ({s['strategy']}), {s['madds'] / 1e6:.1f}M MAdds{use}, "
          f"{s['params'] / 1e6:.2f}M params")
    chosen = [f for f in s.get("finalists") or [] if f.get("genotype") == s["genotype"]]
    if chosen:  # the diversity finalists: the result was chosen on its held-out score after brief training
        print(f"chosen among {len(s['finalists'])} finalist(s) on held-out top-1 after proxy training: "
              f"{chosen[0]['score']:.4f} (the score above is the supernet's)")
    if s.get("confidence"):  # how sure the one-shot search is of its pick (nas.search.confidence)
        print(f"confidence: {s['confidence']['verdict']}")
    if "test" in s:  # a tabular search: the table's test figure of the returned genotype only
        b = s["benchmark"]
        print(f"{b['name']} table: {s['queries']} queries, best validation {s['best_valid']:.2f}%, "
              f"test of the returned genotype ({b['report']}) {s['test']:.2f}%")
    elif "benchmark" in s:  # a trained search with --benchmark: the table's figures of its result, looked up after
        b = s["benchmark"]
        print(f"{b['name']} table (not seen by the search): test of the returned genotype ({b['report']}) "
              f"{b['test']:.2f}%, rank {b['rank']} of {b['cells']}")
    print(f"run folder: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

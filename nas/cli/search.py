"""nas-search: search a space under a compute budget and write a run folder."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from nas.cli.common import ArgumentParser, cli_main
from nas.errors import NasError

__all__ = ["main", "build_parser"]

# Flags that configure a search, per modality: flag attribute -> dotted config key.
IMAGE_FLAGS = {"madds": "madds", "latency": "latency", "lut": "lut", "lut_force": "lut_force", "epochs": "supernet.epochs", "population": "evolution.population",
               "generations": "evolution.generations", "data": "data.root", "benchmark": "benchmark.name"}
VIDEO_FLAGS = {"flops": "madds", "latency": "latency", "lut": "lut", "lut_force": "lut_force", "epochs": "search.epochs", "frames": "frames", "data_root": "data.data_root",
               "train_list": "data.train_list", "val_list": "data.val_list"}
COMMON_FLAGS = {"seed": "seed", "resolution": "resolution", "num_classes": "num_classes", "strategy": "strategy"}
# Flags that change what runs, refused with --resume (which continues with the run's stored config).
CONFIG_FLAGS = ("space", "recipe", "out", "strategy", "seed", "epochs", "resolution", "num_classes", "madds",
                "latency", "lut", "lut_force",
                "population", "generations", "data", "benchmark", "flops", "frames", "data_root", "train_list",
                "val_list",
                "trials", "cpus_per_trial", "gpus_per_trial", "max_failures")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of nas-search."""
    p = ArgumentParser(prog="nas-search", description=__doc__,
                                epilog="Extra positional key=value pairs override any config key, e.g. "
                                       "sgld.snapshots=8 evolution.parents=10")
    p.add_argument("--space", help="search space (default: the recipe's, else st_topo; see nas.list_spaces())")
    p.add_argument("--strategy", help="search strategy (default: the space's; see nas.list_strategies())")
    p.add_argument("--recipe", help="YAML recipe with any config keys (see recipes/search/)")
    p.add_argument("--out", help="run folder (default runs/<space>-<timestamp>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its checkpoints")
    p.add_argument("--device", help="auto (CUDA when available; the default), cpu, cuda or cuda:N (config key device)")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--epochs", type=int, help="supernet training epochs (search.epochs for --strategy differentiable)")
    p.add_argument("--resolution", type=int, help="target resolution at which cost is computed (default 224)")
    p.add_argument("--num-classes", type=int, help="classes of the target model for the cost (default 1000)")
    img = p.add_argument_group("image spaces (st_topo: one-shot + SGLD + evolution or random)")
    img.add_argument("--madds", help="hard MAdds budget, e.g. 330M or 0.5G (a comma list runs one trial each)")
    img.add_argument("--latency", help="hard latency budget of the predicted model latency, e.g. 25ms (alone, or "
                                       "with --madds: both limits hold)")
    img.add_argument("--lut", help="nas-profile latency table for --latency (default: build one into the run folder)")
    img.add_argument("--lut-force", action="store_true", default=None,
                     help="accept a table made on another device, torch version or thread count")
    img.add_argument("--population", type=int, help="candidates per round (evolution, random)")
    img.add_argument("--generations", type=int, help="rounds after the first (evolution, random)")
    img.add_argument("--data", help="ImageNet-style folder (train/<class>/*, optional val/); default: embedded set")
    img.add_argument("--benchmark", help="score by look-up in the space's tabular benchmark instead of training "
                                         "(nb201: cifar10, cifar100 or imagenet16; see benchmark.* keys)")
    vid = p.add_argument_group("video spaces (pv_st: differentiable search)")
    vid.add_argument("--flops", help="MAdds budget of the video model, e.g. 33G (the same quantity as --madds)")
    vid.add_argument("--frames", type=int, help="clip length the cost and --flops refer to (default 8; the proxy "
                                                "clips: data.frames=N)")
    vid.add_argument("--data-root", help="root folder of the videos named in the lists")
    vid.add_argument("--train-list", help="training list (mmaction2 'path label', Kinetics CSV or SSv2 JSON)")
    vid.add_argument("--val-list", help="validation list, same formats")
    ray = p.add_argument_group("Ray: trials, eval workers, cluster (see nas.search.trials)")
    ray.add_argument("--trials", type=int, help="run N seeds (seed, seed+1, ...) as Ray Tune trials; with a --madds "
                                                 "list, N seeds per budget (--trials 1: one trial per budget)")
    ray.add_argument("--address", help="join an existing Ray cluster (HOST:PORT); default: start a local one")
    ray.add_argument("--cpus-per-trial", type=float, help="CPUs each trial holds (default 1)")
    ray.add_argument("--gpus-per-trial", type=float, help="GPUs each trial holds, e.g. 1 or 0.5 to share one "
                                                          "(default 0: trials run on the CPU)")
    ray.add_argument("--max-failures", type=int, help="retries of a trial whose process dies (default 1)")
    ray.add_argument("--dashboard", action="store_true",
                     help="start the Ray dashboard on 127.0.0.1 and print its URL and token "
                          "(needs pip install -e '.[dashboard]')")
    ray.add_argument("--eval-workers", type=int, help="score candidates on N Ray tasks")
    p.add_argument("opts", nargs="*", metavar="key=value", help="dotted config overrides")
    return p


@cli_main("nas-search")
def main(argv: List[str]) -> int:
    """Run nas-search."""
    args = build_parser().parse_args(argv)
    if args.resume:
        return _resume(args)
    cfg, budgets = _config(args)
    from nas.search.trials import ClusterOptions, run_trials, run_with_eval_workers

    name = args.device or cfg.device
    cluster = ClusterOptions(args.address, args.dashboard, name)
    trials = args.trials is not None or len(budgets) > 1 or bool(args.address) or args.dashboard
    opts = _trial_options(args, trials)
    out = Path(args.out) if args.out else _default_out(cfg.space, trials)
    if trials:
        return run_trials(cfg, out, budgets, opts, cluster)
    device = _device(name)  # a CUDA device this machine lacks is a one-line error here, before any work
    if args.eval_workers:
        run, best = run_with_eval_workers(cfg, out, device, args.eval_workers, cluster, resume=False)
        return _print_result(out, best)
    from nas.search.run import SearchRun

    return _print_result(out, SearchRun(cfg, out, device).run(resume=False))


def _trial_options(args, trials: bool):
    """Return the trial options; the trial-only flags are an error on a single search."""
    from nas.search.trials import TrialOptions

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
    import nas
    from nas.config import build_config, load_recipe
    from nas.search.run import config_class

    plugin = nas.get_plugin(_space(args))
    own, other = (VIDEO_FLAGS, IMAGE_FLAGS) if plugin.modality == "video" else (IMAGE_FLAGS, VIDEO_FLAGS)
    for flag in other:
        if getattr(args, flag) is not None and flag not in own:
            raise NasError(f"--{flag.replace('_', '-')} does not apply to {plugin.modality} space {plugin.name!r}")
    budget_flag = "flops" if plugin.modality == "video" else "madds"
    budgets = _budget_list(getattr(args, budget_flag), budget_flag)
    flags: Dict[str, Any] = {key: getattr(args, f) for f, key in {**own, **COMMON_FLAGS}.items()}
    flags.update(space=plugin.name, madds=budgets[0] if budgets else None)
    recipe_strategy = (load_recipe(args.recipe) if args.recipe else {}).get("strategy")
    if plugin.modality == "image" and (args.strategy or recipe_strategy) == "differentiable":
        flags["search.epochs"] = flags.pop("supernet.epochs")  # --epochs: the bilevel epochs, as on video spaces
    if plugin.modality == "video" and args.train_list is not None:
        flags["data.source"] = "list"
    opts = list(args.opts or [])
    if getattr(args, "latency", None) is not None and not budgets and "madds" not in (
            load_recipe(args.recipe) if args.recipe else {}):
        opts.insert(0, "madds=null")  # --latency alone: no MAdds limit (a key=value override still sets one)
    cfg = build_config(config_class(plugin), recipe=args.recipe, flags=flags, opts=opts,
                       base=plugin.search_defaults)
    from nas.search.run import resolve_strategy

    resolve_strategy(plugin, cfg.strategy)  # a misfit strategy is an error before any work
    root = getattr(cfg.data, "root", None)
    if root is not None and not Path(root).is_dir():
        raise NasError(f"data folder not found: {root}")
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
    """Continue a search (or a trials experiment) with its stored config; config flags are refused."""
    from nas.config import refuse_on_resume
    from nas.search.trials import SPEC_FILE, ClusterOptions, resume_trials, run_with_eval_workers

    out = Path(args.resume)
    trials = (out / SPEC_FILE).is_file()
    cfg = None if trials else _stored_config(out)  # not a run folder: say that first
    given = {f"--{f.replace('_', '-')}": getattr(args, f) for f in CONFIG_FLAGS}
    refuse_on_resume({**given, "key=value overrides": args.opts})
    cluster = ClusterOptions(args.address, args.dashboard, args.device or "auto")
    if trials:
        return resume_trials(out, cluster)
    device = _device(args.device or cfg.device)
    if args.eval_workers:
        return _print_result(out, run_with_eval_workers(cfg, out, device, args.eval_workers, cluster, True)[1])
    from nas.search.run import SearchRun

    return _print_result(out, SearchRun(cfg, out, device).run(resume=True))


def _stored_config(out: Path):
    """Return the typed config stored in a search run folder."""
    import nas
    from nas.config import from_dict
    from nas.utils.readers import read_yaml
    from nas.search.run import config_class
    from nas.utils.run import RunFolder

    RunFolder.reopen(out, "search", needs=("config.yaml",))
    data = read_yaml(out / "config.yaml", "run config")
    if not isinstance(data, dict):
        raise NasError(f"--resume {str(out)[:120]}: config.yaml is empty or not a mapping")
    return from_dict(config_class(nas.get_plugin(str(data.get("space")))), data)


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

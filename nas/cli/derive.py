"""nas-derive: turn a genotype (string, name, YAML file or search run folder) into costs, a model and a drawing."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List

from nas.cli.common import ArgumentParser, cli_main
from nas.cli.flags import Flag, add_flags, config_flags
from nas.errors import NasError

__all__ = ["main", "build_parser", "export_model"]


# The flags of nas-derive: each sets the DeriveConfig key of its name.
FLAGS = (
    Flag("--resolution", "input resolution for the cost (default: the space's, 224 for ours)", key="resolution",
         type=int),
    Flag("--num-classes", "classifier outputs (default: the space's, 1000 for ours)", key="num_classes", type=int),
    Flag("--json", "print one JSON object instead of the table", key="json", type=bool),
    Flag("--export", "write a standalone model: FILE.ts (TorchScript) or FILE.onnx", key="export", metavar="FILE",
         path="file"),
    Flag("--weights", "weights written by --export: init (freshly initialised, the default), supernet (of the search "
         "run given as the genotype) or FILE (a nas-retrain checkpoint)", key="weights", metavar="init|supernet|FILE"),
    Flag("--plot", "draw the architecture to FILE.png or FILE.svg", key="plot", metavar="FILE", path="file"),
    Flag("--frames", "clip length for video spaces (default: the space's)", key="frames", type=int),
    Flag("--task", "forgery_image or forgery_spatial: cost (and --export) the forgery detector", key="task"),
    Flag("--classes", "with --task: label sets, 2, 3, 16 or a comma list (default 2)", key="classes"),
    Flag("--streams", "with --task: rgb (default), fad, lfs, both or mix", key="streams"),
    Flag("--proxies", "score training-free proxies of the fresh network, e.g. synflow,naswot (names: "
         "nas.proxies.list_proxies())", key="proxies", metavar="NAMES"),
    Flag("--proxy-batch", "with --proxies: embedded images or clips scored on (default 64)", key="proxy_batch",
         type=int),
    Flag("--latency", "measure the model's latency: median and IQR after warm-up, eager and TorchScript",
         key="latency", type=bool, group="latency"),
    Flag("--lut", "print the latency predicted by a nas-profile table", key="lut", metavar="FILE", group="latency",
         path="read"),
    Flag("--lut-force", "use a table made on another device, torch version or thread count", key="lut_force",
         type=bool, group="latency"),
    Flag("--learn", "with --lut and --latency: time the model as the table was timed and refine the table's "
         "calibration with it (recorded in its history)", key="learn", type=bool, group="latency"),
    Flag("--threads", "CPU threads (default: 1 and all; with --lut only, the table's)", key="threads", type=int,
         group="latency"),
    Flag("--batch", "batch size of the measurement (default 1)", key="batch", type=int, group="latency"),
    Flag("--channels-last", "measure in channels_last", key="channels_last", type=bool, group="latency"),
    Flag("--device", "where to measure: cpu (default), cuda, cuda:N or auto", key="device", group="latency"),
    Flag("--reps", "timed repetitions (default 30)", key="reps", type=int, group="latency"),
    Flag("--clock", "wall (default) or cpu: CPU time of the calling thread, steadier on a busy machine (1 thread)",
         key="clock", group="latency"),
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of nas-derive."""
    p = ArgumentParser(prog="nas-derive", description=__doc__)
    p.add_argument("genotype", help="canonical string, name like st_topo:mobilenetv2, genotype YAML or run folder")
    return add_flags(p, FLAGS)


def build_derive_config(args: argparse.Namespace):
    """Return the typed DeriveConfig of the flags, through the one ``build_config`` of every command."""
    from nas.config import build_config
    from nas.config.derive import DeriveConfig

    return build_config(DeriveConfig, flags=config_flags(args, FLAGS))


def _target(space, cfg):
    """Return the space's checked cost target (a bad value or --frames on an image space: one line)."""
    return space.target(resolution=cfg.resolution, num_classes=cfg.num_classes, frames=cfg.frames)


def export_model(model, path: Path, example, output_names=None) -> None:
    """Write ``model`` as TorchScript (.ts/.pt) or ONNX (.onnx, outputs named ``output_names``), atomically.

    ``output_names`` None names a dict output by its keys in their order (the order ONNX flattens it in), and a
    single tensor ``logits``."""
    import torch

    from nas.utils.io import atomic_write

    model.eval()
    suffix = path.suffix.lower()
    _check_destination(path)
    if suffix in (".ts", ".pt"):
        scripted = torch.jit.script(model)
        atomic_write(path, lambda f: torch.jit.save(scripted, f))
    elif suffix == ".onnx":
        from nas.utils.extras import require

        require("onnx", purpose=f"--export {path.name[:60]}")
        if output_names is None:
            with torch.no_grad():
                out = model(example)
            output_names = list(out) if isinstance(out, dict) else ["logits"]
        tmp = path.with_name(f".{path.name}.tmp")
        torch.onnx.export(model, (example,), str(tmp), dynamo=False, input_names=["input"],
                          output_names=list(output_names),
                          dynamic_axes={"input": {0: "batch"}, **{n: {0: "batch"} for n in output_names}})
        tmp.replace(path)
    else:
        raise NasError(f"cannot export to {path.name}: use a .ts or .onnx file name")


def _check_destination(path: Path) -> None:
    """Make ``path``'s folder if it is missing; a destination that is a folder or under a file is a one-line error."""
    from nas.utils.readers import show_path

    if path.is_dir():
        raise NasError(f"--export {show_path(path)} is a folder; name the file to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NasError(f"cannot create the folder of --export {show_path(path)}: {exc.strerror}") from None


def _export(g, target, cfg, source: str) -> str:
    """Build the model, load the ``--weights`` it asks for, write ``--export``; return which weights were written."""
    import torch

    from nas.spaces import create_model
    from nas.train.weights import export_weights

    model = create_model(g, num_classes=target.num_classes)
    note = export_weights(model, cfg.weights or "init", g, run=source)
    example = torch.randn(target.input_shape(1))
    export_model(model, Path(cfg.export), example)
    return note


def _forgery(g, target, cfg):
    """Build the forgery detector of ``cfg``; export it when asked; return ``(rows, total, weights note)``."""
    import torch

    from nas.api import cost
    from nas.config.retrain import parse_classes
    from nas.forgery import create_detector

    kw = dict(task=cfg.task, classes=parse_classes(cfg.classes or "2"), streams=cfg.streams or "rgb",
              resolution=target.resolution)
    total = cost(g, **kw)  # the pure count of every part (equal to a count of the built detector)
    note = None
    if cfg.export:
        det = create_detector(g, **kw)
        note = "init"
        if cfg.weights not in (None, "init"):
            from nas.train.checkpoint import load_checkpoint, load_model_state

            ckpt = load_checkpoint(Path(cfg.weights))
            load_model_state(det, ckpt["ema"] if ckpt.get("ema") is not None else ckpt["model"], Path(cfg.weights))
            note = f"checkpoint {cfg.weights}"
        det.eval()
        example = torch.randn(1, 3, target.resolution, target.resolution)
        export_model(det, Path(cfg.export), example)
    return [(f"detector ({cfg.streams or 'rgb'})", total)], total, note


def _table(g, rows, total, resolution: int) -> str:
    lines = [str(g), "", f"{'part':<20}{'MAdds':>16}{'params':>14}"]
    for name, c in rows:
        lines.append(f"{name:<20}{c.madds:>16,}{c.params:>14,}")
    lines.append(f"{'total':<20}{total.madds:>16,}{total.params:>14,}")
    lines.append(f"({total.madds / 1e6:.2f}M MAdds, {total.params / 1e6:.3f}M params at {resolution}px)")
    return "\n".join(lines)


def _latency(g, target, cfg) -> dict:
    """Return the latency figures ``--lut`` and ``--latency`` ask for, as the JSON keys of nas-derive."""
    from nas.latency.api import here, measure_forms, open_table, thread_counts
    from nas.latency.measure import MeasureSpec
    from nas.latency.table import predict_latency
    from nas.utils.device import resolve_device

    device = resolve_device(cfg.device, log=None if cfg.json else print)  # --json: stdout is JSON
    out: dict = {}
    threads = cfg.threads
    if cfg.lut:
        table, diffs = open_table(cfg.lut, g.space, target, device, cfg.threads, cfg.lut_force)
        for diff in diffs:
            print(f"nas-derive: warning: --lut-force: table {diff}", file=sys.stderr)
        out["predicted_latency_ms"] = predict_latency(g, table)
        out["lut"] = table.describe()
        threads = table.env["threads"] if threads is None else threads
    if cfg.learn:  # timed as the table was, then learned from (nas.latency.learn)
        from nas.latency.api import table_spec
        from nas.latency.learn import learn_into

        spec, batch = table_spec(table), int(table.env["batch"])
        counts = [threads]
        rows = measure_forms(g, target, device, spec, counts, batch, forms=("script" if spec.script else "eager",))
        learn_into(cfg.lut, [(g, rows[0]["median_ms"])], "nas-derive --latency --learn",
                   log=lambda line: print(f"nas-derive: {line}", file=sys.stderr))
    elif cfg.latency:
        spec, batch = MeasureSpec(reps=cfg.reps, channels_last=cfg.channels_last, clock=cfg.clock), cfg.batch
        counts = thread_counts(threads)
        rows = measure_forms(g, target, device, spec, counts, batch)
    if cfg.latency:
        if any(r["noisy"] for r in rows):
            from nas.latency.measure import NOISE_LIMIT

            print(f"nas-derive: warning: a timing stayed noisy after a second try (interquartile range above "
                  f"{NOISE_LIMIT:.0%} of the median): this machine is too busy for a figure that repeats",
                  file=sys.stderr)
        env = here(device, counts[0])
        out["latency"] = {"device": env["device"], "torch": env["torch"], "batch": batch,
                          "channels_last": spec.channels_last, "clock": spec.clock, "runs": rows}
        out["measured_latency_ms"] = rows[0]["median_ms"]  # eager, at the first (or the table's) thread count
    return out


def _latency_lines(lat: dict) -> List[str]:
    lines = []
    if "predicted_latency_ms" in lat:
        lines.append(f"predicted latency: {lat['predicted_latency_ms']:.3f} ms ({lat['lut']})")
    if "latency" in lat:
        m = lat["latency"]
        lines.append(f"measured latency on {m['device']}, torch {m['torch']}, batch {m['batch']}"
                     f"{', channels_last' if m['channels_last'] else ''} ({m['clock']} clock):")
        for r in m["runs"]:
            lines.append(f"  {r['form']:<7}{r['threads']:>3} thread(s): {r['median_ms']:.3f} ms median, "
                         f"IQR {r['iqr_ms']:.3f} ms over {r['reps']} runs{' (noisy)' if r['noisy'] else ''}")
    return lines


def _proxies(g, target, cfg) -> dict:
    """Return the named training-free proxies of ``g``'s fresh network at the target (embedded data, seed 0)."""
    from nas.proxies import parse_names, score_proxies

    return score_proxies(g, parse_names(cfg.proxies), num_classes=target.num_classes, resolution=target.resolution,
                         frames=target.frames, batch_size=cfg.proxy_batch)


@cli_main("nas-derive")
def main(argv: List[str]) -> int:
    """Run nas-derive."""
    from nas.spaces import get_space, load_genotype

    args = build_parser().parse_args(argv)
    cfg = build_derive_config(args)
    g = load_genotype(args.genotype)
    space = get_space(g.space)
    target = _target(space, cfg)
    if cfg.task is not None:
        rows, total, weights = _forgery(g, target, cfg)
    else:
        rows = space.breakdown_at(g, target)
        total = space.cost_at(g, target)
        weights = _export(g, target, cfg, args.genotype) if cfg.export else None
    if cfg.plot:
        from nas.viz import plot_genotype

        plot_genotype(g, cfg.plot)
    lat = _latency(g, target, cfg) if cfg.latency or cfg.lut else {}
    proxies = _proxies(g, target, cfg) if cfg.proxies else {}
    if cfg.json:
        out = {"space": g.space, "genotype": str(g), "madds": total.madds, "params": total.params,
               "resolution": target.resolution, "num_classes": target.num_classes,
               "breakdown": {name: {"madds": c.madds, "params": c.params} for name, c in rows}}
        if target.frames is not None:
            out["frames"] = target.frames
        if cfg.export:
            out["export"], out["weights"] = cfg.export, weights
        if cfg.plot:
            out["plot"] = cfg.plot
        out.update(lat)
        if proxies:
            out["proxies"] = proxies
        print(json.dumps(out))
    else:
        print(_table(g, rows, total, target.resolution))
        for what, path in (("exported", cfg.export), ("plotted", cfg.plot)):
            if path:
                print(f"{what}: {path}")
        if weights:
            print(f"weights: {weights}")
        for line in _latency_lines(lat):
            print(line)
        for name, value in proxies.items():
            print(f"proxy {name}: {value:.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

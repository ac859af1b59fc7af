"""Resolve an st_topo search config: recipe YAML, then explicit flags, then dotted overrides; or a resumed run's."""
from __future__ import annotations

from pathlib import Path
from typing import Tuple

import yaml

from nas.config import apply_overrides, from_dict, load_recipe, merge, to_dict
from nas.config.search import SearchConfig
from nas.errors import NasError
from nas.utils.run import default_run_dir

__all__ = ["resolve_config", "flags_to_dict"]


def flags_to_dict(args) -> dict:
    """Map the explicit nas-search flags onto config keys (flags left unset are skipped)."""
    mapping = {
        "madds": ("madds",), "resolution": ("resolution",), "seed": ("seed",), "epochs": ("supernet", "epochs"),
        "population": ("evolution", "population"), "generations": ("evolution", "generations"),
        "data": ("data", "root"), "num_classes": ("num_classes",),
    }
    out: dict = {}
    for flag, keys in mapping.items():
        value = getattr(args, flag, None)
        if value is None:
            continue
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return out


def resolve_config(args) -> Tuple[SearchConfig, Path]:
    """Return the resolved config and run folder for a new run, or the stored ones for ``--resume``."""
    if args.resume:
        out = Path(args.resume)
        path = out / "config.yaml"
        if not (out / "checkpoint.pt").is_file() or not path.is_file():
            raise NasError(f"--resume {out}: not a search run folder (no checkpoint.pt and config.yaml)")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            raise NasError(f"--resume {out}: config.yaml is malformed") from None
        return from_dict(SearchConfig, data), out
    data = to_dict(SearchConfig())
    if args.recipe:
        data = merge(data, load_recipe(args.recipe))
    data = merge(data, flags_to_dict(args))
    data["space"] = args.space
    cfg = from_dict(SearchConfig, apply_overrides(data, args.opts))
    if cfg.data.root is not None and not Path(cfg.data.root).is_dir():
        raise NasError(f"data folder not found: {cfg.data.root}")
    out = Path(args.out) if args.out else default_run_dir(cfg.space)
    if (out / "checkpoint.pt").exists():
        raise NasError(f"{out} already holds a search run; use --resume {out} or another --out")
    return cfg, out

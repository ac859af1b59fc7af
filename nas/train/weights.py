"""Starting weights of a standalone model: fresh, a search run's supernet (``extract``), a checkpoint, or 2-D weights.

``nas-retrain --init`` and ``nas-derive --weights`` share these functions and one shape rule: the backbone
must fit tensor for tensor; the classifier is kept where it fits too, and is otherwise left freshly
initialised (or, for a checkpoint exported by ``nas-derive``, refused). A search run's supernet fits only
where it was built at the target model's shape: a reduced-width or small-image proxy does not. Torchvision-format
2-D weights (``pretrained:FILE``) are mapped by the space's importer: see :mod:`nas.train.pretrained`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple


from nas.errors import NasError
from nas.train.checkpoint import check_architecture, load_checkpoint, load_state

__all__ = ["apply_init", "export_weights", "supernet_state", "checkpoint_state", "load_fitting", "FRESH"]

FRESH = "freshly initialised weights"
# Supernet settings that change the extracted model's shape or meaning, with the standalone model's value.
_SHAPE_KEYS = {"width": 1.0, "stem_stride": 2}
_WIDTH_WORDS = {0.5: "half-width", 0.25: "quarter-width", 0.75: "three-quarter-width"}


def _run_config(run: Path) -> Dict[str, Any]:
    """Return a search run's config.yaml as a dict; one-line errors for a folder that is not a search run."""
    if not run.is_dir():
        raise NasError(f"supernet weights need a search run folder; {str(run)[:120]} is not a folder")
    for name in ("supernet.pt", "config.yaml"):
        if not (run / name).is_file():
            raise NasError(f"{str(run)[:120]} has no {name} (not a finished search run with a supernet)")
    from nas.utils.readers import read_yaml

    data = read_yaml(run / "config.yaml", "run config")
    if not isinstance(data, dict):
        raise NasError(f"{str(run)[:120]}/config.yaml is empty or not a mapping (not a finished search run?)")
    return data


def _shape_kwargs(settings: Dict[str, Any], target: Dict[str, Any]) -> Dict[str, Any]:
    """Return the run's supernet shape settings; a one-line error where one differs from the target model."""
    kw = {k: settings[k] for k in _SHAPE_KEYS if k in settings}
    for key, value in kw.items():
        want = target.get(key, _SHAPE_KEYS[key])
        if value == want:
            continue
        if key == "width":
            what = _WIDTH_WORDS.get(float(value), f"width-{value:g}")
            raise NasError(f"the run's supernet is a {what} proxy (supernet.width {value:g}); its weights do not "
                           f"fit the full-width model")
        raise NasError(f"the run's supernet has a stride-{value} stem (supernet.stem_stride {value}); the model has "
                       f"stride {want}, so its weights do not fit")
    return kw


def _classes(state: Dict[str, Any]) -> int:
    """Return the number of classifier outputs of a supernet state dict (its last ``fc.weight``)."""
    keys = [k for k in state if k.endswith("fc.weight")]
    if not keys:
        raise NasError("the run's supernet.pt has no classifier (fc.weight); is it a supernet state dict?")
    return int(state[keys[-1]].shape[0])


def supernet_state(run: Any, genotype: Any, target: Dict[str, Any]) -> Tuple[Dict[str, Any], int]:
    """Return the standalone state dict that ``extract(genotype)`` gives from a search run's supernet, and its classes.

    ``target`` holds the standalone model's shape settings (``width``, ``stem_stride``); the supernet is
    rebuilt with the run's own settings and refused where they differ.
    """
    from nas.spaces import create_supernet

    run = Path(run)
    rc = _run_config(run)
    if rc.get("space", genotype.space) != genotype.space:
        raise NasError(f"the run searched space {str(rc.get('space'))[:40]!r}, not {genotype.space}")
    kw = _shape_kwargs(dict(rc.get("supernet") or {}), target)
    raw = load_state(run / "supernet.pt", "supernet weights")
    if not isinstance(raw, dict):
        raise NasError(f"{str(run)[:120]}/supernet.pt is not a supernet state dict")
    n = _classes(raw)
    supernet = create_supernet(genotype.space, num_classes=n, **kw)
    try:
        supernet.load_state_dict(raw)
    except RuntimeError as exc:
        raise NasError(f"{run / 'supernet.pt'} does not fit the {genotype.space} supernet rebuilt from its "
                       f"config ({str(exc).splitlines()[0][:120]})") from None
    return supernet.extract(genotype).state_dict(), n


def checkpoint_state(path: Any, genotype: Any) -> Tuple[Dict[str, Any], str]:
    """Return the weights of a nas-retrain checkpoint of ``genotype`` (the EMA's when it has them) and which."""
    path = Path(path)
    ckpt = load_checkpoint(path)
    check_architecture(ckpt, str(genotype), path)
    if ckpt.get("ema") is not None:
        return ckpt["ema"], "EMA weights"
    return ckpt["model"], "weights"


def _backbone_keys(genotype: Any) -> set:
    """Return the state-dict keys of the genotype's backbone (the model's minus its classifier)."""
    from nas.spaces import create_backbone
    from nas.utils.seeds import seeded_init

    with seeded_init(0):  # building draws init values; keep the caller's RNG untouched
        return set(create_backbone(genotype).state_dict())


def load_fitting(model: Any, state: Dict[str, Any], genotype: Any, source: str, keep_head: bool) -> bool:
    """Load ``state`` into ``model``: the backbone must fit; the head is loaded when asked and it fits.

    Returns whether the head was loaded.
    """
    own = model.state_dict()
    body = _backbone_keys(genotype)
    bad: List[str] = [k for k in own if k in body and (k not in state or state[k].shape != own[k].shape)]
    if bad:
        raise NasError(f"{source} does not fit this model's backbone ({len(bad)} tensors missing or mis-shaped; "
                       f"first: {bad[0]})")
    head = [k for k in own if k not in body]
    with_head = keep_head and all(k in state and state[k].shape == own[k].shape for k in head)
    model.load_state_dict({**own, **{k: state[k] for k in own if k in body or with_head}})
    return with_head


def apply_init(model: Any, spec: str, genotype: Any, cfg: Any) -> str:
    """Load the starting weights ``spec`` (``scratch``, ``supernet:RUN``, ``backbone:FILE``, ``pretrained:FILE``).

    Returns what was used.
    """
    kind, _, arg = spec.partition(":")
    if spec == "scratch":
        return f"from scratch ({FRESH})"
    if kind == "pretrained":
        from nas.train.pretrained import load_pretrained

        width = getattr(cfg.model, "width", 1.0)  # a detector's backbone is built at model.width
        return f"pretrained 2-D weights: {load_pretrained(model, arg, genotype, width=width)}"
    if hasattr(model, "load_backbone_state") and kind in ("supernet", "backbone"):
        return _init_detector(model, kind, arg, genotype, getattr(cfg.model, "width", 1.0))
    if kind == "supernet":
        target = {"width": 1.0, "stem_stride": cfg.model.stem_stride or 2}
        state, n = supernet_state(arg, genotype, target)
        head = load_fitting(model, state, genotype, f"the supernet of {arg}", keep_head=True)
        tail = "and its classifier" if head else f"with a fresh classifier (the supernet has {n} classes)"
        return f"supernet weights of {arg} {tail}"
    if kind == "backbone":
        state, which = checkpoint_state(arg, genotype)
        load_fitting(model, state, genotype, f"checkpoint {arg}", keep_head=False)
        return f"backbone {which} of {arg} with a fresh classifier"
    raise NasError(f"init must be scratch, supernet:RUN, backbone:FILE or pretrained:FILE, got {spec[:80]!r}")


def _init_detector(model: Any, kind: str, arg: str, genotype: Any, width: float = 1.0) -> str:
    """Load backbone weights into every stream of a forgery detector (stems inflated); heads stay fresh."""
    if kind == "supernet":  # a width-scaled model (video forgery's model.width) takes a supernet of its width
        state, _ = supernet_state(arg, genotype, {"width": width, "stem_stride": 2})
        what = f"supernet weights of {arg}"
    else:
        state, which = checkpoint_state(arg, genotype)
        state = {k[len("a.net."):] if k.startswith("a.net.") else k: v for k, v in state.items()}
        what = f"backbone {which} of {arg}"
    streams = model.load_backbone_state(state, str(genotype))
    return f"{what} in the {'/'.join(streams)} stream(s), fresh heads"


def export_weights(model: Any, spec: str, genotype: Any, run: Any = None) -> str:
    """Load the weights ``nas-derive --weights`` names (``init``, ``supernet`` of ``run``, or a checkpoint FILE)."""
    if spec == "init":
        return FRESH
    if spec == "supernet":
        if run is None or not Path(run).is_dir():
            raise NasError("--weights supernet needs a search run folder as the genotype argument")
        state, n = supernet_state(run, genotype, {})
        head = load_fitting(model, state, genotype, f"the supernet of {run}", keep_head=True)
        return f"supernet weights of {run}" + ("" if head else f" with a fresh classifier (the supernet has {n} "
                                                                f"classes; pass --num-classes {n} to keep its own)")
    state, which = checkpoint_state(spec, genotype)
    if not load_fitting(model, state, genotype, f"checkpoint {spec}", keep_head=True):
        n = next(v.shape[0] for k, v in state.items() if k.endswith("fc.weight"))
        raise NasError(f"checkpoint {spec} has {n} classes; pass --num-classes {n}")
    return f"trained {which} of {spec}"

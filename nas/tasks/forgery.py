"""Face-forgery tasks on derived backbones: ``forgery_image`` (2/3/16-way) and ``forgery_spatial`` (grey maps)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch
from torch import nn

from nas.errors import NasError
from nas.forgery import metrics as M
from nas.tasks.base import Datasets, Task

__all__ = ["ForgeryImageTask", "ForgerySpatialTask", "detector_kwargs", "detector_spec_kwargs", "label_sets"]

COLUMN = {2: 0, 3: 1, 16: 2}  # label set -> column of the packed target
_CLS_SCALARS = ("auc", "acc", "eer", "ap", "bacc_2", "bacc_3", "acc_3", "bacc_16", "acc_16")
_MAP_SCALARS = ("l1", "iou_0.1", "iou_0.2", "iou_diff_0.01", "iou_diff_0.05", "iou_diff_0.1", "bin_iou", "bin_f1")


def label_sets(cfg: Any) -> tuple:
    """Return the label sets with a head (e.g. ``(2, 3, 16)``)."""
    from nas.config.retrain import parse_classes

    return parse_classes(cfg.forgery.classes) if cfg.forgery.classes else ()


def detector_kwargs(cfg: Any, task: str) -> Dict[str, Any]:
    """Return ``nas.forgery.create_detector``'s keyword arguments for a retrain config."""
    m = cfg.model
    return dict(task=task, classes=label_sets(cfg), streams=m.streams, resolution=cfg.resolution,
                mix_at=cfg.mix.stages(), lfs_genotype=m.lfs_genotype, dropout=m.dropout,
                fad_all_band=cfg.fad.all_band, lfs_split=cfg.lfs.split, lfs_order=cfg.lfs.order,
                stem_stride=m.stem_stride)


def detector_spec_kwargs(task: str, resolution: Optional[int], options: Dict[str, Any]) -> Dict[str, Any]:
    """Pop ``nas.cost``'s detector keywords (``classes`` as a tuple or "2,3,16", ``mix_at`` as a tuple or a comma
    string) out of ``options`` and return them normalised, with ``task`` and ``resolution`` (None: the default)."""
    from nas.config.retrain import parse_classes

    kw: Dict[str, Any] = {"task": task}
    if resolution is not None:
        kw["resolution"] = resolution
    if "classes" in options:
        classes = options.pop("classes")
        if isinstance(classes, str):  # "2,3,16" as on the command line; "" for a map head alone
            kw["classes"] = parse_classes(classes) if classes.strip() else ()
        else:
            kw["classes"] = tuple(int(c) for c in classes)
    if "mix_at" in options:
        at = options.pop("mix_at")
        kw["mix_at"] = tuple(s.strip() for s in at.split(",")) if isinstance(at, str) else at
    return kw


def _spec(kw: Dict[str, Any], options: Dict[str, Any]) -> Any:
    """Return the DetectorSpec of these keywords; an unknown one is a one-line error."""
    from dataclasses import fields

    from nas.forgery.spec import DetectorSpec

    known = {f.name for f in fields(DetectorSpec)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise NasError(f"unsupported cost keyword(s) for a forgery detector: {', '.join(unknown)[:60]} "
                       f"(known: {', '.join(sorted(known - {'task'}))}, lfs_genotype)")
    spec = DetectorSpec(**kw, **options)
    spec.validate()
    return spec


def _counted(model: nn.Module, resolution: int) -> Any:
    """Return a built model's MAdds (``FlopCounterMode`` / 2 on one eval-mode image) and parameter count."""
    from torch.utils.flop_counter import FlopCounterMode

    from nas.core.cost import Cost

    was = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, resolution, resolution))
    model.train(was)
    return Cost(counter.get_total_flops() // 2, sum(p.numel() for p in model.parameters()))


def _scores(out: Dict[str, torch.Tensor], sets: tuple) -> torch.Tensor:
    """Return P(fake): softmax[1] of the 2-way head, else 1 - P(real) of the first head."""
    if 2 in sets:
        return torch.softmax(out["logits_2"], 1)[:, 1]
    return 1.0 - torch.softmax(out[f"logits_{sets[0]}"], 1)[:, 0]


class _Forgery(Task):
    """What both forgery tasks share: data sources, detector, losses and metrics from raw scores."""

    modality = "image"
    reads = ("forgery", "fad", "lfs", "mix", "model.streams", "model.lfs_genotype", "model.dropout", "model.stem_stride",
             "data.train_list", "data.val_list")
    primary = "selection"  # AUC with a 2-way head, else balanced accuracy of the first head; 1 - L1 spatial-only
    scalars = ("val_loss", "selection") + _CLS_SCALARS + _MAP_SCALARS
    needs_maps = False

    def check(self, cfg: Any, genotype: Any) -> None:
        """Refuse classification-only keys, bad label sets and detectors that cannot build at this resolution."""
        from nas.forgery.detector import DetectorSpec

        super().check(cfg, genotype)
        if cfg.model.num_classes is not None:
            raise NasError("model.num_classes does not apply to forgery tasks (use --classes 2|3|16)")
        if cfg.data.frames is not None:
            raise NasError("--frames is for video genotypes")
        kw = detector_kwargs(cfg, self.name)
        kw.pop("lfs_genotype")
        DetectorSpec(**kw).validate()
        d = cfg.data
        lists = (d.train_list, d.val_list)  # given: ForgeryNet lists under data.root; none: a real/fake folder
        if any(lists) and not (all(lists) and d.root):
            raise NasError("ForgeryNet lists need all of --data-root, --train-list and --val-list")
        if d.root is not None and not Path(d.root).is_dir():
            raise NasError(f"data folder not found: {str(d.root)[:200]}")
        if self.needs_maps and any(lists) and cfg.forgery.map_root is None:
            raise NasError("forgery_spatial needs grey maps: give --map-root (ForgeryNet's spatial_localize/)")
        folder = d.root is not None and not any(lists)
        if self.needs_maps and folder and not any((Path(d.root) / s / "masks").is_dir() for s in ("train", ".")):
            raise NasError(f"forgery_spatial needs grey maps: {str(d.root)[:200]} has no train/masks/ folder")
        if folder and any(c != 2 for c in label_sets(cfg)):
            raise NasError("plain real/fake folders have 2-way labels only (use --classes 2)")

    def cost(self, genotype: Any, resolution: Optional[int] = None, num_classes: Optional[int] = None,
             **options: Any) -> Any:
        """Return the detector's exact cost for ``create_detector``'s keywords (and defaults), building nothing.

        Each part is a pure count (``nas.forgery.cost.spec_cost``). A space without ``backbone_geometry`` says
        nothing of its maps or stem without a built module, so there the built detector is counted instead
        (``FlopCounterMode`` / 2 at batch 1 and its parameters: the same convention).
        """
        from nas.spaces import load_genotype
        from nas.forgery.cost import has_pure_cost, spec_cost

        if num_classes is not None:
            raise NasError(f"task {self.name!r} takes classes=(2, 3, 16) (label sets), not num_classes")
        kw = detector_spec_kwargs(self.name, resolution, options)
        lfs = options.pop("lfs_genotype", None)
        spec = _spec(kw, options)
        g_lfs = load_genotype(lfs) if lfs is not None else None
        if has_pure_cost(genotype) and (g_lfs is None or has_pure_cost(g_lfs)):
            return spec_cost(genotype, spec, g_lfs)
        from nas.forgery import create_detector

        return _counted(create_detector(genotype, lfs_genotype=g_lfs, **kw, **options), spec.resolution)

    def datasets(self, cfg: Any, genotype: Any) -> Datasets:
        """Return the embedded set, ForgeryNet lists (``--data-root``/``--train-list``/``--val-list``) or folders."""
        from nas.data import forgery as F

        d, f, maps = cfg.data, cfg.forgery, self.needs_maps
        n_out = sum(label_sets(cfg)) or 1
        if d.train_list:
            train = F.parse_image_list(d.train_list, d.root, f.map_root, f.replaced_label)
            val = F.parse_image_list(d.val_list, d.root, f.map_root, f.replaced_label)
        elif d.root:
            root = Path(d.root)
            train = F.folder_records(root / "train" if (root / "train").is_dir() else root)
            if (root / "val").is_dir():
                val = F.folder_records(root / "val")
            else:
                train, val = F.split_records(train, d.val_fraction, d.seed)
        else:
            return Datasets(*_embedded(cfg, maps), n_out)
        kw = dict(size=cfg.resolution, seed=d.seed, with_maps=maps, crop_scale=f.crop_scale)
        return Datasets(F.FileForgeries(train, train=True, **kw), F.FileForgeries(val, train=False, **kw), n_out)

    def build_model(self, genotype: Any, cfg: Any, num_classes: int) -> nn.Module:
        """Return the detector of ``cfg.forgery`` on the genotype's backbone."""
        from nas.forgery import create_detector

        return create_detector(genotype, **detector_kwargs(cfg, self.name))

    def loss(self, cfg: Any) -> Callable:
        """Return the mean cross-entropy over the label sets, plus the weighted map loss for the spatial task."""
        sets, smoothing = label_sets(cfg), cfg.label_smoothing
        map_loss, weight = cfg.forgery.loss, cfg.forgery.map_weight

        def fn(out: Dict[str, torch.Tensor], y: torch.Tensor) -> torch.Tensor:
            from nas.data.forgery import split_target

            labels, maps = split_target(y)
            total = out[next(iter(out))].new_zeros(())
            for n in sets:
                total = total + nn.functional.cross_entropy(out[f"logits_{n}"], labels[:, COLUMN[n]],
                                                            label_smoothing=smoothing) / len(sets)
            if maps is not None and "mask" in out:
                p = out["mask"].float()
                if map_loss == "l1":
                    m = nn.functional.l1_loss(p, maps)
                else:  # BCE on probabilities is refused under CUDA autocast: compute it in float32 outside
                    with torch.autocast(device_type=p.device.type, enabled=False):
                        m = nn.functional.binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), maps.float())
                total = total + weight * m
            return total

        fn.sets = sets  # type: ignore[attr-defined]
        return fn

    def batch_metrics(self, output: Dict[str, torch.Tensor], target: torch.Tensor) -> Dict[str, Any]:
        """Return raw per-sample scores and predictions (lists, concatenated over batches) and map pixel sums."""
        from nas.data.forgery import split_target

        labels, maps = split_target(target)
        sets = tuple(sorted(int(k.split("_")[1]) for k in output if k.startswith("logits_")))
        out: Dict[str, Any] = {"loss": 0.0}
        for n in sets:
            logits = output[f"logits_{n}"]
            out["loss"] += float(nn.functional.cross_entropy(logits, labels[:, COLUMN[n]], reduction="sum"))
            out[f"pred_{n}"] = logits.argmax(1).tolist()
        if sets:
            out["scores"] = _scores(output, sets).tolist()
        out.update({f"y_{n}": labels[:, COLUMN[n]].tolist() for n in (2, 3, 16)})
        if maps is not None and "mask" in output:
            out["loss"] += float(nn.functional.l1_loss(output["mask"], maps, reduction="sum")) / maps[0].numel()
            out.update({f"px_{k}": v for k, v in M.spatial_sums(output["mask"].cpu().numpy(),
                                                                 maps.cpu().numpy()).items()})
        return out

    def finish_metrics(self, sums: Dict[str, Any], n: int) -> Dict[str, float]:
        """Return val_loss, AUC/ACC/EER/AP (binary), balanced and plain accuracy per head, and map metrics."""
        row: Dict[str, float] = {"val_loss": float(sums.get("loss", 0.0)) / max(n, 1)}
        if "scores" in sums:
            s, y = np.asarray(sums["scores"]), np.asarray(sums["y_2"])
            row.update(auc=M.auc(s, y), acc=M.accuracy_at(s, y), eer=M.eer(s, y), ap=M.average_precision(s, y))
        sets = sorted(int(k.split("_")[1]) for k in sums if k.startswith("pred_"))
        for k in sets:
            p, y = np.asarray(sums[f"pred_{k}"]), np.asarray(sums[f"y_{k}"])
            row[f"bacc_{k}"] = M.balanced_accuracy(p, y)
            if k != 2:
                row[f"acc_{k}"] = float(np.mean(p == y)) if len(y) else float("nan")
        px = {k[3:]: v for k, v in sums.items() if k.startswith("px_")}
        if px:
            row.update(M.finish_spatial(px))
        row["selection"] = _selection(row, sets)
        return row

    def log_line(self, row: Dict[str, Any]) -> str:
        """Return losses and the headline metrics of an epoch."""
        keys = [k for k in ("auc", "acc", "bacc_3", "bacc_16", "l1", "iou_0.1") if k in row]
        shown = " ".join(f"{k} {row[k]:.4f}" for k in keys)
        return f"train loss {row['train_loss']:.4f} val loss {row['val_loss']:.4f} {shown}"


def _selection(row: Dict[str, float], sets: List[int]) -> float:
    """Return the metric that picks best.pt: AUC (2-way), else the first head's balanced accuracy, else 1 - L1."""
    if 2 in sets and "auc" in row and row["auc"] == row["auc"]:
        return row["auc"]
    if sets:
        return row[f"bacc_{sets[0]}"]
    return 1.0 - row.get("l1", 1.0)


def _embedded(cfg: Any, maps: bool):
    """Return the embedded set's training and validation datasets."""
    from nas.data.forgery import ArrayForgeries
    from nas.data.forgery_synthetic import ForgerySpec, make_forgeries

    d, f = cfg.data, cfg.forgery
    spec = ForgerySpec(train=d.train_size, val=d.val_size, resolution=cfg.resolution, quality=f.quality,
                       strength=f.strength, seed=d.seed)
    rng = np.random.default_rng(d.seed)
    out = []
    for n, train in ((spec.train, True), (spec.val, False)):
        images, gmaps, methods = make_forgeries(n, spec, rng)
        out.append(ArrayForgeries(images, gmaps, methods, train, d.seed, maps, f.replaced_label))
    return out


class ForgeryImageTask(_Forgery):
    """Real/fake (2), real / ID-replaced / ID-remained (3) or real + 15 methods (16); heads may train jointly."""

    name = "forgery_image"
    default_recipe = "forgery_image.yaml"


class ForgerySpatialTask(_Forgery):
    """Predict the grey manipulation map (all-zero for real images), optionally with classification heads."""

    name = "forgery_spatial"
    needs_maps = True
    default_recipe = "forgery_spatial.yaml"

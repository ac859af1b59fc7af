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
_MAP_SCALARS = ("l1", "iou_0.1", "iou_0.2", "iou_diff_0.01", "iou_diff_0.05", "iou_diff_0.1", "bin_iou", "bin_f1",
                "real_alarm")
_CLS_BASES = (("chance", "auc"), ("chance", "ap"), ("majority", "acc"), ("majority", "bacc_2"),
              ("majority", "bacc_3"), ("majority", "acc_3"), ("majority", "bacc_16"), ("majority", "acc_16"))
_MAP_BASES = tuple((b, m) for b in ("zero", "mean") for m in ("l1", "bin_iou", "bin_f1"))
_BASE_SCALARS = tuple(f"{kind}_{b}_{m}" for b, m in _CLS_BASES + _MAP_BASES for kind in ("base", "beats"))
SHOWN = {"auc": ("chance",), "acc": ("majority",), "bacc_3": ("majority",), "bacc_16": ("majority",),
         "l1": ("zero", "mean"), "bin_iou": ("zero", "mean"), "bin_f1": ("zero", "mean")}  # log line: beside these


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
                stem_stride=m.stem_stride, map_gate=cfg.forgery.map_gate, map_width=cfg.forgery.map_width)


def detector_spec_kwargs(task: str, resolution: Optional[int], options: Dict[str, Any]) -> Dict[str, Any]:
    """Pop ``nas.cost``'s detector keywords (``classes`` as an int, a tuple or "2,3,16", ``mix_at`` as a tuple or a
    comma string) out of ``options`` and return them normalised, with ``task`` and ``resolution`` (None: default)."""
    from nas.forgery.spec import label_sets_of

    kw: Dict[str, Any] = {"task": task}
    if resolution is not None:
        kw["resolution"] = resolution
    if "classes" in options:  # 2, (2, 3, 16), or "2,3,16" as on the command line; "" for a map head alone
        kw["classes"] = label_sets_of(options.pop("classes"))
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
    primary = "selection"  # AUC with a 2-way head, else balanced accuracy of the first head; region IoU spatial-only
    scalars = ("val_loss", "selection") + _CLS_SCALARS + _MAP_SCALARS + _BASE_SCALARS
    needs_maps = False
    region_tau = 0.05  # set from forgery.region_tau when the loss or the model is built

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

        from nas.data.forgery_labels import check_two_classes

        d, f, maps = cfg.data, cfg.forgery, self.needs_maps
        n_out = sum(label_sets(cfg)) or 1
        if d.train_list:
            train = F.parse_image_list(d.train_list, d.root, f.map_root, f.replaced_label, f.labels)
            val = F.parse_image_list(d.val_list, d.root, f.map_root, f.replaced_label, f.labels)
        elif d.root:
            root = Path(d.root)
            train = F.folder_records(root / "train" if (root / "train").is_dir() else root)
            if (root / "val").is_dir():
                val = F.folder_records(root / "val")
            else:
                train, val = F.split_records(train, d.val_fraction, d.seed)
        else:
            return Datasets(*_embedded(cfg, maps), n_out)
        check_two_classes((r.labels[0] for r in train), "the training set")
        check_two_classes((r.labels[0] for r in val), "the validation set")
        kw = dict(size=cfg.resolution, seed=d.seed, with_maps=maps, crop_scale=f.crop_scale)
        return Datasets(F.FileForgeries(train, train=True, **kw), F.FileForgeries(val, train=False, **kw), n_out)

    def build_model(self, genotype: Any, cfg: Any, num_classes: int) -> nn.Module:
        """Return the detector of ``cfg.forgery`` on the genotype's backbone."""
        from nas.forgery import create_detector

        self.region_tau = cfg.forgery.region_tau
        return create_detector(genotype, **detector_kwargs(cfg, self.name))

    def loss(self, cfg: Any) -> Callable:
        """Return the mean cross-entropy over the label sets, plus for the spatial task the weighted grey-map loss
        (L1 or BCE; with ``forgery.map_gate=hard`` on the grey level inside the true region) and the weighted
        region loss (``forgery.region_loss``: BCE or balanced BCE, + Dice pooled per ``forgery.dice``, against grey
        map >= ``region_tau``)."""
        from nas.forgery.losses import region_loss

        sets, smoothing, f = label_sets(cfg), cfg.label_smoothing, cfg.forgery
        self.region_tau = tau = f.region_tau

        def fn(out: Dict[str, torch.Tensor], y: torch.Tensor) -> torch.Tensor:
            from nas.data.forgery import split_target

            labels, maps = split_target(y)
            total = out[next(iter(out))].new_zeros(())
            for n in sets:
                total = total + nn.functional.cross_entropy(out[f"logits_{n}"], labels[:, COLUMN[n]],
                                                            label_smoothing=smoothing) / len(sets)
            if maps is not None and "mask" in out:
                truth = (maps >= tau).float()
                # hard gate: the grey level is learnt inside the true region (the gate itself is a step, no
                # gradient); soft gate: the gated map as it is output
                grey = out["grey"] * truth if f.map_gate == "hard" and "grey" in out else out["mask"]
                total = total + f.map_weight * _grey_loss(grey, maps, f.loss)
                if "region" in out and f.region_weight:
                    total = total + f.region_weight * region_loss(out["region"], truth, f.region_loss, f.dice)
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
            out.update(self._map_sums(output, maps, labels[:, 0] == 1))
        return out

    def _map_sums(self, output: Dict[str, torch.Tensor], maps: torch.Tensor, fake: torch.Tensor) -> Dict[str, Any]:
        """Return a batch's map loss, ForgeryNet pixel sums, region sums and the baselines' ground-truth sums."""
        from nas.forgery.baselines import map_sums

        g, f, tau = maps.cpu().numpy(), fake.cpu().numpy(), self.region_tau
        grey = output["mask"].cpu().numpy()
        region = output["region"].cpu().numpy() if "region" in output else grey >= tau  # no region head: grey >= tau
        out: Dict[str, Any] = {"loss": float(nn.functional.l1_loss(output["mask"], maps, reduction="sum"))
                               / maps[0].numel()}
        out.update({f"px_{k}": v for k, v in M.spatial_sums(grey, g).items()})
        out.update({f"rg_{k}": v for k, v in M.region_sums(region, g, f, tau).items()})
        out.update({f"gt_{k}": v for k, v in map_sums(g, f, tau).items()})
        return out

    def finish_metrics(self, sums: Dict[str, Any], n: int) -> Dict[str, float]:
        """Return val_loss, AUC/ACC/EER/AP (binary), balanced and plain accuracy per head, map metrics, and each
        metric's trivial baselines on the same data with whether the model beats them; NaN is an error."""
        from nas.data.forgery_labels import check_two_classes
        from nas.forgery import baselines as B

        check_two_classes(sums.get("y_2", []), "the validation pass")
        row: Dict[str, float] = {"val_loss": float(sums.get("loss", 0.0)) / max(n, 1)}
        if "scores" in sums:
            s, y = np.asarray(sums["scores"]), np.asarray(sums["y_2"])
            row.update(auc=M.auc(s, y), acc=M.accuracy_at(s, y), eer=M.eer(s, y), ap=M.average_precision(s, y))
        sets = sorted(int(k.split("_")[1]) for k in sums if k.startswith("pred_"))
        for k in sets:
            p, y = np.asarray(sums[f"pred_{k}"]), np.asarray(sums[f"y_{k}"])
            row[f"bacc_{k}"] = M.balanced_accuracy(p, y)
            if k != 2:
                row[f"acc_{k}"] = float(np.mean(p == y))
        bases = B.classification_baselines(sums["y_2"], {k: sums[f"y_{k}"] for k in sets}) if sets else {}
        px = {k[3:]: v for k, v in sums.items() if k.startswith("px_")}
        if px:
            row.update(M.finish_spatial(px))
            row.update(M.finish_region({k[3:]: v for k, v in sums.items() if k.startswith("rg_")}))
            bases.update(B.spatial_baselines({k[3:]: v for k, v in sums.items() if k.startswith("gt_")}))
        row.update(B.compare(row, bases))
        row["selection"] = _selection(row, sets)
        B.check_finite(row)
        return row

    def log_line(self, row: Dict[str, Any]) -> str:
        """Return losses and the headline metrics of an epoch, each beside its trivial baselines."""
        from nas.forgery.baselines import beside

        return f"train loss {row['train_loss']:.4f} val loss {row['val_loss']:.4f} {beside(row, SHOWN)}"


def _grey_loss(p: torch.Tensor, maps: torch.Tensor, kind: str) -> torch.Tensor:
    """Return the grey-map loss: L1, or BCE on the sigmoid map (computed in float32 outside CUDA autocast)."""
    p = p.float()
    if kind == "l1":
        return nn.functional.l1_loss(p, maps)
    with torch.autocast(device_type=p.device.type, enabled=False):
        return nn.functional.binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), maps.float())


def _selection(row: Dict[str, float], sets: List[int]) -> float:
    """Return the metric that picks best.pt: AUC (2-way), else the first head's balanced accuracy, else the
    region IoU on the fakes (spatial only; 1 - L1 would pick an empty map)."""
    if 2 in sets and "auc" in row:
        return row["auc"]
    if sets:
        return row[f"bacc_{sets[0]}"]
    return row.get("bin_iou", 1.0 - row.get("l1", 1.0))


def _embedded(cfg: Any, maps: bool):
    """Return the embedded set's training and validation datasets."""
    from nas.data.forgery import ArrayForgeries
    from nas.data.forgery_synthetic import ForgerySpec, make_forgeries

    d, f = cfg.data, cfg.forgery
    spec = ForgerySpec(train=d.train_size, val=d.val_size, resolution=cfg.resolution, quality=f.quality,
                       strength=f.strength, seed=d.seed, look=f.look)
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

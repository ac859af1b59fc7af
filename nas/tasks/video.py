"""Video classification: clip lists decoded with PyAV, or the embedded motion set; top-1/top-5 as for images."""
from __future__ import annotations

from typing import Any, List

from nas.errors import NasError
from nas.tasks.base import Datasets, register_task
from nas.tasks.classification import _Classifier

__all__ = ["VideoClassificationTask", "align_labels"]


def align_labels(records, names: List[str], train_names: List[str], where: str) -> list:
    """Re-index records labelled by ``names`` onto ``train_names`` (Kinetics CSVs index each file's own classes)."""
    if names == train_names[: len(names)]:
        return records
    index = {n: i for i, n in enumerate(train_names)}
    unknown = sorted(set(names) - set(index))
    if unknown:
        raise NasError(f"{where} has classes missing from the training list, e.g. {unknown[0]!r}")
    return [type(r)(r.path, index[names[r.label]]) for r in records]


@register_task
class VideoClassificationTask(_Classifier):
    """Classify clips: the embedded motion set by default, or mmaction2/Kinetics/SSv2 lists under a data root."""

    name = "video_classification"
    modality = "video"

    def check(self, cfg: Any, genotype: Any) -> None:
        """Also refuse the image-only keys, and half-given clip lists."""
        super().check(cfg, genotype)
        if cfg.data.root is not None:
            raise NasError(f"--data (data.root) is for image genotypes; {genotype.space} is a video space "
                           "(use --data-root with --train-list and --val-list)")
        if cfg.model.stem_stride is not None:
            raise NasError(f"model.stem_stride is for st_topo only; {genotype.space} has no such option")
        d = cfg.data
        if (d.video_root or d.train_list or d.val_list) and not (d.video_root and d.train_list and d.val_list):
            raise NasError("video retraining needs all of --data-root, --train-list and --val-list")

    def datasets(self, cfg: Any, genotype: Any) -> Datasets:
        """Return the clip lists of ``cfg.data``, or the embedded motion set when none are given."""
        import nas
        from nas.data.video_synthetic import SyntheticMotion

        d = cfg.data
        frames = d.frames or nas.get_space(genotype.space).example_input_shape(cfg.resolution)[2]
        if not (d.video_root or d.train_list or d.val_list):
            return Datasets(SyntheticMotion(d.train_size, frames, cfg.resolution, d.seed),
                            SyntheticMotion(d.val_size, frames, cfg.resolution, d.seed + 1),
                            len(SyntheticMotion.classes))
        return _list_datasets(cfg, frames)


def _list_datasets(cfg: Any, frames: int) -> Datasets:
    """Return the decoded clip lists of ``cfg.data`` (validation labels mapped onto the training classes)."""
    from nas.data import video

    d = cfg.data
    train_rec, names = video.parse_list(d.train_list)
    val_rec, val_names = video.parse_list(d.val_list, num_classes=len(names) or None)
    val_rec = align_labels(val_rec, val_names, names, d.val_list)
    kw = {"frames": frames, "size": cfg.resolution, "seed": d.seed}
    num_classes = len(names) or 1 + max(r.label for r in train_rec + val_rec)
    return Datasets(video.VideoListDataset(train_rec, d.video_root, train=True, **kw),
                    video.VideoListDataset(val_rec, d.video_root, train=False, **kw), num_classes)

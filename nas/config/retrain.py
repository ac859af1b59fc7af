"""The retraining config: typed, frozen dataclasses with every default commented; recipes override them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Dict, Optional

from nas.config import changed_keys, path_field, scoped_field
from nas.config.search import ExecutionConfig
from nas.config.video import ClipSamplingConfig, EvalConfig
from nas.errors import NasError
from nas.forgery.spec import MASK_WIDTH

__all__ = ["DataConfig", "ForgeryConfig", "FadConfig", "LfsConfig", "MixConfig", "parse_classes", "ModelConfig",
           "OptimConfig", "ScheduleConfig", "RetrainExecutionConfig", "RetrainConfig", "OPTIMIZER_NAMES", "STREAM_NAMES"]

OPTIMIZER_NAMES = ("sgd", "adarem", "adam", "adamw")


@dataclass(frozen=True)
class DataConfig:
    """Where the images come from and how they are loaded."""

    root: Optional[str] = path_field("read")  # without lists: an ImageNet-style (or real/fake) folder, train/<class>/*,
    #                             val/<class>/*; with lists: the folder their paths are relative to; None: embedded
    train_size: int = 6000  # embedded set: number of training images
    val_size: int = 1000  # embedded set: number of validation images
    seed: int = 0  # embedded set generator seed / folder train-val split seed (independent of the run seed)
    val_fraction: float = 0.1  # folders without val/: share of each class held out for validation
    workers: int = 0  # DataLoader worker processes; 0 loads in the main process
    train_list: Optional[str] = path_field("read", scope="task")  # training list (video clips, or ForgeryNet images / videos),
    #                                                  under root
    val_list: Optional[str] = path_field("read", scope="task")  # validation list, same format
    frames: Optional[int] = scoped_field("video")  # video genotypes: clip length; None: the space's default
    min_readable: float = 0.5  # stop when a training epoch or validation pass reads less than this share of files
    temporal_length: int = scoped_field("task", 32)  # forgery_video/forgery_temporal: frames each whole video is resampled to (slots)

    def validate(self) -> None:
        """Raise a one-line NasError on an impossible value."""
        if self.train_size < 1 or self.val_size < 1:
            raise NasError("data.train_size and data.val_size must be >= 1")
        if not 0.0 < self.val_fraction < 1.0:
            raise NasError(f"data.val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.workers < 0:
            raise NasError(f"data.workers must be >= 0, got {self.workers}")
        if not 0.0 < self.min_readable <= 1.0:
            raise NasError(f"data.min_readable must be in (0, 1], got {self.min_readable}")
        if self.frames is not None and self.frames < 1:
            raise NasError(f"data.frames must be >= 1, got {self.frames}")
        if self.temporal_length < 1:
            raise NasError(f"data.temporal_length must be >= 1, got {self.temporal_length}")


def parse_classes(text: str) -> tuple:
    """Return the label sets of ``forgery.classes`` ("2", "3", "16" or a comma list such as "2,3,16")."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items or any(t not in ("2", "3", "16") for t in items):
        raise NasError(f"--classes (forgery.classes) takes 2, 3 and/or 16, comma-separated, got {str(text)[:40]!r}")
    return tuple(sorted({int(t) for t in items}))


@dataclass(frozen=True)
class ForgeryConfig:
    """Face-forgery tasks (forgery_image, forgery_spatial): detector, embedded set and data options."""

    classes: str = "2"  # label sets with a head: 2, 3, 16 or a comma list ("2,3,16"); "" for spatial-only
    loss: str = "l1"  # forgery_spatial map loss on the sigmoid map: l1 or bce
    map_weight: float = 1.0  # forgery_spatial: weight of the map loss beside the classification losses
    quality: str = "hq"  # embedded set: final JPEG range hq (75-95) or lq (30-50)
    strength: float = 1.0  # embedded set: manipulation amplitude (lower is harder)
    look: str = "v1"  # embedded image set: faces as measured so far (v1) or closer to photographs (v2; docs/forgery.md)
    map_root: Optional[str] = path_field("read")  # ForgeryNet lists: root of the spatial_localize/ maps (same relpaths)
    replaced_label: int = 1  # 3-way label of ID-replaced methods (ID-remained gets the other of 1, 2)
    crop_scale: float = 1.3  # ForgeryNet lists: face crop = box enlarged this much (X_BB.txt sidecars)
    temporal_head: str = "tem"  # forgery_temporal: tem (fake/start/end, our BSN/BMN reading) or frame (per-frame)
    soft_nms_sigma: float = 0.4  # forgery_temporal: Gaussian Soft-NMS decay exp(-tIoU^2 / sigma)
    boundary_width: int = 1  # forgery_temporal: start/end targets are 1 within this many slots of a boundary (BSN)
    temporal_changes: bool = True  # forgery_temporal: the head also reads per-frame change features (flicker cue)
    part_weight: float = 0.0  # forgery_video: weight of a per-clip/frame loss on the known forged segments (0: off)
    paired: bool = False  # embedded video set: every fake video is followed by its real source (same face and motion)
    video_artefacts: float = 0.5  # embedded video set: scale of forged segments' edge step, flicker, jitter (0: none)
    video_head: str = "temporal"  # forgery_video: temporal (1-D convs over per-frame and change features) or pool
    labels: str = "auto"  # ForgeryNet lists: folder (folder ids), list (label columns), auto (folder; an error when
    #                       the two disagree on most lines' real/fake label, as when folders are numbered backwards)
    region_tau: float = 0.05  # forgery_spatial: the manipulated region is where the grey map >= this (our reading)
    region_weight: float = 1.0  # forgery_spatial: weight of the region loss
    region_loss: str = "bce_dice"  # forgery_spatial: bce_dice (BCE + soft Dice) or balanced_dice (class-balanced
    #                                BCE + Dice, which calls a pixel manipulated from a ~5% posterior on)
    map_gate: str = "hard"  # forgery_spatial: grey map where region >= 1/2 (hard, L1's median rule) or x region (soft)
    map_width: int = MASK_WIDTH  # forgery_spatial: channels of the map decoder at every stride
    dice: str = "batch"  # forgery_spatial: the region loss's Dice pooled over the batch, or per fake image and averaged
    #                      (image: a small region counts as much as a large one)

    def validate(self) -> None:
        """Raise a one-line NasError on an impossible value."""
        if self.classes:
            parse_classes(self.classes)
        for key, value, allowed in (("loss", self.loss, ("l1", "bce")), ("quality", self.quality, ("hq", "lq")),
                                    ("temporal_head", self.temporal_head, ("tem", "frame")),
                                    ("video_head", self.video_head, ("pool", "temporal")),
                                    ("labels", self.labels, ("auto", "folder", "list")),
                                    ("region_loss", self.region_loss, ("bce_dice", "balanced_dice")),
                                    ("map_gate", self.map_gate, ("hard", "soft")),
                                    ("dice", self.dice, ("batch", "image")), ("look", self.look, ("v1", "v2"))):
            if value not in allowed:
                raise NasError(f"forgery.{key} must be one of {'|'.join(allowed)}, got {str(value)[:40]!r}")
        if self.replaced_label not in (1, 2):
            raise NasError(f"forgery.replaced_label must be 1 or 2, got {self.replaced_label}")
        if self.strength <= 0 or self.map_weight < 0 or self.crop_scale <= 0 or self.part_weight < 0:
            raise NasError("forgery.strength and forgery.crop_scale must be > 0, forgery.map_weight and "
                           "forgery.part_weight >= 0")
        if not 1 <= self.map_width <= 1024:
            raise NasError(f"forgery.map_width must be in 1..1024, got {str(self.map_width)[:20]}")
        if not 0 < self.region_tau < 1 or self.region_weight < 0:
            raise NasError("forgery.region_tau must be in (0, 1) and forgery.region_weight >= 0")
        if not self.video_artefacts >= 0:
            raise NasError(f"forgery.video_artefacts must be >= 0, got {self.video_artefacts}")
        if self.boundary_width < 0:
            raise NasError(f"forgery.boundary_width must be >= 0, got {self.boundary_width}")
        if self.soft_nms_sigma <= 0:
            raise NasError(f"forgery.soft_nms_sigma must be > 0, got {self.soft_nms_sigma}")


@dataclass(frozen=True)
class FadConfig:
    """F3-Net's frequency-aware decomposition (the fad, both and mix streams)."""

    all_band: bool = False  # the reimplementations' 4th all-band FAD filter (12 channels instead of 9)


@dataclass(frozen=True)
class LfsConfig:
    """F3-Net's local frequency statistics (the lfs, both and mix streams)."""

    split: str = "linear"  # bands on i + j: linear (equal width, the reimplementations') or log (our reading)
    order: str = "paper"  # statistic: paper log10(||.||_1 + eps), or reimpl (log10|.| first, then the band mean)

    def validate(self) -> None:
        """Raise a one-line NasError on an impossible value."""
        if self.split not in ("linear", "log"):
            raise NasError(f"lfs.split must be one of linear|log, got {str(self.split)[:40]!r}")
        if self.order not in ("paper", "reimpl"):
            raise NasError(f"lfs.order must be one of paper|reimpl, got {str(self.order)[:40]!r}")


@dataclass(frozen=True)
class MixConfig:
    """F3-Net's MixBlocks (the mix stream)."""

    at: Optional[str] = None  # comma list of stages after which MixBlocks sit (s4 ... s32, final); None: the last two

    def stages(self) -> Optional[tuple]:
        """Return the stage names of ``at``, or None for the default."""
        return tuple(s.strip() for s in self.at.split(",")) if self.at else None


STREAM_NAMES = ("rgb", "fad", "lfs", "both", "mix")


@dataclass(frozen=True)
class ModelConfig:
    """How the standalone model is built from the genotype."""

    num_classes: Optional[int] = None  # classifier outputs; None: the number of classes in the data
    dropout: float = scoped_field("model", 0.2)  # dropout before the classifier (MobileNetV2's value)
    stem_stride: Optional[int] = scoped_field("model")  # st_topo only: 1 = CIFAR-style stem for small images;
    #                                                     None = stride 2
    width: float = scoped_field("model", 1.0)  # channel multiplier of every stage (< 1: a smaller network of
    #                                            the same genotype, e.g. for small data or a CPU; its own cost)
    streams: str = scoped_field("task", "rgb")  # forgery tasks: rgb | fad | lfs | both (FAD + LFS) | mix (both +
    #                                             MixBlocks)
    lfs_genotype: Optional[str] = scoped_field("task")  # forgery tasks, both/mix: genotype of the LFS stream; None:
    #                                                    the main one

    def validate(self) -> None:
        """Raise a one-line NasError on an impossible value."""
        if self.streams not in STREAM_NAMES:
            raise NasError(f"model.streams must be one of {'|'.join(STREAM_NAMES)}, got {str(self.streams)[:40]!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise NasError(f"model.dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.width <= 1.0:
            raise NasError(f"model.width must be in (0, 1], got {self.width}")


@dataclass(frozen=True)
class OptimConfig:
    """The weight optimizer; only the fields of the chosen ``name`` are used."""

    name: str = "sgd"  # one of sgd, adarem, adam, adamw
    lr: float = 0.05  # peak LR reached after warmup (not scaled by batch size: recipes give the final value)
    weight_decay: float = 4e-5  # L2 (decoupled for adamw); 4e-5 is the usual mobile-network value
    no_decay_1d: bool = True  # exempt norm scales and biases from weight decay
    momentum: float = 0.9  # sgd: momentum
    nesterov: bool = True  # sgd: Nesterov momentum
    beta1: float = 0.9  # adam/adamw: first-moment decay
    beta2: float = 0.999  # adam/adamw: second-moment decay
    eps: float = 1e-8  # adam/adamw/adarem: denominator epsilon
    adarem_beta: float = 0.9  # adarem: momentum EMA decay (reference default)
    adarem_lam: float = 0.999  # adarem: decay of the adaptivity, lam**k (reference default)
    adarem_lam_unit: str = "step"  # adarem: count k in optimizer steps ("step") or epochs ("epoch")
    adarem_step_on_momentum: bool = False  # adarem: step along m instead of g (our reading, off = reference)
    grad_clip: float = 0.0  # clip the global gradient norm to this value; 0 disables clipping

    # The keys only some optimizers read; set for another one, they are an error rather than ignored.
    READ_BY: ClassVar[Dict[str, tuple]] = {
        "momentum": ("sgd",), "nesterov": ("sgd",), "beta1": ("adam", "adamw"), "beta2": ("adam", "adamw"),
        "eps": ("adam", "adamw", "adarem"), "adarem_beta": ("adarem",), "adarem_lam": ("adarem",),
        "adarem_lam_unit": ("adarem",), "adarem_step_on_momentum": ("adarem",)}

    def validate(self) -> None:
        """Raise a one-line NasError on an impossible value, or on a key the chosen optimizer does not read."""
        if self.name not in OPTIMIZER_NAMES:
            raise NasError(f"optim.name must be one of {', '.join(OPTIMIZER_NAMES)}, got {str(self.name)[:40]!r}")
        for key, _ in changed_keys(self):
            if self.name not in self.READ_BY.get(key, (self.name,)):
                raise NasError(f"optim.{key} is not read by optim.name {self.name} (only by "
                               f"{', '.join(self.READ_BY[key])}); drop it")
        if not self.lr > 0:
            raise NasError(f"optim.lr must be > 0, got {self.lr}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise NasError("optim.weight_decay and optim.grad_clip must be >= 0")
        if self.adarem_lam_unit not in ("step", "epoch"):
            raise NasError(f"optim.adarem_lam_unit must be step or epoch, got {self.adarem_lam_unit!r}")


@dataclass(frozen=True)
class ScheduleConfig:
    """The per-iteration LR schedule: linear warmup, then a half cosine."""

    warmup_epochs: float = 0.0  # epochs of linear warmup (fractions allowed; converted to iterations)
    warmup_start_factor: float = 0.0  # warmup starts at this fraction of the peak LR
    lr_min: float = 0.0  # LR at the end of the cosine

    def validate(self) -> None:
        """Raise a one-line NasError on an impossible value."""
        if self.warmup_epochs < 0 or self.lr_min < 0:
            raise NasError("schedule.warmup_epochs and schedule.lr_min must be >= 0")
        if not 0.0 <= self.warmup_start_factor <= 1.0:
            raise NasError(f"schedule.warmup_start_factor must be in [0, 1], got {self.warmup_start_factor}")


@dataclass(frozen=True)
class RetrainExecutionConfig(ExecutionConfig):
    """Where and how retraining computes: the search's execution keys, plus two of retraining's own.

    ``amp`` here also covers fp16 with a GradScaler (auto: bf16 on CUDA, fp16 where bf16 is missing, off on the
    CPU); ``activation_checkpointing`` recomputes every block in backward (less memory, about 30% slower).
    """

    channels_last: bool = True  # CUDA only: NHWC memory format for 2-D models and their 4-D inputs
    compile: bool = False  # torch.compile the model (off by default: measure first, see docs/gpu.md)


@dataclass(frozen=True)
class RetrainConfig:
    """Everything ``nas-retrain`` needs besides the genotype and the run folder."""

    epochs: int = 30  # passes over the training set
    batch_size: int = 64  # training images per step
    eval_batch_size: int = 256  # validation images per forward pass
    resolution: int = 32  # input side in pixels (the embedded set is drawn at this size)
    seed: int = 0  # seeds model init, data order and augmentation; same seed + CPU = identical run
    label_smoothing: float = 0.1  # cross-entropy label smoothing (Szegedy et al. 2016)
    ema_decay: float = 0.0  # EMA of the weights, updated every step; 0 disables it (ImageNet recipes: 0.9999)
    grad_accum: int = 1  # micro-batches per optimizer step: batch_size / grad_accum samples go through at once
    log_every: int = 0  # also print a progress line every N steps; 0: only the tqdm bar and one line per epoch
    task: Optional[str] = None  # TASKS name; None: classification for image genotypes, video_classification for video
    init: str = "scratch"  # starting weights: scratch, supernet:RUN, backbone:FILE or pretrained:FILE (torchvision 2-D)
    execution: RetrainExecutionConfig = field(default_factory=RetrainExecutionConfig)  # device, precision, memory
    data: DataConfig = field(default_factory=DataConfig)  # the data source
    model: ModelConfig = field(default_factory=ModelConfig)  # the model head
    optim: OptimConfig = field(default_factory=OptimConfig)  # the optimizer
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)  # the LR schedule
    forgery: ForgeryConfig = scoped_field("task", default_factory=ForgeryConfig)  # forgery tasks: label sets, losses, data
    fad: FadConfig = scoped_field("task", default_factory=FadConfig)  # forgery tasks: the FAD front-end
    lfs: LfsConfig = scoped_field("task", default_factory=LfsConfig)  # forgery tasks: the LFS front-end
    mix: MixConfig = scoped_field("task", default_factory=MixConfig)  # forgery tasks: where the MixBlocks sit
    video: ClipSamplingConfig = scoped_field("task", default_factory=ClipSamplingConfig)  # video genotypes: frame sampling
    eval: EvalConfig = scoped_field("task", default_factory=EvalConfig)  # video genotypes: multi-view testing (clips x crops)

    # Keys renamed to the names; written in a recipe or override, an old one is a one-line error naming
    # its new key (stored configs of older runs are migrated when read back: nas.config.migrate_renamed).
    RENAMED: ClassVar[Dict[str, str]] = {
        "forgery.streams": "model.streams", "forgery.lfs_genotype": "model.lfs_genotype",
        "forgery.mix_at": "mix.at", "forgery.lfs_split": "lfs.split", "forgery.lfs_order": "lfs.order",
        "forgery.fad_all_band": "fad.all_band", "data.video_root": "data.root", "device": "execution.device", "amp": "execution.amp",
        "channels_last": "execution.channels_last", "compile": "execution.compile",
        "deterministic": "execution.deterministic", "activation_checkpointing": "execution.activation_checkpointing",
    }

    def validate(self) -> None:
        """Raise a one-line NasError on an impossible value."""
        from nas.utils.device import check_device_name

        check_device_name(self.execution.device, "execution.device")
        for name in ("epochs", "batch_size", "eval_batch_size", "resolution", "grad_accum"):
            if getattr(self, name) < 1:
                raise NasError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size % self.grad_accum:
            raise NasError(f"batch_size {self.batch_size} must divide by grad_accum {self.grad_accum}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise NasError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise NasError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.log_every < 0:
            raise NasError(f"log_every must be >= 0, got {self.log_every}")
        kind, _, arg = self.init.partition(":")
        if not (self.init == "scratch" or (kind in ("supernet", "backbone", "pretrained") and arg)):
            raise NasError(f"init must be scratch, supernet:RUN, backbone:FILE or pretrained:FILE, "
                           f"got {self.init[:80]!r}")
        if self.schedule.warmup_epochs >= self.epochs:
            raise NasError(f"schedule.warmup_epochs ({self.schedule.warmup_epochs}) must be < epochs ({self.epochs})")

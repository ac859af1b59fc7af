"""Config of the PV-NAS-like differentiable video search (``nas-search --space pv_st``): every default, commented."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from nas.config import Budget, Precision
from nas.config.bilevel import DiffSearchConfig
from nas.errors import NasError

__all__ = ["VideoDataConfig", "PvSupernetConfig", "DiffSearchConfig", "FinalistsConfig", "PvSearchConfig",
           "EvalConfig", "ClipSamplingConfig"]

VIDEO_SPACES = ("pv_st", "pv_st_m", "pv_st_tiny")


@dataclass(frozen=True)
class VideoDataConfig:
    """Search data: the embedded motion set, or video files named in lists."""

    source: str = "synthetic"  # "synthetic" (embedded motion-direction clips) or "list" (video files)
    data_root: Optional[str] = None  # list source: folder the list paths are relative to
    train_list: Optional[str] = None  # list source: weights and alpha are trained on halves of it
    val_list: Optional[str] = None  # list source: clips the per-epoch accuracy is measured on
    list_format: Optional[str] = None  # pathlabel | kinetics | ssv2; None = from the file extension
    labels_file: Optional[str] = None  # SSv2 only: the {name: index} labels JSON (default: beside the list)
    num_classes: Optional[int] = None  # None = from the list (or 4 for the embedded set)
    frames: int = 8  # frames per proxy clip (T) the supernet trains on (the target cost uses the run's frames)
    size: int = 32  # side of the square training crops, in pixels
    sampling: str = "segment"  # "segment" (TSN, 1 frame per segment) or "dense" (frames x stride)
    stride: int = 2  # dense sampling only: frame step
    synthetic_train: int = 384  # embedded set: clips for weight steps (and the finalists' brief training)
    synthetic_alpha: int = 192  # embedded set: held-out clips for alpha steps
    synthetic_val: int = 192  # embedded set: clips for the per-epoch accuracy and the finalists' scores
    seed: int = 0  # embedded set generator / list shuffle seed, fixed apart from the run seed (same data per --seed)
    workers: int = 0  # DataLoader worker processes for list data

    def validate(self) -> None:
        """Raise NasError on an inconsistent data config."""
        if self.source not in ("synthetic", "list"):
            raise NasError(f"data.source must be synthetic or list, got {self.source!r}")
        if self.source == "list" and not (self.data_root and self.train_list and self.val_list):
            raise NasError("video lists need data_root, train_list and val_list (--data-root/--train-list/--val-list)")
        if self.frames < 1 or self.size < 8:
            raise NasError("data.frames must be >= 1 and data.size >= 8")
        if self.sampling not in ("segment", "dense"):
            raise NasError(f"data.sampling must be segment or dense, got {self.sampling!r}")


@dataclass(frozen=True)
class PvSupernetConfig:
    """The proxy supernet the search trains (the cost is always counted for the full-width network)."""

    width: float = 0.125  # channel multiplier of every stage (rounded to multiples of 8): ResNet-50 at 1/8 is
    #                       8-256 channels, small enough for a 2-core CPU search; 1.0 searches the real widths

    def validate(self) -> None:
        """Raise NasError on a non-positive width."""
        if not 0 < self.width <= 1:
            raise NasError(f"supernet.width must be in (0, 1], got {self.width!r}"[:80])


@dataclass(frozen=True)
class FinalistsConfig:
    """Selection among the diversity scheduler's cycle-end candidates (our reading of PV-NAS's diversity)."""

    max: int = 4  # distinct candidates retrained (the latest ones when there are more); 0 = no selection,
    #               the derived final argmax is the result
    epochs: int = 6  # proxy training epochs of each finalist at the supernet's width (2 left the winner at
    #                  0.45 held-out top-1, below the 2-D bound 0.57; 6 reached 0.62, seed 0)
    lr: float = 0.05  # peak SGD learning rate of the finalists' training, cosine-annealed per step
    batch_size: int = 32  # clips per step
    init: str = "supernet"  # supernet: start from the shared weights (ours); scratch: a fresh seeded init

    def validate(self) -> None:
        """Raise NasError on negative counts or an unknown init."""
        if self.max < 0 or self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise NasError("need finalists.max >= 0, finalists.epochs >= 1, finalists.batch_size >= 1, "
                           "finalists.lr > 0")
        if self.init not in ("supernet", "scratch"):
            raise NasError(f"finalists.init must be supernet or scratch, got {str(self.init)[:40]!r}")


@dataclass(frozen=True)
class PvSearchConfig:
    """A whole pv_st search run."""

    space: str = "pv_st"  # pv_st (ResNet-50), pv_st_m (ResNet-101) or pv_st_tiny (tests)
    strategy: Optional[str] = None  # STRATEGIES name; None = the space's default (differentiable)
    madds: Optional[Budget] = None  # MAdds (the --flops flag) budget of the derived model at the target size,
    #                                 e.g. 3G; None = no budget
    seed: int = 0  # seeds data generation, init, Gumbel noise and order
    resolution: int = 224  # target resolution the cost and budget refer to
    frames: int = 8  # target clip length the cost and budget refer to (the proxy clips: data.frames)
    num_classes: Optional[int] = None  # classes of the target model for the cost; None = the data's
    device: str = "auto"  # auto (CUDA when available), cpu, cuda or cuda:N; --device overrides it, also on resume
    amp: Precision = "auto"  # autocast of supernet steps and scoring: auto (bf16 on CUDA, off on CPU), bf16 or off
    #                          (fp16 is refused: the bilevel step has no grad scaler)
    deterministic: bool = False  # CUDA: deterministic cuDNN/cuBLAS kernels (slower); CPU runs are always bitwise
    activation_checkpointing: bool = False  # recompute supernet block activations in backward (less memory)
    latency: Optional[str] = None  # hard latency budget of the predicted model latency, e.g. 150ms (us, ms, s)
    lut: Optional[str] = None  # nas-profile table the latency is predicted from; None: built into the run folder
    lut_force: bool = False  # accept a table made on another device, torch version or thread count
    latency_threads: int = 1  # CPU threads the latency budget refers to
    latency_device: str = "cpu"  # the device the latency budget refers to
    data: VideoDataConfig = field(default_factory=VideoDataConfig)
    supernet: PvSupernetConfig = field(default_factory=PvSupernetConfig)
    search: DiffSearchConfig = field(default_factory=DiffSearchConfig)
    finalists: FinalistsConfig = field(default_factory=FinalistsConfig)

    def validate(self) -> None:
        """Raise NasError on an inconsistent run config (the target through the space's own limits)."""
        from nas import get_space
        from nas.utils.device import check_device_name

        check_device_name(self.device)
        if self.amp == "fp16":
            raise NasError("amp fp16 does not apply to the video search (its bilevel step has no grad scaler): "
                           "use bf16 or off")
        if self.space not in VIDEO_SPACES:
            raise NasError(f"the video search runs on {', '.join(VIDEO_SPACES)}, not {str(self.space)[:40]!r}")
        space = get_space(self.space)
        space.target(self.resolution, self.num_classes, self.frames)  # the budget: nas.search.budget, by check()
        self.supernet.validate()
        self.finalists.validate()
        if self.latency is not None:
            from nas.latency.budget import parse_latency

            parse_latency(self.latency, "latency")
        elif self.lut is not None or self.lut_force:
            raise NasError("lut and lut_force (--lut, --lut-force) apply only with a latency budget (--latency)")
        if self.latency_threads < 1:
            raise NasError(f"latency_threads must be at least 1, got {self.latency_threads}")


@dataclass(frozen=True)
class ClipSamplingConfig:
    """How retraining draws the frames of a clip from a listed video (``nas-retrain``'s ``video.*`` keys)."""

    sampling: str = "segment"  # "segment" (TSN: one frame per segment) or "dense" (frames x stride, as TSM's K400)
    stride: int = 2  # dense only: frame step (TSM's dense 8-frame clips of Kinetics use 8; ours: small clips)

    def validate(self) -> None:
        """Raise NasError on an unknown sampling or a non-positive stride."""
        if self.sampling not in ("segment", "dense"):
            raise NasError(f"video.sampling must be segment or dense, got {str(self.sampling)[:40]!r}")
        if self.stride < 1:
            raise NasError(f"video.stride must be >= 1, got {self.stride}")


@dataclass(frozen=True)
class EvalConfig:
    """Multi-view testing of video retraining (``eval.*``): clips spread over each video times spatial crops.

    With more than one view the validation reports single-view top-1/top-5 (the middle clip's centre crop)
    and multi-view ``mv_top1``/``mv_top5`` (logits averaged over all views), as TSM's 10 x 3 protocol does.
    """

    clips: int = 1  # clips per validation video, evenly spread over it (TSM's Kinetics test: 10)
    crops: int = 1  # spatial crops per clip: 1 = centre, 3 = left/centre/right along the long side (TSM: 3)
    pool: str = "mean"  # forgery_video: clip/frame scores -> video score by mean, max or topk (mean of the top k)
    topk: int = 2  # forgery_video with pool topk: the k best clip/frame logits averaged

    def validate(self) -> None:
        """Raise NasError on a non-positive count, an unsupported crop count or an unknown pooling."""
        if self.pool not in ("mean", "max", "topk"):
            raise NasError(f"eval.pool must be one of mean|max|topk, got {str(self.pool)[:40]!r}")
        if self.topk < 1:
            raise NasError(f"eval.topk must be >= 1, got {self.topk}")
        if self.clips < 1:
            raise NasError(f"eval.clips must be >= 1, got {self.clips}")
        if self.crops not in (1, 3):
            raise NasError(f"eval.crops must be 1 or 3, got {self.crops}")

    @property
    def views(self) -> int:
        """Return clips x crops."""
        return self.clips * self.crops

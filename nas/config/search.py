"""The search config of every space and strategy (``nas-search``): every default, commented."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple

from nas.config import Budget, Precision, build_config, drop_foreign, foreign_key, path_field, to_dict
from nas.config.bilevel import DiffSearchConfig
from nas.errors import NasError

__all__ = ["DataConfig", "SupernetConfig", "SGLDConfig", "ScoreConfig", "EvolutionConfig", "BenchmarkConfig",
           "QueryConfig", "ConfidenceConfig", "FinalistsConfig", "ExecutionConfig", "SearchConfig", "search_config",
           "search_base", "load_search_config", "parse_scorer"]


IMAGE = {"modality": "image"}  # field metadata: the key applies to image spaces only
VIDEO = {"modality": "video"}  # field metadata: the key applies to video spaces only


@dataclass(frozen=True)
class DataConfig:
    """Proxy data: an embedded set (procedural shapes or motion clips), an ImageNet-style folder or video lists."""

    root: Optional[str] = path_field("read")  # image: ImageNet-style folder; video: the folder list paths are
    #                                            relative to; None = the space's embedded set
    train_size: int = 6000  # embedded set: training images (video: clips for weight steps and finalists)
    val_size: int = 1000  # embedded set: validation images (video: clips of the per-epoch accuracy and finalists)
    alpha_size: int = field(default=192, metadata=VIDEO)  # embedded video set: held-out clips for alpha steps
    seed: int = 0  # embedded set generator / folder split / list shuffle seed; fixed apart from the run seed so
    #              that runs and trials with different --seed are trained and scored on the same data
    workers: int = 0  # DataLoader worker processes for folder or list data
    proxy_resolution: int = field(default=32, metadata=IMAGE)  # side of the images the supernet trains on
    noise: float = field(default=0.05, metadata=IMAGE)  # embedded set: std of the additive Gaussian pixel noise
    shapes: int = field(default=5, metadata=IMAGE)  # embedded set: shape kinds (2..10; 2 x shapes classes); above 5
    #                                                 adds fine-outline shapes
    val_fraction: float = field(default=0.1, metadata=IMAGE)  # folders without val/: share of train held out
    batch_size: int = field(default=64, metadata=IMAGE)  # supernet training batch (video: search.batch_size)
    decode_at_proxy: bool = field(default=True, metadata=IMAGE)  # folders: decode JPEGs at >= 2x proxy_resolution
    #                                                              (libjpeg DCT scaling), not full size
    cache_scoring: bool = field(default=True, metadata=IMAGE)  # folders: keep the decoded BN/scoring images in the
    #                            run folder (score_cache.pt), so a resumed run or later phase does not decode them again
    search_val: str = field(default="split", metadata=IMAGE)  # folders with val/: "split" scores on a seeded
    #                 hold-out of train/ (val/ stays unseen for retraining's report), "val" scores on val/ itself
    min_readable: float = 0.5  # folders and video lists: stop when any pass reads less than this share
    source: str = field(default="synthetic", metadata=VIDEO)  # "synthetic" (embedded motion clips) or "list"
    train_list: Optional[str] = path_field("read", **VIDEO)  # list source: weights and alpha train on halves
    val_list: Optional[str] = path_field("read", **VIDEO)  # list source: clips of the per-epoch accuracy
    list_format: Optional[str] = field(default=None, metadata=VIDEO)  # pathlabel | kinetics | ssv2; None = by suffix
    labels_file: Optional[str] = field(default=None, metadata=VIDEO)  # SSv2: the {name: index} labels JSON
    num_classes: Optional[int] = field(default=None, metadata=VIDEO)  # None = from the list (or the embedded set's)
    frames: int = field(default=8, metadata=VIDEO)  # frames per proxy clip the supernet trains on
    size: int = field(default=32, metadata=VIDEO)  # side of the square training crops, in pixels
    sampling: str = field(default="segment", metadata=VIDEO)  # "segment" (TSN) or "dense" (frames x stride)
    stride: int = field(default=2, metadata=VIDEO)  # dense sampling only: frame step


@dataclass(frozen=True)
class SupernetConfig:
    """The proxy supernet: its width, and (image spaces) single-path uniform-sampling training, SPOS style."""

    width: float = 0.5  # channel multiplier of the proxy supernet (cost is always counted at width 1.0); pv_st: 0.125
    stem_stride: int = field(default=1, metadata=IMAGE)  # 1 = CIFAR-style stem for small proxy images (cost always uses the stride-2 stem)
    sampling: str = field(default="budget", metadata=IMAGE)  # "budget": paths drawn inside the search's cost window (ours); "uniform": SPOS
    epochs: int = field(default=6, metadata=IMAGE)  # passes over the proxy training set
    optimizer: str = field(default="sgd", metadata=IMAGE)  # any name in nas.optim.OPTIMIZERS
    lr: float = field(default=0.1, metadata=IMAGE)  # peak learning rate, cosine-annealed per step
    momentum: float = field(default=0.9, metadata=IMAGE)  # SGD momentum
    weight_decay: float = field(default=4e-5, metadata=IMAGE)  # on conv/linear weights only (SPOS/MobileNet value)
    warmup_epochs: float = field(default=1.5, metadata=IMAGE)  # linear warm-up length; 0.5 let early steps blow up (seed 0: epoch-1 loss 3.1 >
    #                             ln 10, 0.51 train accuracy after 6 epochs vs 0.67 with 1.5; seeds 1, 2 gained too)
    label_smoothing: float = field(default=0.0, metadata=IMAGE)  # cross-entropy label smoothing
    paths: int = field(default=1, metadata=IMAGE)  # sampled paths per optimizer step, their gradients averaged (1 = SPOS)
    distill: float = field(default=0.0, metadata=IMAGE)  # in-place distillation (after BigNAS; our reading): > 0 also trains the space's largest
    #                       path on the labels each step, and each sampled path on (1 - distill) x cross-entropy +
    #                       distill x KL to the largest's detached predictions; 0 = off. The SGLD phase stays
    #                       single-path
    sandwich: bool = field(default=False, metadata=IMAGE)  # the sandwich rule's lower bound: also train the space's cheapest path every step,
    #                         as one more student (with supernet.distill > 0 the whole BigNAS sandwich)


@dataclass(frozen=True)
class SGLDConfig:
    """Langevin sampling of the shared weights after training (ST-NAS's stabilised proxy; details are ours)."""

    enabled: bool = True  # False = the plain one-shot proxy: the trained weights, K = 1
    lr: float = 0.01  # Langevin step size eta
    temperature: float = 1.0  # tau (1 = the posterior); the noise std is sqrt(2 * eta * tau / N)
    prior_precision: float = 4e-5  # Gaussian prior precision (acts as weight decay / N)
    burn_in: int = 30  # steps before the first snapshot
    snapshots: int = 3  # K weight samples a candidate is scored under
    spacing: int = 15  # steps between snapshots


@dataclass(frozen=True)
class ScoreConfig:
    """How a candidate is scored under one set of weights."""

    bn_batches: int = 2  # training batches used to recalibrate BatchNorm statistics
    bn_batch_size: int = 64  # size of those batches
    val_images: int = 400  # validation images used for the accuracy score
    eval_batch_size: int = 200  # batch size for scoring
    scorer: str = "supernet"  # supernet (SPOS + SGLD snapshots) | proxy:NAME (training-free, no supernet; see
    #                           nas.proxies.list_proxies()) | blend (rank blend of proxies, MAdds and the supernet)


@dataclass(frozen=True)
class EvolutionConfig:
    """Budget-constrained evolution (SPOS-style) over topology bits and ops."""

    population: int = 16  # candidates per generation
    generations: int = 6  # generations after the initial population
    parents: int = 6  # top-k kept as parents
    mutation_prob: float = 0.1  # per-choice resampling probability in a mutation
    crossover_share: float = 0.5  # share of each new generation made by uniform crossover
    min_budget_fraction: float = 0.85  # candidates must also cost at least this share of the budget
    max_tries: int = 200  # attempts to make a feasible child before giving up on it
    sample_size: int = 5  # regularized evolution: tournament size S, at most the population (NAS-Bench-201: 5)


@dataclass(frozen=True)
class BenchmarkConfig:
    """Score by looking candidates up in the space's tabular benchmark instead of training a supernet."""

    name: Optional[str] = None  # the space's benchmark (nb201: cifar10, cifar100, imagenet16); None = one-shot
    report: str = "test_12ep"  # test column reported for the returned genotype only: test_12ep, test_200ep (C-10)
    table: Optional[str] = None  # a user's copy of the table (same columns); None = the file shipped with the space


QueryConfig = DiffSearchConfig  # the ``search`` section under its earlier name


@dataclass(frozen=True)
class ConfidenceConfig:
    """The end-of-run confidence report of a one-shot search (``nas.search.confidence``)."""

    enabled: bool = True  # False = no report (and no second chain)
    top_k: int = 3  # the returned genotype and the next best, each with a bootstrap standard error
    level: float = 0.95  # confidence level of the separability test and of the chain tau interval
    resamples: int = 1000  # bootstrap draws (snapshots x scoring images resampled together)
    second_chain: bool = True  # run a second SGLD chain and report the final population's rank stability
    population: Optional[int] = None  # members of the final population re-scored under it; None = evolution.population
    supernets: int = 1  # supernets (the run's own + K - 1 trained with other seeds) that score the final population
    #                     and the top-k: the supernet-seed spread; 1 = not measured (said so in the verdict)
    block: Optional[int] = None  # snapshot block length of the bootstrap (correlated SGLD snapshots); None: ceil(K^(1/3))
    separate_on: str = "held_out"  # images of the separability test: held_out (validation images after the scoring
    #                                set, not used to rank the top-k) or scoring (the search's own: biased to the winner)


@dataclass(frozen=True)
class FinalistsConfig:
    """Brief proxy training of the best candidates before the result is returned (``nas.search.finalists``).

    One-shot search: the top-k of the final population; differentiable search: the diversity scheduler's distinct
    cycle-end candidates, the latest ones first (our reading of PV-NAS's diversity).
    """

    k: int = 0  # candidates trained; 0 = off (return the supernet's best, or the derived final argmax); pv_st: 4
    epochs: int = 1  # proxy training epochs of each finalist; pv_st: 6 (2 left the winner at 0.45 held-out top-1,
    #                  below the 2-D bound 0.57; 6 reached 0.62, seed 0)
    lr: float = 0.05  # peak SGD learning rate, cosine-annealed per step
    batch_size: int = field(default=32, metadata=VIDEO)  # clips per step (image finalists use data.batch_size)
    init: str = "supernet"  # "supernet": start from the trained shared weights (ours); "scratch": a fresh seeded init


@dataclass(frozen=True)
class ExecutionConfig:
    """Where and how the run computes; recorded with the run like every other key."""

    device: str = "auto"  # auto (CUDA when available), cpu, cuda or cuda:N; --device sets it, also on --resume
    amp: Precision = "auto"  # autocast of supernet steps and scoring: auto (bf16 on CUDA, off on CPU), bf16, fp16,
    #                          off (fp16 is refused by the differentiable search: its bilevel step has no grad scaler)
    deterministic: bool = False  # CUDA: deterministic cuDNN/cuBLAS kernels (slower); CPU runs are always bitwise
    activation_checkpointing: bool = field(default=False, metadata=VIDEO)  # recompute supernet block activations
    #                                                                         in backward (less memory)


@dataclass(frozen=True)
class SearchConfig:
    """One search run, for every space and strategy: the keys of one modality apply to its spaces only.

    A space's plugin supplies the defaults that differ from these (``SpacePlugin.search_defaults``), so build it
    with :func:`search_config` (or ``nas.config.build_config`` with that base), not bare.
    """

    space: str = "st_topo"  # registered space name
    strategy: Optional[str] = None  # STRATEGIES name; None = the space's default
    madds: Optional[Budget] = 330_000_000  # hard MAdds budget at the target; recipes may write 330M, 0.5G;
    #                                          None: no MAdds limit (a latency budget alone, or none on pv_st)
    latency: Optional[str] = None  # hard latency budget of the predicted model latency, e.g. 25ms (us, ms, s)
    lut: Optional[str] = path_field("read")  # nas-profile table the latency is predicted from; None: built into the
    #                                           run folder
    lut_force: bool = False  # accept a table made on another device, torch version or thread count
    latency_threads: int = 1  # CPU threads the latency budget refers to (of the table built, and of the check)
    latency_device: str = "cpu"  # the device the latency budget refers to
    latency_verify_k: int = 5  # a latency search ends by timing its K best candidates on the target (nas.latency.verify)
    #                            and returns the best-ranked one measured within the budget; may change on --resume
    latency_verify_rounds: int = 3  # interleaved timing rounds of that check (each round times every candidate once)
    latency_learn: bool = False  # the check's timings also refine the --lut file (nas.latency.learn); without --lut
    #                              they always refine a copy of the run's own table (latency_lut_learned.json)
    resolution: int = 224  # target resolution at which the budget and costs are computed
    frames: Optional[int] = field(default=None, metadata=VIDEO)  # target clip length the cost and budget refer to
    #                                                               (pv_st: 8; the proxy clips: data.frames)
    num_classes: Optional[int] = 1000  # classes of the target model the cost is computed for; None = the data's
    seed: int = 0  # seeds data order, init, path sampling, SGLD and Gumbel noise, and the strategy
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    data: DataConfig = field(default_factory=DataConfig)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    sgld: SGLDConfig = field(default_factory=SGLDConfig, metadata=IMAGE)
    score: ScoreConfig = field(default_factory=ScoreConfig, metadata=IMAGE)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig, metadata=IMAGE)
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig, metadata=IMAGE)
    search: DiffSearchConfig = field(default_factory=DiffSearchConfig)
    confidence: ConfidenceConfig = field(default_factory=ConfidenceConfig, metadata=IMAGE)
    finalists: FinalistsConfig = field(default_factory=FinalistsConfig)

    # Keys renamed when the image and video search configs became one; an old one written in a recipe, flag or
    # override is a one-line error naming its new key, and stored configs of older runs are migrated on load.
    RENAMED: ClassVar[Dict[str, str]] = {
        "data.data_root": "data.root", "data.train_images": "data.train_size", "data.val_images": "data.val_size",
        "data.synthetic_train": "data.train_size", "data.synthetic_val": "data.val_size",
        "data.synthetic_alpha": "data.alpha_size", "finalists.max": "finalists.k", "device": "execution.device",
        "amp": "execution.amp", "deterministic": "execution.deterministic",
        "activation_checkpointing": "execution.activation_checkpointing",
    }

    @property
    def modality(self) -> str:
        """Return the modality of the config's space ("image" or "video")."""
        from nas.plugins import get_plugin

        return get_plugin(self.space).modality

    def check_keys(self, given: Mapping[str, Any]) -> None:
        """Raise a one-line NasError if ``given`` (recipe, flags, overrides) sets a key of another modality."""
        key = foreign_key(type(self), given, self.modality)
        if key is not None:
            raise NasError(f"config key {key!r} does not apply to {self.modality} space {self.space!r}")

    def as_dict(self) -> Dict[str, Any]:
        """Return the config as a plain dict holding only the keys of its space's modality (for config.yaml)."""
        return drop_foreign(type(self), to_dict(self), self.modality)

    def validate(self) -> None:
        """Check cross-field constraints (pure; raises NasError)."""
        from nas.utils.device import check_device_name

        check_device_name(self.execution.device)
        checks = [
            (self.resolution > 0, "resolution must be positive"),
            (self.data.proxy_resolution >= 8, "data.proxy_resolution must be at least 8"),
            (self.supernet.epochs >= 0, "supernet.epochs must be >= 0"),
            (self.evolution.population >= 2, "evolution.population must be at least 2"),
            (self.evolution.generations >= 0, "evolution.generations must be >= 0"),
            (1 <= self.evolution.parents <= self.evolution.population, "evolution.parents must be in 1..population"),
            (0 <= self.evolution.min_budget_fraction < 1, "evolution.min_budget_fraction must be in [0, 1)"),
            (self.sgld.snapshots >= 1, "sgld.snapshots must be at least 1"),
            (0 < self.supernet.width <= 1, f"supernet.width must be in (0, 1], got {self.supernet.width}"),
            (self.supernet.stem_stride in (1, 2), "supernet.stem_stride must be 1 or 2"),
            (self.supernet.sampling in ("budget", "uniform"), "supernet.sampling must be 'budget' or 'uniform'"),
            (self.evolution.sample_size >= 1, "evolution.sample_size must be at least 1"),
            (min(self.data.train_size, self.data.val_size, self.data.alpha_size) >= 1,
             "data.train_size, data.val_size and data.alpha_size must be at least 1"),
            (0.0 <= self.data.noise <= 1.0, "data.noise must be between 0 and 1"),
            (2 <= self.data.shapes <= 10, "data.shapes must be in 2..10"),
            (self.data.batch_size >= 2, f"data.batch_size must be at least 2 (BatchNorm), got {self.data.batch_size}"),
            (self.data.workers >= 0, "data.workers must be >= 0"),
            (0 < self.data.val_fraction < 1, "data.val_fraction must be in (0, 1)"),
            (self.data.search_val in ("split", "val"), "data.search_val must be split or val"),
            (0 < self.data.min_readable <= 1, "data.min_readable must be in (0, 1]"),
            (self.supernet.lr > 0, f"supernet.lr must be > 0, got {self.supernet.lr}"),
            (0 <= self.supernet.momentum < 1, "supernet.momentum must be in [0, 1)"),
            (self.supernet.weight_decay >= 0 and self.supernet.warmup_epochs >= 0,
             "supernet.weight_decay and supernet.warmup_epochs must be >= 0"),
            (0 <= self.supernet.label_smoothing < 1, "supernet.label_smoothing must be in [0, 1)"),
            (self.supernet.paths >= 1, f"supernet.paths must be at least 1, got {self.supernet.paths}"),
            (0 <= self.supernet.distill <= 1, f"supernet.distill must be in [0, 1], got {self.supernet.distill}"),
            (self.sgld.lr > 0, f"sgld.lr must be > 0, got {self.sgld.lr}"),
            (self.sgld.temperature >= 0 and self.sgld.prior_precision >= 0,
             "sgld.temperature and sgld.prior_precision must be >= 0"),
            (self.sgld.burn_in >= 0 and self.sgld.spacing >= 1, "sgld.burn_in must be >= 0 and sgld.spacing >= 1"),
            (min(self.score.bn_batches, self.score.bn_batch_size, self.score.val_images,
                 self.score.eval_batch_size) >= 1,
             "score.bn_batches, score.bn_batch_size, score.val_images and score.eval_batch_size must be >= 1"),
            (0 <= self.evolution.mutation_prob <= 1 and 0 <= self.evolution.crossover_share <= 1,
             "evolution.mutation_prob and evolution.crossover_share must be in [0, 1]"),
            (self.evolution.max_tries >= 1, "evolution.max_tries must be at least 1"),
            (self.benchmark.report in ("test_12ep", "test_200ep"), "benchmark.report must be test_12ep or test_200ep"),
            (self.search.max_queries is None or self.search.max_queries >= 1,
             f"search.max_queries must be at least 1, got {self.search.max_queries}"),
            (self.confidence.top_k >= 1, f"confidence.top_k must be at least 1, got {self.confidence.top_k}"),
            (0 < self.confidence.level < 1, "confidence.level must be in (0, 1)"),
            (self.finalists.k >= 0, f"finalists.k must be >= 0, got {self.finalists.k}"),
            (self.finalists.epochs >= 1, f"finalists.epochs must be at least 1, got {self.finalists.epochs}"),
            (self.finalists.lr > 0, f"finalists.lr must be > 0, got {self.finalists.lr}"),
            (self.finalists.init in ("supernet", "scratch"), "finalists.init must be supernet or scratch"),
            (self.finalists.batch_size >= 1, f"finalists.batch_size must be at least 1, got {self.finalists.batch_size}"),
            (self.modality == "video" or self.strategy != "differentiable" or self.finalists.k == 0,
             "finalists.k applies to the one-shot strategies; the differentiable search returns the genotype "
             "derived from alpha"),
            (self.confidence.resamples >= 2, "confidence.resamples must be at least 2"),
            (1 <= self.confidence.supernets <= 8, f"confidence.supernets must be in 1..8, got {self.confidence.supernets}"),
            (self.confidence.block is None or self.confidence.block >= 1, "confidence.block must be at least 1"),
            (self.confidence.separate_on in ("held_out", "scoring"),
             "confidence.separate_on must be held_out or scoring"),
            (self.confidence.population is None or self.confidence.population >= 3,
             "confidence.population must be at least 3 (a rank needs three members)"),
        ]
        for ok, message in checks:
            if not ok:
                raise NasError(message)
        self._validate_modality()
        self._validate_latency()
        parse_scorer(self.score.scorer)

    def _validate_modality(self) -> None:
        """Check the keys only one modality reads (the video data sources, the image finalists' held-out images)."""
        d = self.data
        if self.modality == "image":
            if self.finalists.k and self.score.val_images >= d.val_size and d.root is None:
                raise NasError("finalists.k > 0 scores on held-out images: score.val_images must be below "
                               "data.val_size")
            return
        if d.source not in ("synthetic", "list"):
            raise NasError(f"data.source must be synthetic or list, got {str(d.source)[:40]!r}")
        if d.source == "list" and not (d.root and d.train_list and d.val_list):
            raise NasError("video lists need data.root, data.train_list and data.val_list "
                           "(--data-root/--train-list/--val-list)")
        if d.frames < 1 or d.size < 8:
            raise NasError("data.frames must be >= 1 and data.size >= 8")
        if d.sampling not in ("segment", "dense"):
            raise NasError(f"data.sampling must be segment or dense, got {str(d.sampling)[:40]!r}")
        from nas.plugins import get_plugin

        get_plugin(self.space).space.target(self.resolution, self.num_classes, self.frames)  # its own limits

    def _validate_latency(self) -> None:
        """Check the latency keys: a parsable budget, and the table options only with one."""
        from nas.latency.budget import parse_latency

        if self.latency is not None:
            parse_latency(self.latency, "latency")
        elif self.lut is not None or self.lut_force or self.latency_learn:
            raise NasError("lut, lut_force and latency_learn (--lut, --lut-force, --learn) apply only with a latency "
                           "budget (--latency)")
        elif self.madds is None and self.modality == "image":  # a video search may run unconstrained
            raise NasError("a search needs a MAdds budget (madds), a latency budget (latency) or both")
        if self.latency_learn and self.lut is None:
            raise NasError("latency_learn (--learn) refines a --lut file; without one the run's own table learns anyway")
        if self.latency_threads < 1:
            raise NasError(f"latency_threads must be at least 1, got {self.latency_threads}")
        if not 1 <= self.latency_verify_k <= 100:
            raise NasError(f"latency_verify_k must be in 1..100 (the returned model is always timed), "
                           f"got {self.latency_verify_k}")
        if not 1 <= self.latency_verify_rounds <= 50:
            raise NasError(f"latency_verify_rounds must be in 1..50, got {self.latency_verify_rounds}")


def parse_scorer(value: Any) -> Tuple[str, Optional[str]]:
    """Return ``(kind, proxy name)`` of a ``score.scorer`` value (supernet, proxy:NAME, blend); else one line.

    Example:
        >>> parse_scorer("proxy:synflow")
        ('proxy', 'synflow')
    """
    text = str(value)
    if text in ("supernet", "blend"):
        return text, None
    if text.startswith("proxy:") and text[len("proxy:"):].strip():
        return "proxy", text[len("proxy:"):].strip()
    shown = repr(text) if len(text) <= 40 else repr(text[:36] + "...")
    raise NasError(f"score.scorer must be supernet, proxy:NAME or blend, got {shown}")


def search_base(space: str) -> Dict[str, Any]:
    """Return the config values a search on ``space`` starts from: its plugin's ``search_defaults`` and its name."""
    from nas.plugins import get_plugin

    return {**get_plugin(space).search_defaults, "space": space}


def search_config(space: str, *, recipe: Optional[str] = None, flags: Optional[Mapping[str, Any]] = None,
                  opts: Optional[list] = None) -> SearchConfig:
    """Build the search config of ``space``: its defaults, then the recipe, flags and ``key=value`` overrides."""
    return build_config(SearchConfig, recipe=recipe, flags=flags, opts=opts, base=search_base(space))


def load_search_config(data: Mapping[str, Any]) -> SearchConfig:
    """Return the config stored in a run folder's config.yaml (older runs' keys migrated, their defaults kept)."""
    from nas.config import from_dict, merge, migrate_renamed

    data = migrate_renamed(SearchConfig, data)
    return from_dict(SearchConfig, merge(search_base(str(data.get("space", "st_topo"))), data))

"""Config of the ST-NAS one-shot search (``nas-search --space st_topo``): every default, commented."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from nas.config import Budget, Precision
from nas.config.bilevel import DiffSearchConfig
from nas.errors import NasError

__all__ = ["DataConfig", "SupernetConfig", "SGLDConfig", "ScoreConfig", "EvolutionConfig", "BenchmarkConfig",
           "QueryConfig", "ConfidenceConfig", "FinalistsConfig", "SearchConfig"]


@dataclass(frozen=True)
class DataConfig:
    """Proxy data: the embedded shapes set, or an ImageNet-style folder."""

    root: Optional[str] = None  # ImageNet-style folder; None = the embedded procedural shapes set
    proxy_resolution: int = 32  # side of the images the supernet trains and scores on
    train_images: int = 6000  # embedded set only: training images
    val_images: int = 1000  # embedded set only: validation images
    noise: float = 0.05  # embedded set only: std of the additive Gaussian pixel noise (images in [0, 1])
    shapes: int = 5  # embedded set only: shape kinds (2..10; 2 x shapes classes); above 5 adds fine-outline shapes
    val_fraction: float = 0.1  # folders without val/: share of train held out (seeded split)
    seed: int = 0  # embedded set generator / folder split seed; fixed apart from the run seed so that runs and
    #              trials with different --seed are trained and scored on the same data
    batch_size: int = 64  # supernet training batch
    workers: int = 0  # DataLoader worker processes for folder data
    decode_at_proxy: bool = True  # folders: decode JPEGs at >= 2x proxy_resolution (libjpeg DCT scaling), not full size
    cache_scoring: bool = True  # folders: keep the decoded BN/scoring images in the run folder (score_cache.pt),
    #                             so a resumed run or a later phase does not decode them again
    search_val: str = "split"  # folders with val/: "split" scores on a seeded hold-out of train/ (val/ stays
    #                            unseen for retraining's report), "val" scores on val/ itself
    min_readable: float = 0.5  # folders: stop when a pass reads less than this share of its images


@dataclass(frozen=True)
class SupernetConfig:
    """Single-path uniform-sampling supernet training (SPOS style)."""

    width: float = 0.5  # channel multiplier of the proxy supernet (cost is always counted at width 1.0)
    stem_stride: int = 1  # 1 = CIFAR-style stem for small proxy images (cost always uses the stride-2 stem)
    sampling: str = "budget"  # "budget": paths drawn inside the search's cost window (ours); "uniform": SPOS
    epochs: int = 6  # passes over the proxy training set
    optimizer: str = "sgd"  # any name in nas.optim.OPTIMIZERS
    lr: float = 0.1  # peak learning rate, cosine-annealed per step
    momentum: float = 0.9  # SGD momentum
    weight_decay: float = 4e-5  # on conv/linear weights only (SPOS/MobileNet value)
    warmup_epochs: float = 1.5  # linear warm-up length; 0.5 let early steps blow up (seed 0: epoch-1 loss 3.1 >
    #                             ln 10, 0.51 train accuracy after 6 epochs vs 0.67 with 1.5; seeds 1, 2 gained too)
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    paths: int = 1  # sampled paths per optimizer step, their gradients averaged (1 = SPOS)
    distill: float = 0.0  # in-place distillation (after BigNAS; our reading): > 0 also trains the space's largest
    #                       path on the labels each step, and each sampled path on (1 - distill) x cross-entropy +
    #                       distill x KL to the largest's detached predictions; 0 = off. The SGLD phase stays
    #                       single-path
    sandwich: bool = False  # the sandwich rule's lower bound: also train the space's cheapest path every step,
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


@dataclass(frozen=True)
class QueryConfig(DiffSearchConfig):
    """The ``search`` section: how many candidates a window strategy may score, and (inherited, the same keys
    as the video search's) the bilevel options of ``--strategy differentiable`` on a space whose supernet has
    architecture parameters (nb201). On image spaces ``search.batch_size`` is the bilevel batch; the one-shot
    supernet trains on ``data.batch_size``."""

    max_queries: Optional[int] = None  # stop after this many scored candidates; None = the strategy's own budget


@dataclass(frozen=True)
class ConfidenceConfig:
    """The end-of-run confidence report of a one-shot search (``nas.search.confidence``)."""

    enabled: bool = True  # False = no report (and no second chain)
    top_k: int = 3  # the returned genotype and the next best, each with a bootstrap standard error
    level: float = 0.95  # confidence level of the separability test and of the chain tau interval
    resamples: int = 1000  # bootstrap draws (snapshots x scoring images resampled together)
    second_chain: bool = True  # run a second SGLD chain and report the final population's rank stability
    population: Optional[int] = None  # members of the final population re-scored under it; None = evolution.population


@dataclass(frozen=True)
class FinalistsConfig:
    """Brief proxy retraining of the top-k before the result is returned (``nas.search.finalists``)."""

    k: int = 0  # candidates of the final population retrained; 0 = off (return the supernet's best)
    epochs: int = 1  # passes over the proxy training set per finalist
    lr: float = 0.05  # peak SGD learning rate, cosine-annealed per step
    init: str = "supernet"  # "supernet": start from the trained shared weights; "scratch": a fresh seeded init


@dataclass(frozen=True)
class SearchConfig:
    """The whole st_topo search."""

    space: str = "st_topo"  # registered space name
    strategy: Optional[str] = None  # STRATEGIES name (evolution or random); None = the space's default
    madds: Optional[Budget] = 330_000_000  # hard MAdds budget at ``resolution``; recipes may write 330M, 0.5G;
    #                                          None (--latency alone): no MAdds limit
    latency: Optional[str] = None  # hard latency budget of the predicted model latency, e.g. 25ms (us, ms, s)
    lut: Optional[str] = None  # nas-profile table the latency is predicted from; None: built into the run folder
    lut_force: bool = False  # accept a table made on another device, torch version or thread count
    latency_threads: int = 1  # CPU threads the latency budget refers to (of the table built, and of the check)
    latency_device: str = "cpu"  # the device the latency budget refers to
    resolution: int = 224  # target resolution at which the budget and costs are computed
    num_classes: int = 1000  # classes of the target model the cost is computed for
    seed: int = 0  # seeds data order, path sampling, SGLD noise and evolution
    device: str = "auto"  # auto (CUDA when available), cpu, cuda or cuda:N; --device overrides it, also on resume
    amp: Precision = "auto"  # autocast of supernet steps and scoring: auto (bf16 on CUDA, off on CPU), bf16, fp16, off
    deterministic: bool = False  # CUDA: deterministic cuDNN/cuBLAS kernels (slower); CPU runs are always bitwise
    data: DataConfig = field(default_factory=DataConfig)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    sgld: SGLDConfig = field(default_factory=SGLDConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    search: QueryConfig = field(default_factory=QueryConfig)
    confidence: ConfidenceConfig = field(default_factory=ConfidenceConfig)
    finalists: FinalistsConfig = field(default_factory=FinalistsConfig)

    def validate(self) -> None:
        """Check cross-field constraints (pure; raises NasError)."""
        from nas.utils.device import check_device_name

        check_device_name(self.device)
        checks = [
            (self.resolution > 0, "resolution must be positive"),
            (self.data.proxy_resolution >= 8, "data.proxy_resolution must be at least 8"),
            (self.supernet.epochs >= 0, "supernet.epochs must be >= 0"),
            (self.evolution.population >= 2, "evolution.population must be at least 2"),
            (self.evolution.generations >= 0, "evolution.generations must be >= 0"),
            (1 <= self.evolution.parents <= self.evolution.population, "evolution.parents must be in 1..population"),
            (0 <= self.evolution.min_budget_fraction < 1, "evolution.min_budget_fraction must be in [0, 1)"),
            (self.sgld.snapshots >= 1, "sgld.snapshots must be at least 1"),
            (self.supernet.width > 0, "supernet.width must be positive"),
            (self.supernet.stem_stride in (1, 2), "supernet.stem_stride must be 1 or 2"),
            (self.supernet.sampling in ("budget", "uniform"), "supernet.sampling must be 'budget' or 'uniform'"),
            (self.evolution.sample_size >= 1, "evolution.sample_size must be at least 1"),
            (self.data.train_images >= 1 and self.data.val_images >= 1,
             "data.train_images and data.val_images must be at least 1"),
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
            (self.finalists.k == 0 or self.score.val_images < self.data.val_images or self.data.root is not None,
             "finalists.k > 0 scores on held-out images: score.val_images must be below data.val_images"),
            (self.strategy != "differentiable" or self.amp != "fp16",
             "amp fp16 does not apply to the differentiable search (its bilevel step has no grad scaler): use bf16 "
             "or off"),
            (self.strategy != "differentiable" or self.finalists.k == 0,
             "finalists.k applies to the one-shot strategies; the differentiable search returns the genotype "
             "derived from alpha"),
            (self.confidence.resamples >= 2, "confidence.resamples must be at least 2"),
            (self.confidence.population is None or self.confidence.population >= 3,
             "confidence.population must be at least 3 (a rank needs three members)"),
        ]
        for ok, message in checks:
            if not ok:
                raise NasError(message)
        self._validate_latency()

    def _validate_latency(self) -> None:
        """Check the latency keys: a parsable budget, and the table options only with one."""
        from nas.latency.budget import parse_latency

        if self.latency is not None:
            parse_latency(self.latency, "latency")
        elif self.lut is not None or self.lut_force:
            raise NasError("lut and lut_force (--lut, --lut-force) apply only with a latency budget (--latency)")
        elif self.madds is None:
            raise NasError("a search needs a MAdds budget (madds), a latency budget (latency) or both")
        if self.latency_threads < 1:
            raise NasError(f"latency_threads must be at least 1, got {self.latency_threads}")

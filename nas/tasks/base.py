"""The task contract: what a retraining task supplies to the trainer, and the ``TASKS`` registry.

Tasks are plugins: each is a ``Task`` subclass named in the ``nas.tasks`` entry point group (the bundled ones in
this project's ``setup.cfg``), registered on first use, so a package of your own adds one without touching nas
(docs/adding_a_task.md). ``register_task`` registers one in this process.
"""
from __future__ import annotations

import abc
import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from nas.errors import NasError
from nas.plugins import load_entry_points
from nas.registry import Registry

__all__ = ["Task", "Datasets", "TASKS", "register_task", "load_tasks", "get_task", "list_tasks", "resolve_task",
           "default_task_name", "model_options"]


@dataclass(frozen=True)
class Datasets:
    """A task's training and validation sets and the number of classes (outputs) they need."""

    train: Any
    val: Any
    num_classes: int


class Task(abc.ABC):
    """A retraining task: datasets, a model (backbone plus head), a loss, metrics and the primary metric.

    The trainer knows nothing task-specific: it asks the task for data and a model, trains with
    :meth:`loss`, evaluates by adding up :meth:`batch_metrics` over the validation batches (numbers are summed,
    lists of per-sample values concatenated, so a task can rank raw scores for AUC) and turning the totals
    into numbers with :meth:`finish_metrics`, and keeps ``best.pt`` on :attr:`primary` (of the EMA weights
    when there are any). Subclasses set the class attributes and implement the methods that raise here.
    """

    name: str = ""  # registry name, e.g. "classification"
    modality: Optional[str] = None  # "image" or "video": genotypes of other spaces are refused; None takes any
    primary: str = "top1"  # the metric (a key of finish_metrics; higher is better) whose best value picks best.pt
    scalars: Tuple[str, ...] = ()  # metric-row keys written to TensorBoard (besides train_loss and lr)
    default_recipe: Optional[str] = None  # the recipe nas-retrain starts from when none is given: "package:file.yaml"
    #                                       (a file shipped in a package), or a file name in this repo's recipes/retrain
    reads: Tuple[str, ...] = ()  # the task-scoped config keys (or whole sections) it reads, e.g. "forgery" or
    #                              "data.train_list"; set to another value, a key it does not read is an error

    def recipe_path(self) -> Optional[Path]:
        """Return the file ``default_recipe`` names (None without one); one that is not there is a NasError."""
        spec = self.default_recipe
        if spec is None:
            return None
        package, sep, name = spec.rpartition(":")
        if sep:
            try:
                path = Path(str(importlib.resources.files(package).joinpath(name)))
            except (ImportError, TypeError, ValueError):
                raise NasError(f"task {self.name!r}: default_recipe {spec[:120]!r} names no importable package") from None
        else:
            path = Path(__file__).resolve().parents[2] / "recipes" / "retrain" / spec
        if not path.is_file():
            raise NasError(f"task {self.name!r}: its default recipe {spec[:120]!r} is not there ({str(path)[:160]})")
        return path

    def check(self, cfg: Any, genotype: Any) -> None:
        """Raise a one-line NasError if the genotype's modality or a config value does not fit this task."""
        from nas.plugins import get_plugin

        modality = get_plugin(genotype.space).modality
        if self.modality is not None and modality != self.modality:
            article = "an" if modality[:1] in "aeiou" else "a"
            raise NasError(f"task {self.name!r} is for {self.modality} genotypes; {genotype.space} is {article} "
                           f"{modality} space (try --task {default_task_name(modality)})")
        self.check_used(cfg, genotype)

    def check_used(self, cfg: Any, genotype: Any) -> None:
        """Raise a one-line NasError for a config key set away from its default that this run would not read.

        Scoped keys (``nas.config.scoped_field``) say who reads them: ``task`` keys the tasks whose
        :attr:`reads` name them, ``video`` keys video genotypes, ``model`` keys the tasks that name them on the
        spaces whose model builder takes them (e.g. ``model.stem_stride``: st_topo only).
        """
        from nas.config import changed_keys
        from nas.plugins import get_plugin

        plugin = get_plugin(genotype.space)
        for key, scope in changed_keys(cfg):
            if scope in ("task", "model") and not _names(self.reads, key):
                readers = [n for n in list_tasks() if _names(get_task(n).reads, key)]
                where = f"read by {', '.join(readers)}" if readers else "read by no task"
                raise NasError(f"{key} is not read by task {self.name} ({where}); drop it")
            if scope == "video" and plugin.modality != "video":
                raise NasError(f"{key} is for video genotypes; {genotype.space} is an {plugin.modality} space")
            if scope == "model" and not plugin.model_accepts(key.rpartition(".")[2]):
                raise NasError(f"{key} is not an option of {genotype.space} models; drop it")

    @abc.abstractmethod
    def datasets(self, cfg: Any, genotype: Any) -> Datasets:
        """Return the training and validation sets of ``cfg``."""

    @abc.abstractmethod
    def build_model(self, genotype: Any, cfg: Any, num_classes: int) -> Any:
        """Return the ``nn.Module`` to train: the genotype's backbone with this task's head(s)."""

    @abc.abstractmethod
    def loss(self, cfg: Any) -> Callable:
        """Return the training loss ``loss(output, target) -> scalar tensor``."""

    @abc.abstractmethod
    def batch_metrics(self, output: Any, target: Any) -> Dict[str, float]:
        """Return this batch's metric sums (added up over the validation set by the trainer)."""

    @abc.abstractmethod
    def finish_metrics(self, sums: Dict[str, float], n: int) -> Dict[str, float]:
        """Turn the summed batch metrics over ``n`` samples into the row fields (``val_loss`` first)."""

    def cost(self, genotype: Any, resolution: Optional[int] = None, num_classes: Optional[int] = None,
             **options: Any) -> Any:
        """Return the exact MAdds and parameters of the model this task trains on ``genotype`` (``nas.cost``).

        The default is the space's own model (backbone and linear classifier); tasks with other heads override it.
        """
        from nas.plugins import get_plugin

        return get_plugin(genotype.space).space.cost(genotype, resolution=resolution, num_classes=num_classes,
                                                  **options)

    def describe(self, cfg: Any, genotype: Any) -> Dict[str, Any]:
        """Return how this task measures (e.g. pooling, frames per video), recorded in ``metrics.json``."""
        return {}

    def log_line(self, row: Dict[str, Any]) -> str:
        """Return the one-line summary of an epoch's metric row."""
        return " ".join(f"{k} {row[k]:.4f}" for k in ("val_loss", self.primary) if k in row)


def _names(reads: Tuple[str, ...], key: str) -> bool:
    """Return whether ``reads`` names dotted ``key`` or a section above it."""
    return any(key == r or key.startswith(r + ".") for r in reads)


def model_options(cfg: Any, genotype: Any, backbone: bool = False) -> Dict[str, Any]:
    """Return the model builder's keyword arguments of ``cfg.model`` that the genotype's space takes.

    ``model.dropout``, ``model.width`` and ``model.stem_stride`` go to the builder when it takes them
    (``dropout`` only to the whole model, not a ``backbone``); :meth:`Task.check_used` refuses one set for a
    space whose builder does not.
    """
    from nas.plugins import get_plugin

    plugin = get_plugin(genotype.space)
    m = cfg.model
    wanted = {"width": m.width, "stem_stride": m.stem_stride, **({} if backbone else {"dropout": m.dropout})}
    return {k: v for k, v in wanted.items() if v is not None and plugin.model_accepts(k)}


TASKS: Registry[Task] = Registry("task")
ENTRY_POINT_GROUP = "nas.tasks"


def register_task(cls: type) -> type:
    """Register an instance of the decorated Task subclass under its ``name`` in this process; a duplicate raises."""
    TASKS.add(cls.name, cls())
    return cls


def load_tasks() -> None:
    """Register every task advertised in the ``nas.tasks`` entry point group (once per process)."""
    load_entry_points(ENTRY_POINT_GROUP, TASKS, _adopt)


def _adopt(name: str, cls: Any) -> None:
    """Register a ``nas.tasks`` entry point's object: a Task subclass whose ``name`` is the entry point's."""
    if not (isinstance(cls, type) and issubclass(cls, Task)) or cls.name != name:
        raise NasError(f"is not a Task subclass named {name!r}")
    register_task(cls)


def get_task(name: str) -> Task:
    """Return the task registered as ``name``."""
    load_tasks()
    return TASKS.get(name)


def list_tasks(pattern: str = "*") -> List[str]:
    """Return the registered task names matching an fnmatch pattern."""
    load_tasks()
    return TASKS.list(pattern)


def default_task_name(modality: str) -> str:
    """Return the task a genotype of ``modality`` trains with when none is named."""
    return "video_classification" if modality == "video" else "classification"


def resolve_task(name: Optional[str], genotype: Any) -> Task:
    """Return task ``name`` (None: the default for the genotype's modality)."""
    from nas.plugins import get_plugin

    if name is None:
        name = default_task_name(get_plugin(genotype.space).modality)
    return get_task(name)


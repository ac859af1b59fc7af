"""The public Python API: load genotypes, build models, backbones and supernets, compute costs, list spaces and tasks.

Everything but the task-aware pieces lives in ``nas.spaces``; this module adds ``cost(..., task=)`` and
``list_tasks`` on top, and ``import nas`` re-exports it.
"""
from __future__ import annotations

from typing import Optional

from nas.core.cost import Cost
from nas.spaces import (GenotypeLike, check_genotype, create_backbone, create_model, create_supernet, get_space,
                        list_spaces, load_genotype, model_cost, save_genotype)

__all__ = ["load_genotype", "create_model", "create_backbone", "create_supernet", "cost", "check_genotype",
           "save_genotype", "get_space", "list_spaces", "list_tasks", "load_pretrained"]


def list_tasks(pattern: str = "*") -> list:
    """Return the names of the registered retraining tasks matching an fnmatch pattern."""
    from nas.tasks import list_tasks as _list

    return _list(pattern)


def load_pretrained(model, path, genotype: Optional[GenotypeLike] = None, inflate: str = "centre") -> str:
    """Load a torchvision-format 2-D state dict from file ``path`` into ``model``; return what was copied.

    ResNet-50 fits every ``pv_st`` genotype, ResNet-101 every ``pv_st_m`` one and MobileNetV2 ``st_topo``
    (exactly ``st_topo:mobilenetv2``; others where shapes allow). Nothing is downloaded. See
    :func:`nas.train.pretrained.load_pretrained` and docs/pretrained.md.
    """
    from nas.train.pretrained import load_pretrained as _load

    return _load(model, path, genotype, inflate)


def cost(genotype: GenotypeLike, resolution: Optional[int] = None, num_classes: Optional[int] = None,
         task: Optional[str] = None, **target) -> Cost:
    """Return the exact MAdds and parameter count of a genotype's standalone model, without building it.

    What is left out comes from the space's ``default_target`` (224 px and 1000 classes for the bundled spaces,
    8 frames for video). ``target`` takes ``frames`` for video spaces; any other keyword, or a bad value, is a
    one-line NasError. With ``task``, the model is the one that task trains on the genotype: a forgery task
    (``forgery_image``, ``forgery_spatial``) costs the whole detector and takes ``create_detector``'s keywords
    and defaults (``classes``, ``streams``, ``mix_at``, ``lfs_genotype``, ``fad_all_band``, ...; 64 px).

    Example:
        >>> import nas
        >>> nas.cost("st_topo:mobilenetv2").params
        3504872
        >>> nas.cost("st_topo:mobilenetv2", task="forgery_image", streams="mix", resolution=64).madds
        70161664
    """
    if task is not None:
        from nas.tasks import get_task

        return get_task(task).cost(load_genotype(genotype), resolution=resolution, num_classes=num_classes, **target)
    return model_cost(genotype, resolution=resolution, num_classes=num_classes, **target)

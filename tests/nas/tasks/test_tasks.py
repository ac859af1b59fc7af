"""The TASKS registry: the two bundled tasks, modality defaults, flags that do not apply, task-driven metrics."""
import pytest
import torch

import nas
from nas.config import from_dict
from nas.config.retrain import RetrainConfig
from nas.errors import NasError
from nas.tasks import get_task, resolve_task
from nas.train.loop import StepOptions, evaluate

TINY = nas.load_genotype(str(nas.get_space("st_topo").cheapest()))
VIDEO = nas.load_genotype("pv_st:tsn")


def _cfg(**data):
    return from_dict(RetrainConfig, {"data": data})


def test_list_tasks_has_both_bundled_tasks():
    assert {"classification", "video_classification"} <= set(nas.list_tasks())
    assert nas.list_tasks("video*") == ["video_classification"]


@pytest.mark.parametrize("g, name", [(TINY, "classification"), (VIDEO, "video_classification")])
def test_default_task_follows_the_modality(g, name):
    assert resolve_task(None, g).name == name
    resolve_task(None, g).check(_cfg(), g)


@pytest.mark.parametrize("task, g, cfg, fragment", [
    ("video_classification", TINY, {}, "is for video genotypes; st_topo is an image space"),
    ("classification", VIDEO, {}, "is for image genotypes"),
    ("classification", TINY, {"frames": 4}, "data.frames is for video genotypes; st_topo is an image space"),
    ("classification", TINY, {"train_list": "x.txt"}, "data.train_list is not read by task classification (read by "
                                                       "forgery_image, forgery_spatial, forgery_temporal, "),
    ("video_classification", VIDEO, {"root": "imgs"}, "a --data folder is for image genotypes"),
    ("video_classification", VIDEO, {"train_list": "x.txt"}, "give all of --data-root, --train-list"),
])
def test_what_does_not_fit_is_a_one_line_error(task, g, cfg, fragment):
    with pytest.raises(NasError) as err:
        get_task(task).check(_cfg(**cfg), g)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_unknown_task_names_the_known_ones():
    known = "classification, forgery_image, forgery_spatial, forgery_temporal, forgery_video, video_classification"
    with pytest.raises(NasError, match=f"unknown task .nope. .known: {known}"):
        get_task("nope")


def test_evaluate_uses_the_task_metrics():
    """A task of our own changes what evaluate computes: its loss, not cross-entropy."""
    from nas.tasks.classification import ClassificationTask

    class L1(ClassificationTask):
        name = "l1_toy"

        def batch_metrics(self, output, target):
            return {"loss": float(output.abs().sum())}

        def finish_metrics(self, sums, n):
            return {"val_loss": sums["loss"] / n}

    model = torch.nn.Linear(3, 2)
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    res = evaluate(model, [(x, y, 0)], StepOptions(device=torch.device("cpu")), L1())
    assert res["val_loss"] == pytest.approx(float(model(x).detach().abs().sum()) / 4) and "top1" not in res


@pytest.mark.parametrize("spec, fragment", [("nope.yaml", "is not there"), ("nas:nope.yaml", "is not there"),
                                            ("no_such_package_here:x.yaml", "names no importable package")])
def test_a_default_recipe_that_is_not_there_is_a_one_line_error(spec, fragment):
    task = type(get_task("classification"))()
    task.default_recipe = spec
    with pytest.raises(NasError, match=fragment):
        task.recipe_path()


def test_bundled_default_recipes_resolve():
    assert get_task("forgery_image").recipe_path().name == "forgery_image.yaml"
    assert get_task("classification").recipe_path() is None


NB201 = nas.load_genotype("nb201:nor_conv_3x3,nor_conv_3x3,none,nor_conv_1x1,avg_pool_3x3,nor_conv_3x3")


@pytest.mark.parametrize("task, g, data, fragment", [
    ("video_classification", VIDEO, {"model": {"stem_stride": 1}}, "model.stem_stride is not an option of pv_st models"),
    ("classification", NB201, {"model": {"dropout": 0.3}}, "model.dropout is not an option of nb201 models"),
    ("forgery_image", TINY, {"model": {"width": 0.5}}, "model.width is not read by task forgery_image (read by "),
    ("classification", TINY, {"video": {"sampling": "dense"}}, "video.sampling is not read by task classification "
                                                                "(read by video_classification)"),
    ("video_classification", VIDEO, {"eval": {"pool": "max"}}, "eval.pool is not read by task video_classification "
                                                                 "(read by forgery_video)"),
    ("classification", TINY, {"data": {"temporal_length": 16}}, "(read by forgery_temporal, forgery_video)"),
    ("forgery_temporal", VIDEO, {"model": {"dropout": 0.3}}, "model.dropout is not read by task forgery_temporal"),
])
def test_a_key_the_run_would_not_read_is_an_error(task, g, data, fragment):
    with pytest.raises(NasError) as err:
        get_task(task).check(from_dict(RetrainConfig, data), g)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_every_scoped_key_is_read_by_some_task():
    """No key is dead: each task- or model-scoped key of the retraining config has a bundled task that reads it."""
    import dataclasses
    import typing

    from nas.tasks.base import _names

    def leaves(cls, prefix="", scope=None):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            here = f.metadata.get("scope", scope)
            if dataclasses.is_dataclass(hints[f.name]):
                yield from leaves(hints[f.name], f"{prefix}{f.name}.", here)
            else:
                yield prefix + f.name, here

    scoped = [k for k, scope in leaves(RetrainConfig) if scope in ("task", "model")]
    assert "model.width" in scoped and "forgery.classes" in scoped
    unread = [k for k in scoped if not any(_names(get_task(n).reads, k) for n in nas.list_tasks())]
    assert unread == []


def test_an_optimizer_key_of_another_optimizer_is_an_error():
    with pytest.raises(NasError, match="optim.momentum is not read by optim.name adamw .only by sgd.; drop it"):
        from_dict(RetrainConfig, {"optim": {"name": "adamw", "momentum": 0.8}})
    from_dict(RetrainConfig, {"optim": {"name": "adamw", "beta2": 0.99}})  # its own key is fine


@pytest.mark.parametrize("task, g", [("video_classification", VIDEO), ("classification", TINY),
                                     ("classification", NB201)])
def test_model_width_builds_the_narrower_network_for_every_classifier(task, g):
    t = get_task(task)
    sizes = []
    for width in (1.0, 0.25):
        cfg = from_dict(RetrainConfig, {"model": {"width": width}})
        t.check(cfg, g)
        sizes.append(sum(p.numel() for p in t.build_model(g, cfg, 10).parameters()))
    assert sizes[1] < sizes[0] / 4


def test_top1_comes_with_the_majority_class_of_the_same_samples():
    t = get_task("classification")
    target = torch.tensor([0, 0, 0, 1, 2, 2, 3, 4, 5, 6])
    sums = t.batch_metrics(torch.nn.functional.one_hot(target, 7).float(), target)
    row = t.finish_metrics(sums, len(target))
    assert row["top1"] == 100.0 and row["majority_top1"] == 30.0
    assert row["majority_top5"] == 80.0  # classes 0 (3), 2 (2) and three of the singletons
    line = t.log_line({**row, "train_loss": 1.0})
    assert "top1 100.00 (majority class 30.00)" in line

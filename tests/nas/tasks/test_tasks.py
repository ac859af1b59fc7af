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
    ("classification", TINY, {"frames": 4}, "--frames (data.frames) is for video genotypes"),
    ("classification", TINY, {"train_list": "x.txt"}, "--train-list (data.train_list) is for video genotypes"),
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

"""Every shipped recipe loads into its typed config: a misspelt key or a bad value fails here, not in a user's run."""
import os
from pathlib import Path

import pytest

from nas.config import build_config, from_dict, load_recipe, merge, to_dict
from nas.config.retrain import RetrainConfig
from nas.config.search import SearchConfig, load_search_config, search_config
from nas.errors import NasError

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_loads_into_its_config(path):
    """build_config rejects unknown, renamed and other-modality keys and wrong types, and validates."""
    if path.parent.name == "retrain":
        assert isinstance(build_config(RetrainConfig, recipe=path), RetrainConfig)
    else:
        assert isinstance(search_config(load_recipe(path).get("space", "st_topo"), recipe=path), SearchConfig)


def _named_command(path):
    """Return ``(genotype, task)`` of the ``nas-retrain G --task T`` a recipe's header names, or None."""
    import re

    head = "".join(path.read_text().splitlines(keepends=True)[:3])
    m = re.search(r"nas-retrain (\S+) --task (\w+)", head)
    if not m:
        return None
    return ("st_topo:mobilenetv2" if m.group(1) == "GENOTYPE" else m.group(1)), m.group(2)


@pytest.mark.parametrize("path", [p for p in sorted(RECIPES.glob("retrain/*.yaml")) if _named_command(p)],
                         ids=lambda p: p.name)
def test_a_task_recipe_passes_its_task_s_checks(path):
    """A recipe written for a task sets only keys that task reads (a shipped recipe must not be a one-line error)."""
    from nas.train.retrain import prepare

    genotype, task = _named_command(path)
    prepare(build_config(RetrainConfig, recipe=path, opts=[f"task={task}"]), genotype)


def test_old_keys_are_one_line_errors_and_stored_configs_migrate(tmp_path):
    old = {"space": "pv_st", "device": "cpu", "data": {"data_root": "v", "synthetic_train": 8}, "finalists": {"max": 1}}
    (tmp_path / "r.yaml").write_text("data:\n  synthetic_train: 8\n")
    with pytest.raises(NasError, match="'data.synthetic_train' .* renamed to 'data.train_size'"):
        search_config("pv_st", recipe=tmp_path / "r.yaml")
    with pytest.raises(NasError, match="'device' .* renamed to 'execution.device'"):
        search_config("st_topo", opts=["device=cpu"])
    cfg = load_search_config(old)
    assert (cfg.execution.device, cfg.data.root, cfg.data.train_size, cfg.finalists.k) == ("cpu", os.path.abspath("v"), 8, 1)
    assert cfg.supernet.width == 0.125  # keys an older run did not store take the space's defaults


def test_keys_of_another_modality_are_refused_and_not_stored():
    with pytest.raises(NasError, match="'data.train_list' does not apply to image space 'st_topo'"):
        search_config("st_topo", opts=["data.train_list=x.csv"])
    with pytest.raises(NasError, match="'sgld' does not apply to video space 'pv_st'"):
        search_config("pv_st", opts=["sgld.snapshots=2"])
    assert "sgld" not in search_config("pv_st").as_dict() and "frames" not in search_config("st_topo").as_dict()


def test_thorough_recipe_differs_from_the_default_where_it_says():
    thorough = load_recipe(RECIPES / "search" / "st_topo_thorough.yaml")
    cfg = from_dict(SearchConfig, merge(to_dict(SearchConfig()), thorough))
    assert cfg.supernet.epochs == 2 * SearchConfig().supernet.epochs
    assert cfg.score.val_images == 1000 and cfg.data.val_size == 1600  # 600 held out for the separability test
    assert cfg.confidence.supernets == 2


def test_budgets_are_parsed_once_into_integers():
    from nas.config import build_config

    assert build_config(SearchConfig, flags={"madds": "0.5G"}).madds == 500_000_000
    assert build_config(SearchConfig, recipe=RECIPES / "search" / "st_topo_tiny.yaml").madds == 330_000_000
    assert search_config("pv_st", flags={"madds": "40G"}).madds == 40_000_000_000
    assert search_config("pv_st").madds is None
    with pytest.raises(NasError, match="bad budget '330X'"):
        build_config(SearchConfig, flags={"madds": "330X"})
    assert from_dict(SearchConfig, to_dict(SearchConfig())) == SearchConfig()  # the stored int loads back

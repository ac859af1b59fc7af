"""Every shipped recipe loads into its typed config: a misspelt key or a bad value fails here, not in a user's run."""
from pathlib import Path

import pytest

from nas.config import from_dict, load_recipe, merge, to_dict
from nas.config.retrain import RetrainConfig
from nas.config.search import SearchConfig
from nas.config.video import PvSearchConfig
from nas.errors import NasError

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def _kind(path: Path):
    if path.parent.name == "retrain":
        return RetrainConfig
    return PvSearchConfig if path.name.startswith("pv_st") else SearchConfig


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_loads_into_its_config(path):
    cls = _kind(path)  # from_dict rejects unknown keys and wrong types, and runs the config's own validation
    assert isinstance(from_dict(cls, merge(to_dict(cls()), load_recipe(path))), cls)


def test_thorough_recipe_differs_from_the_default_where_it_says():
    thorough = load_recipe(RECIPES / "search" / "st_topo_thorough.yaml")
    cfg = from_dict(SearchConfig, merge(to_dict(SearchConfig()), thorough))
    assert cfg.supernet.epochs == 2 * SearchConfig().supernet.epochs
    assert cfg.score.val_images == cfg.data.val_images == 1000


def test_budgets_are_parsed_once_into_integers():
    from nas.config import build_config

    assert build_config(SearchConfig, flags={"madds": "0.5G"}).madds == 500_000_000
    assert build_config(SearchConfig, recipe=RECIPES / "search" / "st_topo_tiny.yaml").madds == 330_000_000
    assert build_config(PvSearchConfig, flags={"madds": "40G"}).madds == 40_000_000_000
    assert build_config(PvSearchConfig).madds is None
    with pytest.raises(NasError, match="bad budget '330X'"):
        build_config(SearchConfig, flags={"madds": "330X"})
    assert from_dict(SearchConfig, to_dict(SearchConfig())) == SearchConfig()  # the stored int loads back

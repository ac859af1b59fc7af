"""st_topo finalists: brief proxy retraining of the top-k, scored on validation images the search never scored."""
from dataclasses import replace
from pathlib import Path

import pytest

import nas
from nas.config import build_config
from nas.config.search import SearchConfig
from nas.errors import NasError
from nas.search.finalists import ProxyFinalists
from nas.search.scorer import OneShotScorer

TINY = Path(__file__).resolve().parents[3] / "recipes" / "search" / "st_topo_tiny.yaml"


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    cfg = build_config(SearchConfig, recipe=TINY, opts=["data.val_size=96", "data.train_size=128",
                                                      "score.eval_batch_size=32"])
    return OneShotScorer(cfg, tmp_path_factory.mktemp("fin"))  # untrained: the supernet test trains it


def test_held_out_images_are_those_after_the_scoring_set(scorer):
    held = scorer.data.held_out_batches()
    assert sum(len(y) for _, y in held) == 96 - 64
    _, val = scorer.score_batches()
    assert sum(len(y) for _, y in val) == 64
    xs = {tuple(x[i].flatten()[:8].tolist()) for x, _ in val for i in range(len(x))}
    assert not any(tuple(x[i].flatten()[:8].tolist()) in xs for x, _ in held for i in range(len(x)))


@pytest.mark.slow  # ~40 s of CPU on 2 cores: every new path's first step builds its oneDNN kernels
@pytest.mark.parametrize("init", ["supernet", "scratch"])
def test_finalist_score_is_seeded_and_a_fraction(scorer, init):
    if init == "supernet" and not (scorer.out / "snapshots" / "trained.pt").is_file():
        scorer.train_supernet()
        scorer.sgld()
    g = nas.get_space("st_topo").default()
    train = ProxyFinalists(scorer, epochs=1, lr=0.05, init=init, seed=0)
    a, b = train(g), train(g)
    assert a == b and 0 <= a <= 1


def test_no_held_out_images_is_a_one_line_error(scorer):
    train = ProxyFinalists(scorer, epochs=1, lr=0.05, init="scratch", seed=0)
    scorer.data.val_images = 96  # the scoring set takes every validation image
    try:
        with pytest.raises(NasError, match="beyond score.val_images"):
            train.held_out()
    finally:
        scorer.data.val_images = 64


def test_config_refuses_finalists_without_held_out_images():
    with pytest.raises(NasError, match="finalists.k > 0 scores on held-out images"):
        build_config(SearchConfig, recipe=TINY, opts=["finalists.k=2"])
    with pytest.raises(NasError, match="finalists.init"):
        build_config(SearchConfig, opts=["finalists.init=nope"])
    assert replace(SearchConfig(), finalists=replace(SearchConfig().finalists, k=3)).finalists.k == 3

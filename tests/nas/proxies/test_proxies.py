import math

import numpy as np
import pytest
import torch

from nas.errors import NasError
from nas.config.search import parse_scorer
from nas.proxies import list_proxies, parse_names, score_proxies
from nas.proxies.blend import fit_blend, rank_blend, rank_share

TORCH_THREADS = 1
BUNDLED = ["grad_norm", "madds", "naswot", "params", "snip", "synflow", "zico"]
# Small networks of each space: the proxies' code is the same at any size.
SPACES = {
    "nb201": ("nb201:resnet", dict(num_classes=10, resolution=8, batch_size=4)),
    "st_topo": ("st_topo:mobilenetv2", dict(num_classes=10, resolution=32, batch_size=4,
                                            model_options={"width": 0.25})),
    "pv_st": ("pv_st:r2plus1d", dict(num_classes=10, resolution=32, frames=2, batch_size=4,
                                  model_options={"width": 0.125})),
}


def test_registry_holds_the_bundled_proxies():
    assert set(BUNDLED) <= set(list_proxies())
    assert list_proxies("*flow") == ["synflow"]


@pytest.mark.parametrize("space", sorted(SPACES))
def test_every_proxy_is_a_finite_float_on_every_space(space):
    genotype, kwargs = SPACES[space]
    scores = score_proxies(genotype, BUNDLED, **kwargs)
    assert list(scores) == BUNDLED
    assert all(isinstance(v, float) and math.isfinite(v) for v in scores.values()), scores
    assert scores["params"] > 0 and scores["madds"] > 0


def test_video_space_scores_clips_and_frames_change_madds():
    genotype, kwargs = SPACES["pv_st"]
    two = score_proxies(genotype, ["madds"], **kwargs)["madds"]
    four = score_proxies(genotype, ["madds"], **{**kwargs, "frames": 4})["madds"]
    assert four > two


def test_deterministic_for_a_seed_and_the_seed_matters():
    genotype, kwargs = SPACES["nb201"]
    names = ["naswot", "snip", "zico", "synflow", "grad_norm"]
    torch.manual_seed(123)  # the global RNG must not matter
    a = score_proxies(genotype, names, **kwargs, seed=5)
    torch.manual_seed(456)
    b = score_proxies(genotype, names, **kwargs, seed=5)
    assert a == b
    c = score_proxies(genotype, names, **kwargs, seed=6)
    assert all(a[n] != c[n] for n in names)


def test_scoring_leaves_the_callers_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    score_proxies("st_topo:mobilenetv2", ["grad_norm"], **SPACES["st_topo"][1])  # st_topo has dropout
    assert torch.equal(torch.rand(3), expected)


def test_synflow_needs_no_data():
    genotype, kwargs = SPACES["nb201"]
    x = torch.randn(4, 3, 8, 8)
    one = score_proxies(genotype, ["synflow", "naswot"], **kwargs, data=(x, torch.zeros(4, dtype=torch.long)))
    two = score_proxies(genotype, ["synflow", "naswot"], **kwargs, data=(5 * x + 1, torch.ones(4, dtype=torch.long)))
    assert one["synflow"] == two["synflow"] == score_proxies(genotype, ["synflow"], **kwargs)["synflow"]
    assert one["naswot"] != two["naswot"]  # a data-dependent proxy does see the batch


def test_a_cut_off_cell_scores_below_a_connected_one():
    kwargs = dict(num_classes=10, resolution=8, batch_size=8)
    cut = score_proxies("nb201:none,none,none,none,none,none", ["synflow", "naswot"], **kwargs)
    resnet = score_proxies("nb201:resnet", ["synflow", "naswot"], **kwargs)
    assert cut["synflow"] == -1000.0  # no flow from input to output
    assert cut["naswot"] < resnet["naswot"]


def test_unknown_proxy_is_one_line_listing_the_known():
    with pytest.raises(NasError) as err:
        score_proxies("nb201:resnet", ["synflow", "bogus"], num_classes=10, resolution=8)
    msg = str(err.value)
    assert "\n" not in msg and "'bogus'" in msg and all(n in msg for n in BUNDLED)
    with pytest.raises(NasError, match="no proxy named"):
        parse_names(" , ")
    assert parse_names("synflow, naswot") == ["synflow", "naswot"]


@pytest.mark.parametrize("data, message", [
    (torch.zeros(4, 3, 8, 8), "pair"),
    ((torch.zeros(4, 8, 8), torch.zeros(4)), "must be"),
    ((torch.zeros(4, 3, 8, 8), torch.zeros(3)), "labels must be"),
])
def test_bad_data_is_one_line(data, message):
    with pytest.raises(NasError, match=message):
        score_proxies("nb201:resnet", ["naswot"], num_classes=10, resolution=8, data=data)


def test_bad_target_and_batch_are_one_line():
    with pytest.raises(NasError):
        score_proxies("nb201:resnet", ["naswot"], num_classes=10, resolution=0)
    with pytest.raises(NasError, match="batch_size"):
        score_proxies("nb201:resnet", ["naswot"], num_classes=10, resolution=8, batch_size=1)


def test_parse_scorer():
    assert parse_scorer("supernet") == ("supernet", None)
    assert parse_scorer("blend") == ("blend", None)
    assert parse_scorer("proxy:zico") == ("proxy", "zico")
    for bad in ("proxy:", "synflow", "x" * 500):
        with pytest.raises(NasError) as err:
            parse_scorer(bad)
        assert len(str(err.value)) < 120


def test_rank_share_against_a_reference_with_ties():
    assert rank_share([2.0], [1.0, 2.0, 3.0]).tolist() == [0.5]
    assert rank_share([0.0, 9.0], [1.0, 2.0]).tolist() == [0.0, 1.0]
    assert rank_share([1.0, 1.0]).tolist() == [0.5, 0.5]


def test_rank_blend_weights_and_fit_recover_the_informative_feature():
    rng = np.random.default_rng(0)
    target = rng.normal(size=200)
    feats = {"good": target + 0.1 * rng.normal(size=200), "noise": rng.normal(size=200)}
    weights, rho = fit_blend(feats, target, step=0.25)
    assert weights == {"good": 1.0} and rho > 0.95
    only_noise = rank_blend(feats, {"noise": 2.0, "good": 0.0})
    assert np.allclose(only_noise, rank_share(feats["noise"]))
    with pytest.raises(NasError, match="no values for"):
        rank_blend(feats, {"missing": 1.0})


def test_zico_matches_its_recorded_nb201_scores():
    """ZiCo's two-pass std gives the values the torch.std version recorded (tools/bench_proxies, 1 thread; here
    bit for bit, elsewhere up to the last float32 bits of the gradients)."""
    import json
    from pathlib import Path

    raw = Path(__file__).resolve().parents[3] / "experiments" / "results" / "proxies" / "per_cell_threads" / "t1"
    rows = [json.loads(line) for line in (raw / "raw.jsonl").read_text().splitlines()[:3]]
    for r in rows:
        got = score_proxies(r["cell"], ["zico"], num_classes=10, resolution=32, batch_size=64, seed=0)["zico"]
        assert got == pytest.approx(r["scores"]["zico"], rel=1e-5), r["cell"]  # other CPUs: last float32 bits

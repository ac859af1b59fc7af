"""experiments/bench_st_topo_arms.py: arm parsing, arm configs, and the report on a hand-made cache."""
import pytest

from experiments import bench_st_topo_arms as arms
from nas.config import build_config, to_dict
from nas.config.search import SearchConfig
from nas.errors import NasError


def test_arms_parse_and_bad_ones_are_one_line_errors():
    assert arms.parse_arm("blend=blend:0,1") == ("blend", "blend", [0, 1])
    assert arms.parse_arm("syn=proxy:synflow:0,1,2") == ("syn", "proxy:synflow", [0, 1, 2])
    for bad in ("blend", "blend=blend", "x=proxy:synflow:a", "1x=blend:0", "x=nonsense:0"):
        with pytest.raises(NasError):
            arms.parse_arm(bad)


def test_an_arm_changes_only_the_scorer_and_seed():
    base = build_config(SearchConfig, opts=["space=st_topo"])
    cfg = arms.arm_config(base, "proxy:synflow", 3)
    a, b = to_dict(base), to_dict(cfg)
    assert b["score"]["scorer"] == "proxy:synflow" and b["seed"] == 3
    # proxy and blend searches make no confidence report; the arm says so in its config
    a["score"]["scorer"], a["seed"], a["confidence"]["enabled"] = "proxy:synflow", 3, False
    assert a == b
    assert arms.arm_config(base, "supernet", 1).confidence == base.confidence


def test_report_on_a_hand_made_cache(tmp_path):
    cache = arms.Arms(tmp_path, {"k": 1})
    randoms = ["r1", "r2", "r3", "r4"]
    acc = {"r1": 0.70, "r2": 0.75, "r3": 0.80, "r4": 0.85, "p0": 0.90, "p1": 0.72, "p2": 0.95}
    cache["standalone"].update({g: {"0": a} for g, a in acc.items()})
    cache["searches"]["free"] = {"0": {"genotype": "p1", "score": 1.0, "madds": 5},
                                 "1": {"genotype": "p2", "score": 1.0, "madds": 5}}
    trained = [*randoms, "p0", "p1", "p2"]
    cache["scores"]["synflow"] = {g: acc[g] for g in trained}  # a perfect ranking
    cache["scores"]["supernet_0"] = {g: -acc[g] for g in trained}  # a reversed one, under two supernets
    cache["scores"]["supernet_1"] = {g: -acc[g] for g in trained}
    cost = dict(zip(trained, [1, 2, 3, 4, 5, 6, 7])).get
    rep = arms.report(cache, {"0": {"genotype": "p0", "score": 0.5, "madds": 5}}, randoms, trained, 1, cost)
    base, free = rep["arms"]["supernet (base)"], rep["arms"]["free"]
    assert base["picks"][0]["percentile"] == 100 and base["mean_standalone"] == pytest.approx(0.90)
    assert [p["percentile"] for p in free["picks"]] == [25, 100] and free["distinct_picks"] == 2
    assert free["test_vs_supernet_arm"]["estimate"] == pytest.approx((0.72 + 0.95) / 2 - 0.90)
    assert "test_vs_supernet_arm" not in base
    assert rep["rankings"]["synflow"]["tau"]["synflow"]["tau"] == 1.0
    assert set(rep["rankings"]["supernet"]["tau"]) == {"supernet_0", "supernet_1"}
    assert rep["rankings"]["supernet"]["minus_madds"]["estimate"] < 0 < rep["rankings"]["synflow"]["minus_madds"][
        "estimate"]
    with pytest.raises(NasError, match="another base"):
        cache.save() or arms.Arms(tmp_path, {"k": 2})


def test_report_only_takes_the_truth_of_other_caches_and_keeps_it(tmp_path):
    import json

    import nas
    from nas.search.strategies.window import cost_window

    from experiments.bench_search_vs_random import draw

    cfg = build_config(SearchConfig)
    space = nas.get_space(cfg.space)
    cost_g = lambda g: space.cost(g, cfg.resolution, cfg.num_classes).madds  # noqa: E731
    lo, hi = cost_window(space, cost_g, cfg.madds, cfg.evolution.min_budget_fraction)
    r = draw(space, cost_g, lo, hi, 3, "window")
    base = tmp_path / "base.json"
    madds = lambda g: cost_g(nas.load_genotype(g))  # noqa: E731
    base.write_text(json.dumps({"key": {"config": to_dict(cfg), "randoms": 2, "standalone_epochs": 12},
                                "searches": {"0": {"genotype": r[0], "score": 0.5, "madds": madds(r[0])}},
                                "standalone": {r[0]: {"0": 0.9}, r[1]: {"0": 0.8}}}))
    work = tmp_path / "arms"
    cache = arms.Arms(work, {"base": "base.json", "config": to_dict(cfg), "arms": [["free", "proxy:synflow"]],
                             "standalone_epochs": 12})
    cache["searches"]["free"] = {"0": {"genotype": r[2], "score": 1.0, "madds": madds(r[2])}}
    cache.save()
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"key": {"standalone_epochs": 12}, "standalone": {r[2]: {"0": 0.85}}}))
    argv = [str(work), "--base", str(base), "--arm", "free=proxy:synflow:0", "--report-only", "--truth", str(other)]
    assert arms.main(argv) == 0
    rep = json.loads((work / "report.json").read_text())
    pick = rep["arms"]["free"]["picks"][0]
    assert pick["standalone"] == 0.85 and pick["percentile"] == 50  # between the two randoms
    assert json.loads((work / "cache.json").read_text())["standalone"][r[2]] == {"0": 0.85}  # kept in the cache

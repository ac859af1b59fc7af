"""experiments/bench_search_vs_random.py: percentiles, the report's taus, truth reuse, the resumable cache, a tiny run."""
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import bench_search_vs_random as bench
from nas.errors import NasError

ROOT = Path(__file__).resolve().parents[2]


def test_percentile_counts_ties_half():
    assert bench.percentile(0.9, [0.1, 0.2, 0.3, 0.4]) == 100
    assert bench.percentile(0.0, [0.1, 0.2]) == 0
    assert bench.percentile(0.2, [0.1, 0.2, 0.3, 0.4]) == pytest.approx(37.5)


def test_report_on_a_hand_made_cache(tmp_path):
    cache = bench.Cache(tmp_path, {"k": 1})
    randoms = ["r1", "r2", "r3", "r4"]
    acc = {"r1": (0.70, 0.71), "r2": (0.75, 0.74), "r3": (0.80, 0.81), "r4": (0.85, 0.86), "p0": (0.90, 0.88)}
    cache["standalone"].update({g: {"0": a, "1": b} for g, (a, b) in acc.items()})
    cache["proxy"].update({"r1": 0.1, "r2": 0.2, "r3": 0.3, "r4": 0.4, "p0": 0.5})
    cache["searches"]["0"] = {"genotype": "p0", "score": 0.5, "madds": 5}
    cost = {"r1": 4, "r2": 3, "r3": 2, "r4": 1, "p0": 5}.get
    rep = bench.report(cache, randoms, [*randoms, "p0"], [0], 2, cost)
    assert rep["picks"][0]["standalone"] == pytest.approx(0.89) and rep["picks"][0]["percentile"] == 100
    assert rep["tau_proxy_vs_standalone"]["tau"] == 1.0 and rep["tau_proxy_vs_standalone"]["n"] == 5
    assert rep["tau_madds_vs_standalone"]["tau"] == pytest.approx(-0.2)
    assert rep["tau_standalone_seed_vs_seed"] == 1.0 and rep["random_median"] == pytest.approx(0.775)
    assert "test_proxy_vs_madds_over_supernets" not in rep  # one supernet: no test over supernets
    cache.data["proxy_by_seed"] = {"1": {"r1": 0.2, "r2": 0.1, "r3": 0.3, "r4": 0.4, "p0": 0.5}}
    cache["searches"]["1"] = {"genotype": "p0", "score": 0.5, "madds": 5}
    rep = bench.report(cache, randoms, [*randoms, "p0"], [0, 1], 2, cost)
    flip = rep["test_proxy_vs_madds_over_supernets"]
    assert flip["estimate"] == pytest.approx((1.0 + 0.8) / 2 + 0.2) and flip["p"] == pytest.approx(0.25)
    assert flip["n"] == "2 supernets (one per search seed) x 5 genotypes" and flip["verdict"] == "not shown"


def test_noise_ceiling_over_every_pair_and_half_against_half(tmp_path):
    cache = bench.Cache(tmp_path, {"k": 1})
    # Seeds 0 and 1 rank a < b < c; seeds 2 and 3 rank c < b < a.
    runs = {"a": (1.0, 1.0, 3.0, 3.0), "b": (2.0, 2.0, 2.0, 2.0), "c": (3.0, 3.0, 1.0, 1.0)}
    cache["standalone"].update({g: {str(r): v for r, v in enumerate(vs)} for g, vs in runs.items()})
    nc = bench.noise_ceiling(cache, ["a", "b", "c"], 4)
    assert nc["tau_standalone_seed_vs_seed_pairs"] == [1.0, -1.0, -1.0, -1.0, -1.0, 1.0]
    assert nc["tau_standalone_seed_vs_seed"] == pytest.approx(-1 / 3)
    # Splits {0,1}|{2,3}: means (1, 2, 3) against (3, 2, 1), tau -1; {0,2}|{1,3} and {0,3}|{1,2}: all means 2, tau 0.
    assert nc["tau_standalone_half_vs_half"] == pytest.approx(-1 / 3) and nc["tau_standalone_half_vs_half_splits"] == 3
    assert "tau_standalone_half_vs_half" not in bench.noise_ceiling(cache, ["a", "b", "c"], 3)


def test_cache_refuses_other_settings_and_truth_formats(tmp_path):
    cache = bench.Cache(tmp_path, {"k": 1})
    cache["standalone"]["g"] = {"0": 0.5}
    cache.save()
    assert bench.Cache(tmp_path, {"k": 1})["standalone"] == {"g": {"0": 0.5}}
    with pytest.raises(NasError, match="other settings"):
        bench.Cache(tmp_path, {"k": 2})
    ours = tmp_path / "ours.json"
    ours.write_text(json.dumps({"key": {"standalone_epochs": 12}, "standalone": {"g": {"0": 0.5}}}))
    assert bench.earlier_truth(ours, 12, {}) == {"g": {"0": 0.5}}
    old = tmp_path / "old.json"  # python -m experiments.bench_search --json
    old.write_text(json.dumps({"standalone_epochs": 12, "standalone_archs": ["a", "b"],
                               "standalone_acc": [[0.1, 0.2], [0.3, 0.4]]}))
    assert bench.earlier_truth(old, 12, {}) == {"a": {"0": 0.1, "1": 0.3}, "b": {"0": 0.2, "1": 0.4}}
    with pytest.raises(NasError, match="trained for 12 epochs, this run for 6"):
        bench.earlier_truth(old, 6, {})


def test_random_draws_are_fixed_and_in_the_window():
    import nas

    space = nas.get_space("st_topo")
    cost = lambda g: space.cost(g).madds  # noqa: E731
    a = bench.draw(space, cost, 280_000_000, 330_000_000, 3, "window")
    assert a == bench.draw(space, cost, 280_000_000, 330_000_000, 3, "window")
    assert all(280e6 <= cost(nas.load_genotype(g)) <= 330e6 for g in a)


@pytest.mark.slow  # two tiny searches and 10 one-epoch standalone trainings: minutes on 2 cores
def test_tiny_end_to_end_then_resume_from_the_cache(tmp_path):
    cmd = [sys.executable, "-m", "experiments.bench_search_vs_random", str(tmp_path / "w"), "--recipe",
           str(ROOT / "recipes" / "search" / "st_topo_tiny.yaml"), "--seeds", "0", "1", "--randoms", "3",
           "--standalone-epochs", "1", "evolution.generations=0", "evolution.population=3"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=3000, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    rep = json.loads((tmp_path / "w" / "report.json").read_text())
    assert len(rep["picks"]) == 2 and all(0 <= p["percentile"] <= 100 for p in rep["picks"])
    assert rep["trained"] >= 4 and "tau_standalone_seed_vs_seed" in rep
    cache = (tmp_path / "w" / "cache.json").read_text()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)  # everything cached: no training
    assert again.returncode == 0 and not re.search(r"standalone seed \d+, \d+/", again.stdout)  # no training line
    assert (tmp_path / "w" / "cache.json").read_text() == cache
    # Another truth recipe in a new WORK reuses the searches and proxy scores and trains only the truth.
    other = [*cmd[:3], str(tmp_path / "w2"), *cmd[4:], "--searches", str(tmp_path / "w" / "cache.json"),
             "--standalone-ema", "0.99", "--standalone-data", "train_size=256,val_size=200"]
    res = subprocess.run(other, capture_output=True, text=True, timeout=3000, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    assert not (tmp_path / "w2" / "search-0").exists()  # no search ran
    two = json.loads((tmp_path / "w2" / "cache.json").read_text())
    assert two["key"]["standalone_recipe"]["ema"] == 0.99 and two["searches"] == json.loads(cache)["searches"]
    assert two["standalone"] != json.loads(cache)["standalone"]


def test_report_only_uses_the_seeds_every_genotype_has_and_refuses_gaps(tmp_path):
    cache = bench.Cache(tmp_path, {"k": 1})
    cache["searches"]["0"] = {"genotype": "p0", "score": 0.5, "madds": 5}
    cache["standalone"].update({"r1": {"0": 0.7, "1": 0.71}, "p0": {"0": 0.9}})
    with pytest.raises(NasError, match="proxy scores"):
        bench.seeds_done(cache, ["r1", "p0"], [0])
    cache["proxy"].update({"r1": 0.1, "p0": 0.5})
    assert bench.seeds_done(cache, ["r1", "p0"], [0]) == 1
    cache["standalone"]["p0"].update({"1": 0.9, "3": 0.9})  # seed 2 missing (another shard's): seeds 0, 1 count
    cache["standalone"]["r1"].update({"2": 0.7, "3": 0.7})
    assert bench.seeds_done(cache, ["r1", "p0"], [0]) == 2
    with pytest.raises(NasError, match="no search for seed 1"):
        bench.seeds_done(cache, ["r1", "p0"], [0, 1])
    with pytest.raises(NasError, match="1 of 3 genotypes have no standalone result"):
        bench.seeds_done(cache, ["r1", "p0", "r2"], [0])


def test_report_only_without_a_cache_is_one_line(tmp_path, capsys):
    assert bench.main([str(tmp_path / "none"), "--report-only"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no cache.json" in err[0] and not (tmp_path / "none").exists()


def test_truth_is_reread_before_each_training(tmp_path):
    other = tmp_path / "other.json"  # the cache of a benchmark running beside this one
    cache = bench.Cache(tmp_path / "w", {"k": 1})
    (tmp_path / "w").mkdir()
    other.write_text(json.dumps({"key": {"standalone_epochs": 12}, "standalone": {"a": {"0": 0.5}, "b": {"0": 0.6}}}))
    bench.train_truth(None, ["a", "b"], 12, 1, cache, len, lambda: bench.take_truth(cache, other, 12, {}))
    assert cache["standalone"] == {"a": {"0": 0.5}, "b": {"0": 0.6}}  # nothing trained (no scorer was needed)


def test_a_truth_recipe_is_part_of_the_key_and_only_its_own_truth_is_reused(tmp_path):
    args = bench.parse(["w", "--standalone-ema", "0.998", "--standalone-data", "train_size=24000, val_size=5000"])
    recipe = bench.standalone_recipe(args)
    assert recipe == {"ema": 0.998, "data": ["data.train_size=24000", "data.val_size=5000"]}
    assert bench.standalone_recipe(bench.parse(["w"])) == {}  # the default recipe: caches of earlier stops match
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"key": {"standalone_epochs": 12}, "standalone": {"g": {"0": 0.5}}}))
    assert bench.earlier_truth(plain, 12, {}) == {"g": {"0": 0.5}}
    with pytest.raises(NasError, match="another standalone recipe"):
        bench.earlier_truth(plain, 12, recipe)
    with pytest.raises(NasError, match="key=value"):
        bench.standalone_recipe(bench.parse(["w", "--standalone-data", "train_images"]))
    with pytest.raises(NasError, match=r"\[0, 1\)"):
        bench.parse(["w", "--standalone-ema", "1.5"])


def test_truth_data_builds_a_larger_embedded_set_for_the_standalone_runs_only():
    from nas.config.search import SearchConfig

    cfg = SearchConfig()
    assert bench.truth_data(cfg, {}) is None
    data = bench.truth_data(cfg, {"data": ["data.train_size=640", "data.val_size=300"]})
    assert len(data.train) == 640 and len(data.val) == 300 and cfg.data.train_size == 6000


def test_searches_are_reused_only_from_the_same_search_config(tmp_path):
    earlier = tmp_path / "earlier.json"
    config = lambda seed: bench.to_dict(bench.build_config(bench.SearchConfig, opts=[f"seed={seed}"]))  # noqa: E731
    earlier.write_text(json.dumps({"key": {"config": config(0)}, "searches": {"0": {"genotype": "p0"}},
                                   "proxy": {"p0": 0.5}, "standalone": {"p0": {"0": 0.9}}}))
    cache = bench.Cache(tmp_path / "w", {"k": 1})
    (tmp_path / "w").mkdir()
    bench.take_searches(cache, earlier, config(0))
    assert cache["searches"] == {"0": {"genotype": "p0"}} and cache["proxy"] == {"p0": 0.5}
    assert cache["standalone"] == {}  # the truth is not taken: it may come from another recipe
    with pytest.raises(NasError, match="another config"):
        bench.take_searches(cache, earlier, config(1))
    (tmp_path / "torn.json").write_text('{"key": ')
    with pytest.raises(NasError, match="cannot read it"):
        bench.take_searches(cache, tmp_path / "torn.json", config(0))


@pytest.mark.slow  # 10 s of training for a research script; the product's EMA and seeding are tested in tests/nas/train
def test_standalone_training_with_and_without_ema_is_seeded():
    from types import SimpleNamespace

    from experiments.bench_search import standalone_accuracy

    import nas
    from nas.config.search import SearchConfig

    cfg = SearchConfig()
    data = bench.truth_data(cfg, {"data": ["data.train_size=192", "data.val_size=64"]})
    s = SimpleNamespace(cfg=cfg, data=None)
    g = nas.get_space("st_topo").parse(bench.draw(nas.get_space("st_topo"), lambda g: 0, 0, 1, 1, "t")[0])
    plain = standalone_accuracy(s, g, 1, seed=3, data=data)
    assert standalone_accuracy(s, g, 1, seed=3, data=data) == plain  # seeded
    averaged = standalone_accuracy(s, g, 1, seed=3, ema=0.9, data=data)
    assert 0.0 <= averaged <= 1.0 and standalone_accuracy(s, g, 1, seed=3, ema=0.9, data=data) == averaged


def test_seed_variance_splits_seed_noise_from_architecture_differences():
    exact = bench.seed_variance([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    assert exact["seed_sd"] == 0 and exact["arch_sd"] == pytest.approx(0.1)
    assert exact["tau_expected_one_seed"] == pytest.approx(1.0) and exact["seeds_for_tau_0.5"] == 1
    noise = bench.seed_variance([[0.1, 0.3, 0.2], [0.3, 0.1, 0.2]])  # the seeds disagree, the means are equal
    assert noise["arch_sd"] == 0 and noise["seeds_for_tau_0.5"] is None and noise["seed_sd"] > 0
    # Seed variance 0.5, means' variance 2/3, of which 0.5 / 2 is seed noise: architecture variance 5/12.
    mixed = bench.seed_variance([[0.0, 2.0, 1.0, 3.0], [1.0, 1.0, 2.0, 2.0]])
    assert mixed["seed_sd"] == pytest.approx(0.5 ** 0.5) and mixed["arch_sd"] == pytest.approx((5 / 12) ** 0.5)
    rho = (5 / 12) / (5 / 12 + 0.5)
    assert mixed["tau_expected_one_seed"] == pytest.approx(2 / math.pi * math.asin(rho))
    assert mixed["seeds_for_tau_0.5"] == 3  # two-seed means: rho 0.625, tau 0.43; three: rho 0.71, tau 0.51


def test_a_bad_truth_data_override_is_one_line_before_any_work(tmp_path, capsys):
    assert bench.main([str(tmp_path / "w"), "--standalone-data", "no_such_key=1"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_key" in err[0] and not (tmp_path / "w").exists()


def test_shards_split_the_standalone_items_and_bad_shards_are_refused(tmp_path, monkeypatch):
    from experiments import bench_search

    trained = []
    monkeypatch.setattr(bench_search, "standalone_accuracy",
                        lambda s, g, epochs, seed, ema=0.0, data=None: trained.append(seed) or 0.5)
    monkeypatch.setattr(bench.nas, "load_genotype", lambda g: g)
    seen = []
    for k in range(2):
        cache = bench.Cache(tmp_path / f"w{k}", {"k": 1})
        (tmp_path / f"w{k}").mkdir()
        bench.train_truth(None, ["a", "b", "c"], 12, 2, cache, len, shard=(k, 2))
        seen.append({(g, r) for g, accs in cache["standalone"].items() for r in accs})
    assert not seen[0] & seen[1] and len(seen[0] | seen[1]) == 6 and len(trained) == 6  # disjoint, complete
    assert bench.parse(["w", "--shard", "1/2"]).shard == (1, 2) and bench.parse(["w"]).shard == (0, 1)
    for bad in ("2/2", "1", "a/b", "-1/2", "1/" + "9" * 100):
        with pytest.raises(NasError, match="--shard takes K/N"):
            bench.parse(["w", f"--shard={bad}"])


def test_caches_written_before_a_new_config_key_still_match(tmp_path):
    """A cache whose config lacks a key added later (data.noise) is read with that key at its default."""
    cfg = bench.to_dict(bench.build_config(bench.SearchConfig, opts=[]))
    old = json.loads(json.dumps(cfg))
    del old["data"]["noise"]
    (tmp_path / "cache.json").write_text(json.dumps({"key": {"config": old, "randoms": 8}, "searches": {"0": {}}}))
    assert bench.Cache(tmp_path, {"config": cfg, "randoms": 8})["searches"] == {"0": {}}
    other = json.loads(json.dumps(old))
    other["data"]["train_size"] = 7
    (tmp_path / "cache.json").write_text(json.dumps({"key": {"config": other, "randoms": 8}}))
    with pytest.raises(NasError, match="other settings"):
        bench.Cache(tmp_path, {"config": cfg, "randoms": 8})

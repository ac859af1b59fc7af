"""nas-search on nb201 with the tabular benchmark: look-up scoring, the honest protocol, budgets, bad input."""
import json
import random

import pytest

import nas
from nas.cli.search import main
from nas.config import build_config
from nas.config.search import SearchConfig
from nas.search.scorer import TabularScorer
from nas.search.strategies import create_strategy, list_strategies, strategy_kwargs
from nas.search.strategies.window import History

PLUGIN = nas.get_plugin("nb201")
WINDOW = [n for n in list_strategies() if n != "differentiable"]

TORCH_THREADS = 1  # a shared 2-core machine: spinning OpenMP threads slow small nets down 10x (tests/conftest.py)


def _cfg(*opts):
    return build_config(SearchConfig, flags={"space": "nb201"}, opts=["benchmark.name=cifar10", *opts],
                        base=PLUGIN.search_defaults)


def test_a_latency_budget_on_nb201_uses_its_table(tmp_path, capsys):
    from nas.cli.profile import main as profile
    from nas.latency.table import load_table, predict_latency

    lut = tmp_path / "nb201.json"
    assert profile(["--space", "nb201", "--out", str(lut), "--reps", "3", "--warmup", "1", "--clock", "cpu"]) == 0
    table = load_table(lut)
    budget = table.overhead_ms + 0.5 * (predict_latency(nas.get_space("nb201").largest(), table) - table.overhead_ms)
    out = tmp_path / "run"
    rc = main(["--space", "nb201", "--benchmark", "cifar10", "--strategy", "random", "--latency", f"{budget:.3f}ms",
               "--lut", str(lut), "--out", str(out), "search.max_queries=30"])
    assert rc == 0, capsys.readouterr().err
    assert predict_latency(nas.load_genotype(out), table) <= budget


def test_tabular_search_reports_queries_validation_and_test(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["--space", "nb201", "--benchmark", "cifar10", "--strategy", "regularized_evolution", "--out", str(out),
               "search.max_queries=60", "benchmark.report=test_200ep"])
    assert rc == 0, capsys.readouterr().err
    s = json.loads((out / "summary.json").read_text())
    table = TabularScorer.for_config(PLUGIN, _cfg("benchmark.report=test_200ep").benchmark).table
    g = nas.load_genotype(out)
    assert s["queries"] == 60 and s["evaluated"] == 60
    assert s["best_valid"] == table.value(g, "c10_valid_12ep") == pytest.approx(100 * s["score"])
    assert s["test"] == table.value(g, "c10_test_200ep_analog")
    assert s["benchmark"]["test_column"] == "c10_test_200ep_analog"
    assert not (out / "supernet.pt").exists()  # nothing was trained
    # The strategy's scores are the validation column only: every round's best is a validation value.
    rows = [json.loads(line) for line in (out / "search.jsonl").read_text().splitlines()]
    assert all(r["score"] * 100 in table.column("c10_valid_12ep").values() for r in rows)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out / "tb"))
    acc.Reload()
    best = acc.Scalars("benchmark/best_valid")
    assert best[-1].step == 60 and best[-1].value == pytest.approx(s["best_valid"], abs=1e-3)
    assert [e.value for e in best] == sorted(e.value for e in best)
    assert acc.Scalars("benchmark/test_of_returned")[-1].value == pytest.approx(s["test"], abs=1e-3)


def test_madds_budget_applies_through_the_cost_model(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["--space", "nb201", "--benchmark", "cifar10", "--strategy", "local_search", "--madds", "60M",
               "--out", str(out), "search.max_queries=80"])
    assert rc == 0, capsys.readouterr().err
    s = json.loads((out / "summary.json").read_text())
    assert s["madds"] <= 60e6 and s["budget"] == 60_000_000
    assert all(json.loads(r)["madds"] <= 60e6 for r in (out / "search.jsonl").read_text().splitlines())


@pytest.mark.parametrize("args, fragment", [
    (["--space", "st_topo", "--benchmark", "cifar10"], "space 'st_topo' has none"),
    (["--space", "nb201", "--benchmark", "mnist"], "unknown benchmark 'mnist'"),
    (["--space", "nb201", "--benchmark", "cifar10", "benchmark.table=/no/such.csv"], "benchmark table not found"),
    (["--space", "nb201", "--benchmark", "cifar10", "benchmark.table=README.md"], "malformed benchmark table"),
    (["--space", "nb201", "--benchmark", "cifar10", "search.max_queries=0"], "search.max_queries must be at least 1"),
    (["--space", "nb201", "--benchmark", "cifar100", "benchmark.report=test_200ep"], "not available for cifar100"),
    (["--space", "nb201", "--benchmark", "cifar10", "--madds", "1M"], "infeasible budget"),
])
def test_bad_input_one_line(args, fragment, tmp_path, capsys):
    rc = main([*args, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and fragment in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("name", WINDOW)
def test_a_shorter_run_is_a_prefix_of_a_longer_one(name):
    # experiments/bench_strategies.py reads the result at q queries off one longer run; this is why that is exact.
    space, scorer = PLUGIN.space, TabularScorer.for_config(PLUGIN, _cfg().benchmark)
    runs = {}
    for q in (37, 90):
        cfg = _cfg(f"search.max_queries={q}")
        s = create_strategy(name, space=space, cost_fn=lambda g: space.cost(g).madds, lo=0, hi=10**9,
                            rng=random.Random(3), **strategy_kwargs(name, cfg))
        asked = []
        while not s.done:
            batch = s.ask()
            asked += [(g, r[0]) for g, r in zip(batch, scorer(batch))]
            s.tell(asked[len(asked) - len(batch):])
        runs[q] = (asked, s.result()[0])
    assert len(runs[37][0]) == 37 and len(runs[90][0]) == 90
    assert runs[37][0] == runs[90][0][:37]
    h = History(space, lambda g: space.cost(g).madds, 10**9)
    for g, v in runs[90][0][:37]:
        h.add(g, v)
    assert h.top(1)[0].genotype == runs[37][1]


def test_st_topo_strategy_kwargs_are_unchanged():
    cfg = SearchConfig()
    assert strategy_kwargs("evolution", cfg) == {"population": 16, "generations": 6, "parents": 6,
                                                 "mutation_prob": 0.1, "crossover_share": 0.5, "max_tries": 200,
                                                 "max_queries": None}
    assert strategy_kwargs("random", cfg) == {"population": 16, "generations": 6, "max_tries": 200,
                                              "max_queries": None}


@pytest.mark.slow
def test_trials_run_seeds_on_ray_tune(tmp_path, capsys):
    # Ray Tune starts a local cluster: about a minute on two shared cores, hence slow-marked.
    out = tmp_path / "trials"
    rc = main(["--space", "nb201", "--benchmark", "cifar10", "--strategy", "random", "--trials", "2", "--out",
               str(out), "search.max_queries=20", "benchmark.report=test_200ep"])
    assert rc == 0, capsys.readouterr().err
    s = json.loads((out / "summary.json").read_text())
    assert s["finished"] == s["total"] == 2 and sorted(r["seed"] for r in s["trials"]) == [0, 1]
    table = TabularScorer.for_config(PLUGIN, _cfg().benchmark).table
    for r in s["trials"]:
        g = nas.load_genotype(r["genotype"])
        assert r["queries"] == 20 and r["test"] == table.value(g, "c10_test_200ep_analog")


@pytest.mark.slow
def test_one_shot_runs_on_nb201(tmp_path, capsys):
    # The one-shot family (SPOS supernet + SGLD snapshots) on the embedded set: that it runs, not a ranking.
    import yaml

    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump({
        "space": "nb201", "data": {"proxy_resolution": 8, "train_size": 64, "val_size": 32, "batch_size": 32},
        "supernet": {"width": 0.25, "epochs": 1}, "sgld": {"burn_in": 1, "snapshots": 2, "spacing": 1},
        "score": {"bn_batches": 1, "bn_batch_size": 16, "val_images": 32, "eval_batch_size": 32},
        "evolution": {"population": 2, "generations": 1, "parents": 1}}))
    out = tmp_path / "run"
    assert main(["--recipe", str(recipe), "--out", str(out)]) == 0, capsys.readouterr().err
    s = json.loads((out / "summary.json").read_text())
    assert s["space"] == "nb201" and s["evaluated"] == 4 and 0 <= s["score"] <= 1
    assert PLUGIN.space.contains(nas.load_genotype(out)) is None and (out / "supernet.pt").is_file()


def test_the_league_counts_distinct_cells_and_reports_the_reference_counting_beside():
    """Regularized evolution asks for seen cells again: at q distinct cells it has made more than q queries."""
    from experiments import bench_strategies as league

    league.QUERIES[:] = [20, 40]
    try:
        cfg = league.config(league.REPEATS * 40, None)
        scorer = TabularScorer.for_config(PLUGIN, cfg.benchmark)
        rea = league.run_one("regularized_evolution", cfg, scorer, seed=0)
        rnd = league.run_one("random", cfg, scorer, seed=0)
    finally:
        league.QUERIES[:] = [50, 100, 200, 500]
    assert set(rea) == {"distinct", "queries"} and len(rea["distinct"]) == 2
    assert rnd["distinct"] == rnd["queries"]  # random never repeats a cell
    valid = scorer.table.column(scorer.valid)
    # more queries than cells for REA: its best-by-validation after 40 distinct is at least as good as after 40 queries
    assert valid[rea["distinct"][1]] >= valid[rea["queries"][1]]

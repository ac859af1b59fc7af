"""docs/adding_a_strategy.md's package, taken from the page itself, found without pip and run by nas-search."""
import json
import textwrap
from pathlib import Path

import pytest

import nas

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "adding_a_strategy.md"
TINY = ROOT / "recipes" / "search" / "st_topo_tiny.yaml"


@pytest.fixture
def env(install_doc):
    """Return an environment in which the page's package is installed-looking."""
    files, environ = install_doc(DOC)
    assert files == ["my_nas_strategy/coordinate.py", "setup.cfg"]
    return environ


def test_the_strategy_is_listed_and_keeps_the_contract(env, run_python):
    code = textwrap.dedent("""
        import copy, random
        import nas
        from nas.search.strategies import Strategy, create_strategy
        assert "coordinate_descent" in nas.list_strategies(), nas.list_strategies()
        space = nas.get_space("st_topo")
        cost = lambda g: nas.cost(g).madds
        make = lambda: create_strategy("coordinate_descent", space=space, cost_fn=cost, lo=250_000_000,
                                       hi=330_000_000, population=4, generations=3, rng=random.Random(0))
        score = lambda g: sum(space.dims()[d].index(v) for d, v in g.as_dict().items()) / 100
        whole, half = make(), make()
        assert isinstance(whole, Strategy) and whole.families == ("one_shot", "tabular")
        while not whole.done:
            batch = whole.ask()
            assert batch and all(250_000_000 <= cost(g) <= 330_000_000 for g in batch)
            whole.tell([(g, score(g)) for g in batch])
        for _ in range(2):
            half.tell([(g, score(g)) for g in half.ask()])
        again = make()
        again.load_state_dict(copy.deepcopy(half.state_dict()))
        while not again.done:
            again.tell([(g, score(g)) for g in again.ask()])
        assert again.result() == whole.result() and whole.best().score > 0
        print("ok", whole.info)
    """)
    out = run_python(env, "-c", code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ok {'generation': 3, 'dimension':")


def test_nas_search_runs_the_strategy(env, tmp_path, run_python):
    out = tmp_path / "run"
    res = run_python(env, "-m", "nas.cli.search", "--space", "st_topo", "--strategy", "coordinate_descent",
               "--recipe", TINY, "--out", out, "evolution.population=3", "evolution.generations=2")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "coordinate_descent" and summary["madds"] <= 330_000_000
    rows = [json.loads(line) for line in (out / "search.jsonl").read_text().splitlines()]
    dims = list(nas.get_space("st_topo").dims())
    assert [r["dimension"] for r in rows] == dims[:3]  # the column only this strategy writes, one per round
    assert json.loads((out / "meta.json").read_text())["strategy"] == "coordinate_descent"


def test_nas_search_scores_the_strategy_by_table_look_up(env, tmp_path, run_python):
    out = tmp_path / "nb201"
    res = run_python(env, "-m", "nas.cli.search", "--space", "nb201", "--benchmark", "cifar10", "--strategy",
               "coordinate_descent", "--out", out, "evolution.population=6", "evolution.generations=6")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "coordinate_descent" and summary["queries"] <= 42
    assert summary["best_valid"] > 0 and summary["benchmark"]["name"] == "cifar10"

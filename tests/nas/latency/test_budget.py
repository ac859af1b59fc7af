"""Latency budgets: parsing, the combined MAdds/latency cost, and the never-over-budget guarantee of the strategies."""
import random

import pytest

import nas
from nas.errors import NasError
from nas.latency.budget import PPM, LimitCost, fastest, parse_latency
from nas.latency.table import LatencyTable, predict_latency
from nas.config.search import EvolutionConfig, SearchConfig
from nas.search.strategies import create_strategy, strategy_kwargs


@pytest.mark.parametrize("text, ms", [("25ms", 25.0), ("0.5s", 500.0), ("800us", 0.8), (" 3 ms", 3.0), (7, 7.0)])
def test_parse(text, ms):
    assert parse_latency(text) == pytest.approx(ms)


@pytest.mark.parametrize("text", ["25xs", "25", "-1ms", "ms", "1e3ms", "x" * 300])
def test_parse_bad_is_one_bounded_line(text):
    with pytest.raises(NasError) as info:
        parse_latency(text)
    assert "\n" not in str(info.value) and len(str(info.value)) < 120


def _table():
    """A table whose entries grow with each block's MAdds plus a per-op constant: latency ranks differ from MAdds."""
    s = nas.get_space("st_topo")
    t = s.target(resolution=224)
    entries = {}
    for k in s.block_configs(t):
        op = k.split("|")[0]
        entries[k] = 0.02 + (0.3 if op.startswith("k7") else 0.0) + (0.05 if op == "add" else 0.0)
    return LatencyTable("st_topo", {"resolution": 224, "num_classes": 1000, "frames": None},
                        {"device": "d", "torch": "t", "threads": 1, "batch": 1}, 1.0, entries)


def _limit(latency_ms, madds=None):
    space = nas.get_space("st_topo")
    table = _table()
    return space, LimitCost(lambda g: space.cost_at(g, space.default_target).madds,
                            lambda g: predict_latency(g, table, space), madds, latency_ms)


@pytest.mark.parametrize("name, madds", [("evolution", None), ("evolution", 300_000_000), ("random", 300_000_000),
                                         ("regularized_evolution", None)])
def test_strategies_never_exceed_either_limit(name, madds):
    space, cost = _limit(4.0, madds)
    lo, hi = cost.window(space, 0.85)
    assert hi == PPM and lo <= hi
    cfg = SearchConfig(evolution=EvolutionConfig(population=5, generations=2, parents=3, sample_size=3))
    s = create_strategy(name, space=space, cost_fn=cost, lo=lo, hi=hi, rng=random.Random(0),
                        **strategy_kwargs(name, cfg))
    rng = random.Random(1)
    seen = 0
    while not s.done:
        batch = s.ask()
        for g in batch:
            assert cost.latency_fn(g) <= 4.0
            assert madds is None or cost.madds_fn(g) <= madds
            assert cost(g) >= lo  # the window's lower edge: at least 85% of the tighter limit
        s.tell([(g, rng.random()) for g in batch])
        seen += len(batch)
    assert seen >= 5


def test_below_the_fastest_member_is_refused():
    space, cost = _limit(0.5)
    quick = fastest(space, cost.latency_fn)
    assert cost.latency_fn(quick) <= cost.latency_fn(space.cheapest())
    with pytest.raises(NasError, match="infeasible latency budget: 0.5 ms is below the fastest member"):
        cost.window(space, 0.85)
    _, both = _limit(4.0, 1_000)
    with pytest.raises(NasError, match="infeasible budget"):
        both.window(space, 0.85)

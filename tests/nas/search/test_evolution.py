import random

import pytest

import nas
from nas.core.space import Space
from nas.search.strategies.evolution import Evolution
from nas.search.strategies.window import cost_window


class Toy(Space):
    """Eight digits; cost = sum of digits, score = number of 7s minus distance from the budget."""

    name = "toy"

    def dims(self):
        return {f"d{i}": tuple(str(v) for v in range(10)) for i in range(8)}

    def cheapest(self):
        return self.freeze({d: "0" for d in self.dims()})

    def largest(self):
        return self.freeze({d: "9" for d in self.dims()})


def _cost(g):
    return sum(int(v) for v in g.values)


def _score(g):
    return sum(v == "7" for v in g.values) - 0.01 * abs(35 - _cost(g))


def _run(evo, generations):
    for _ in range(generations + 1):
        batch = evo.ask()
        assert all(evo.lo <= _cost(g) <= evo.hi for g in batch)
        assert len({str(g) for g in batch}) == len(batch)
        evo.tell([(g, _score(g)) for g in batch])
    return evo.best()


def test_toy_space_reaches_known_optimum():
    space = Toy()
    lo, hi = cost_window(space, _cost, 56, 0.5)
    evo = Evolution(space, _cost, lo=lo, hi=hi, population=20, parents=5, mutation_prob=0.15, rng=random.Random(0))
    best = _run(evo, 60)
    # Eight 7s cost 56, exactly the budget; the optimum is unique.
    assert best.genotype.values == ("7",) * 8
    assert best.madds <= 56


def test_never_over_budget_and_window_respected():
    space = nas.get_space("st_topo")
    cost = lambda g: nas.cost(g).madds  # noqa: E731
    lo, hi = cost_window(space, cost, 330_000_000, 0.85)
    evo = Evolution(space, cost, lo=lo, hi=hi, population=8, parents=3, rng=random.Random(1))
    for _ in range(3):
        batch = evo.ask()
        assert all(lo <= cost(g) <= hi for g in batch)
        evo.tell([(g, random.random()) for g in batch])
    assert 0.85 * 330e6 <= evo.best().madds <= 330e6


def test_infeasible_budget_is_one_line_error():
    space = nas.get_space("st_topo")
    with pytest.raises(nas.NasError, match="infeasible budget.*cheapest"):
        cost_window(space, lambda g: nas.cost(g).madds, 50_000_000, 0.85)


def test_state_dict_resume_is_identical():
    space = Toy()

    def make():
        return Evolution(space, _cost, lo=20, hi=56, population=6, parents=2, rng=random.Random(7))

    a = make()
    for _ in range(2):
        a.tell([(g, _score(g)) for g in a.ask()])
    b = make()
    b.load_state_dict(__import__("json").loads(__import__("json").dumps(a.state_dict())))
    assert [str(g) for g in a.ask()] == [str(g) for g in b.ask()]

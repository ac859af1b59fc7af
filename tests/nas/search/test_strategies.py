"""Every registered strategy on a toy space with a known optimum, plus resume and the shared contract."""
import copy
import random

import pytest
import torch

import nas
from nas.core.space import Space
from nas.search.strategies import STRATEGIES, Strategy, create_strategy, list_strategies

OPTIMUM = {"a": "2", "b": "3", "c": "1"}


class Toy(Space):
    """Three digits 0-4; cost = their sum; the best member is 2, 3, 1 (cost 6, inside the window)."""

    name = "toy3"

    def dims(self):
        return {d: tuple(str(v) for v in range(5)) for d in "abc"}

    def cheapest(self):
        return self.freeze({d: "0" for d in self.dims()})

    def largest(self):
        return self.freeze({d: "4" for d in self.dims()})


SPACE = Toy()


def cost(g):
    return sum(int(v) for v in g.values)


def score(g):
    """Return a fraction: 1 at the optimum, less the further each digit is from it."""
    d = g.as_dict()
    return 1.0 - sum(abs(int(d[k]) - int(v)) for k, v in OPTIMUM.items()) / 12


class ToyTrainer:
    """A stand-in for the bilevel trainer: each epoch moves alpha towards the optimum by gradient steps."""

    def __init__(self):
        self.alpha = torch.zeros(3, 5, requires_grad=True)
        self.opt = torch.optim.SGD([self.alpha], lr=0.5)
        self.target = torch.tensor([int(OPTIMUM[k]) for k in "abc"])

    def train_epoch(self, epoch, tau, update_alpha, on_step, on_cycle_end):
        for _ in range(3):
            loss = torch.nn.functional.cross_entropy(self.alpha / tau, self.target)
            self.opt.zero_grad()
            loss.backward()
            if update_alpha:
                self.opt.step()
            on_step(loss.item())
        on_cycle_end(self.argmax())
        return {"loss_w": loss.item()}, 0

    def argmax(self):
        return SPACE.freeze({k: str(int(i)) for k, i in zip("abc", self.alpha.argmax(-1))})

    def derive(self):
        return self.argmax()

    def cost_of(self, g):
        return nas.Cost(madds=cost(g), params=0)

    def state_dict(self):
        return {"alpha": self.alpha.detach().clone(), "opt": copy.deepcopy(self.opt.state_dict())}

    def load_state_dict(self, st):
        with torch.no_grad():
            self.alpha.copy_(st["alpha"])
        self.opt.load_state_dict(st["opt"])


def make(name, seed=0):
    if name == "differentiable":  # the bilevel family's rounds train the toy alpha and tell the strategy
        from nas.search.families.bilevel import BilevelRounds

        s = create_strategy(name, space=SPACE, cost_fn=lambda g: nas.Cost(madds=cost(g), params=0), epochs=6,
                            tau_max=1.0, tau_min=0.5)
        s.rounds = BilevelRounds(ToyTrainer(), s)
        return s
    if name == "evolution":  # 42 of the 105 members in the window
        return create_strategy(name, space=SPACE, cost_fn=cost, lo=3, hi=9, population=6, generations=6,
                               parents=3, rng=random.Random(seed))
    if name == "regularized_evolution":
        return create_strategy(name, space=SPACE, cost_fn=cost, lo=3, hi=9, population=6, sample_size=3,
                               max_queries=60, rng=random.Random(seed))
    if name == "local_search":
        return create_strategy(name, space=SPACE, cost_fn=cost, lo=3, hi=9, population=4, max_queries=40,
                               rng=random.Random(seed))
    # Random search has no guidance, so its known-optimum check gives it 54 of the 55 members of a narrow window.
    return create_strategy(name, space=SPACE, cost_fn=cost, lo=5, hi=7, population=6, generations=8,
                           rng=random.Random(seed))


def drive(s, rounds=None):
    n = 0
    while not s.done and (rounds is None or n < rounds):
        if hasattr(s, "rounds"):
            s.rounds.before_ask()
        s.tell([(g, score(g)) for g in s.ask()])
        n += 1
    return s


def test_registry_lists_the_bundled_ones_and_nas_exports_it():
    assert list_strategies() == ["differentiable", "evolution", "local_search", "random",
                                 "regularized_evolution"] == nas.list_strategies()
    assert list_strategies("e*") == ["evolution"]
    with pytest.raises(ValueError):
        STRATEGIES.add("random", object)
    with pytest.raises(nas.NasError, match="unknown strategy 'nope'"):
        create_strategy("nope")


@pytest.mark.parametrize("name", list_strategies())
def test_finds_the_known_optimum(name):
    s = drive(make(name))
    assert isinstance(s, Strategy) and s.done
    g, final = s.result()
    assert g.as_dict() == OPTIMUM
    assert final is None or final == 1.0
    assert s.best().score == 1.0


@pytest.mark.parametrize("name", list_strategies())
def test_state_dict_resume_continues_identically(name):
    whole = drive(make(name))
    half = drive(make(name), rounds=2)
    again = make(name)
    again.load_state_dict(copy.deepcopy(half.state_dict()))
    if hasattr(again, "rounds"):  # the trainer's state is the family's, beside the strategy's
        again.rounds.load_state_dict(copy.deepcopy({"strategy": half.state_dict(), "family": half.rounds.state_dict()}))
    drive(again)
    assert [str(i.genotype) for i in again.top(5)] == [str(i.genotype) for i in whole.top(5)]
    assert again.result()[0] == whole.result()[0]


@pytest.mark.parametrize("name", ["evolution", "random"])
def test_window_strategies_spend_the_same_budget_without_duplicates(name):
    s = make(name)
    asked = []
    while not s.done:
        batch = s.ask()
        assert len(batch) == s.population
        asked += [str(g) for g in batch]
        s.tell([(g, score(g)) for g in batch])
    assert len(asked) == len(set(asked)) == s.population * s.total_rounds == 6 * (s.generations + 1)
    assert all(s.lo <= cost(SPACE.parse(g)) <= s.hi for g in asked)


def test_history_refuses_candidates_outside_the_window_even_with_asserts_off():
    import random as _random

    import nas
    from nas.search.strategies.window import History

    space = nas.get_space("st_topo")
    g = space.sample(_random.Random(0))
    madds = nas.cost(g).madds
    History(space, lambda x: nas.cost(x).madds, hi=madds, lo=madds).add(g, 0.5)  # the window's edges count
    for lo, hi in ((madds + 1, madds + 10), (0, madds - 1)):
        with pytest.raises(RuntimeError, match="outside the window"):
            History(space, lambda x: nas.cost(x).madds, hi=hi, lo=lo).add(g, 0.5)

"""Seed derivation and random state: the one home of every seed and generator-state helper."""
import random

import torch

from nas.utils.seeds import (epoch_seed, forked_rng, rng_from_list, rng_state, rng_to_list, seeded_init,
                             set_rng_state)


def test_epoch_seed_keeps_the_historic_formula():
    assert epoch_seed(0, 0) == 0 and epoch_seed(3, 2) == 3 * 100_003 + 2


def test_forked_rng_seeds_the_block_and_restores_the_caller():
    torch.manual_seed(11)
    before = torch.get_rng_state()
    with forked_rng(5):
        a = torch.rand(3)
    assert torch.equal(torch.get_rng_state(), before)
    with forked_rng(5, torch.device("cpu")):
        b = torch.rand(3)
    assert torch.equal(a, b) and torch.equal(a, torch.rand(3, generator=torch.Generator().manual_seed(5)))


def test_seeded_init_leaves_the_global_generator_alone():
    torch.manual_seed(1)
    expected = torch.rand(2)
    torch.manual_seed(1)
    with seeded_init(9):
        torch.nn.Linear(4, 4)
    assert torch.equal(torch.rand(2), expected)


def test_python_state_round_trips_through_lists():
    rng = random.Random(4)
    rng.random()
    saved = rng_to_list(rng)
    assert isinstance(saved[1], list)
    first = [rng.random() for _ in range(3)]
    rng_from_list(rng, saved)
    assert [rng.random() for _ in range(3)] == first


def test_rng_state_round_trips_python_and_torch_generators():
    gens = {"py": random.Random(2), "t": torch.Generator().manual_seed(3)}
    state = rng_state(gens)
    assert state["py"]["python"] == rng_to_list(gens["py"])
    first = (gens["py"].random(), torch.rand(2, generator=gens["t"]))
    set_rng_state(state, gens)
    assert gens["py"].random() == first[0] and torch.equal(torch.rand(2, generator=gens["t"]), first[1])


def test_set_rng_state_reads_the_bare_generator_tensors_of_older_search_checkpoints():
    gen = torch.Generator().manual_seed(5)
    saved = gen.get_state()  # what a differentiable search's checkpoint held per generator before rng_state
    first = torch.rand(3, generator=gen)
    set_rng_state({"noise": saved}, {"noise": gen})
    assert torch.equal(torch.rand(3, generator=gen), first)


def test_window_strategies_reexport_the_state_helpers():
    from nas.search.strategies import window

    assert window.rng_to_list is rng_to_list and window.rng_from_list is rng_from_list

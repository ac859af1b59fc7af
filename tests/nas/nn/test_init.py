"""The shared init gives the same weights, bit for bit, as each space's own init loop."""
import importlib

import pytest
import torch

import nas
from nas.nn.init import init_weights


@pytest.mark.parametrize("genotype", ["st_topo:mobilenetv2", "pv_st:tsm", "pv_st_m:r2plus1d"])
def test_shared_init_matches_space_init(genotype):
    g = nas.load_genotype(genotype)
    own = importlib.import_module(f"search_spaces.{g.space.split('_m')[0]}.model").init_weights
    model = nas.create_model(g, num_classes=5)
    states = []
    for fn in (own, init_weights):
        torch.manual_seed(7)
        fn(model)
        states.append({k: v.clone() for k, v in model.state_dict().items()})
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])

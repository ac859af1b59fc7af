"""The shared init gives the same weights, bit for bit, as the per-space init loops the spaces used to own."""
import pytest
import torch
from torch import nn

import nas
from nas.nn.init import init_weights


def _st_topo_loop(model: nn.Module) -> None:
    """st_topo's former init: 2-D convs (He, fan-out, leaky_relu gain with a=0), BatchNorm2d, linears."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def _pv_st_loop(model: nn.Module) -> None:
    """pv_st's former init: 3-D convs (He, fan-out), BatchNorm3d, linears."""
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


@pytest.mark.parametrize("genotype, loop", [("st_topo:mobilenetv2", _st_topo_loop), ("pv_st:tsm", _pv_st_loop),
                                            ("pv_st_m:r2plus1d", _pv_st_loop)])
def test_shared_init_matches_former_space_init(genotype, loop):
    model = nas.create_model(nas.load_genotype(genotype), num_classes=5)
    states = []
    for fn in (loop, init_weights):
        torch.manual_seed(7)
        fn(model)
        states.append({k: v.clone() for k, v in model.state_dict().items()})
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


@pytest.mark.parametrize("space", ["st_topo", "pv_st"])
def test_space_models_use_the_shared_init(space):
    import importlib

    assert importlib.import_module(f"search_spaces.{space}.model").init_weights is init_weights

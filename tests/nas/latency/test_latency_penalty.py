"""pv_st's expected-latency penalty: exact at one-hot alphas, and its gradient moves alpha to faster ops."""
import pytest
import torch
from torch import nn

import nas
from nas.latency.search import per_slot_latency
from nas.latency.table import LatencyTable, predict_latency
from nas.search.differentiable import ArchOptimizer
from search_spaces.pv_st.cost import OP_NAMES


def _table(space):
    t = space.target(resolution=32, frames=4)
    # block times that grow with the op's index, so later ops are slower everywhere
    entries = {k: 0.1 + OP_NAMES.index(k.split("|")[1]) * 0.05 for k in space.block_configs(t)}
    return LatencyTable(space.name, {"resolution": 32, "num_classes": 1000, "frames": 4},
                        {"device": "d", "torch": "t", "threads": 1, "batch": 1}, 2.0, entries)


class _Alpha(nn.Module):
    def __init__(self, slots, ops):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(slots, ops))

    def arch_parameters(self):
        return [self.alpha]


@pytest.mark.parametrize("name", ["pv_st_tiny", "pv_st"])
def test_one_hot_expectation_is_the_prediction(name):
    space = nas.get_space(name)
    table = _table(space)
    rows = per_slot_latency(space, table, OP_NAMES)
    g = space.sample(__import__("random").Random(0))
    picked = sum(rows[i][OP_NAMES.index(g[s.key])] for i, s in enumerate(space.slots))
    assert table.overhead_ms + picked == pytest.approx(predict_latency(g, table))


def test_latency_hinge_pushes_to_faster_ops():
    space = nas.get_space("pv_st_tiny")
    table = _table(space)
    rows = torch.tensor(per_slot_latency(space, table, OP_NAMES))
    net = _Alpha(*rows.shape)
    budget = 2.0 + 0.12 * rows.shape[0]  # between the all-fastest and the uniform expectation
    arch = ArchOptimizer(net, lr=0.1, table=torch.zeros_like(rows), fixed=0, budget=None, gamma=2.0, floor=0.0,
                         scheduler="constant", latency=(rows, 2.0, budget))
    assert arch.penalty().item() > 0
    pen = arch.penalty()
    (grad,) = torch.autograd.grad(pen, [net.alpha])
    # descending the penalty raises the fastest op's logit and lowers the slowest one's, in every slot
    assert (grad[:, 0] < 0).all() and (grad[:, -1] > 0).all()
    no_latency = ArchOptimizer(net, lr=0.1, table=torch.zeros_like(rows), fixed=0, budget=None, gamma=2.0)
    assert no_latency.penalty().item() == 0

"""The one DataLoader factory: pinned memory follows the device a run trains on, never the machine."""
import pytest
import torch
from torch.utils.data import TensorDataset

from nas.data.loader import loader_options, make_loader
from nas.search.bilevel import BilevelData, seeded_loader

DS = TensorDataset(torch.arange(12.0).reshape(6, 2), torch.arange(6))


@pytest.mark.parametrize("device, pinned", [("cpu", False), (torch.device("cpu"), False), ("cuda", True),
                                            (torch.device("cuda", 1), True)])
def test_pin_memory_follows_the_injected_device(device, pinned):
    assert make_loader(DS, 2, device=device).pin_memory is pinned
    assert loader_options(device, 2) == {"pin_memory": pinned, "persistent_workers": False}


def test_batches_carry_their_skip_count_and_leave_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    batches = list(make_loader(DS, 4, shuffle=True))
    assert torch.equal(torch.rand(1), expected)  # the loader drew its base seed from its own generator
    assert [len(y) for _, y, _ in batches] == [4, 2] and all(n == 0 for _, _, n in batches)


def test_bilevel_loaders_pin_once_the_trainer_names_a_gpu():
    data = BilevelData(*(seeded_loader(DS, 2, shuffle, 0) for shuffle in (True, True, False)), num_classes=6)
    assert not any(loader.pin_memory for loader in (data.train, data.alpha, data.val))
    data.to(torch.device("cuda"))
    assert all(loader.pin_memory for loader in (data.train, data.alpha, data.val))
    assert not data.to("cpu").train.pin_memory

import random

import pytest

import nas
from nas.core.cost import parse_budget
from nas.registry import Registry


def test_registry_duplicate_raises_and_lists():
    reg = Registry("thing")
    reg.add("a1", 1)
    reg.add("b1", 2)
    with pytest.raises(ValueError):
        reg.add("a1", 3)
    assert reg.list("a*") == ["a1"]
    with pytest.raises(nas.NasError, match="unknown thing 'zz'"):
        reg.get("zz")


@pytest.mark.parametrize("name", nas.list_spaces())
def test_every_space_samples_members(name):
    space = nas.get_space(name)
    rng = random.Random(0)
    for _ in range(20):
        assert space.contains(space.sample(rng)) is None
    assert space.contains(space.default()) is None
    assert space.size() > 1


def test_space_module_has_no_torch():
    import subprocess
    import sys

    code = "import sys, nas; nas.get_space('st_topo').size(); nas.cost('st_topo:mobilenetv2'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("text, value", [("330M", 330_000_000), ("0.5G", 500_000_000), ("500000K", 500_000_000),
                                         ("330000000", 330_000_000), ("330m", 330_000_000)])
def test_budget_parse(text, value):
    assert parse_budget(text) == value


@pytest.mark.parametrize("text", ["330X", "", "M", "-5M", "0", "1..2G", "330 MB"])
def test_budget_rejects(text):
    with pytest.raises(nas.NasError, match="budget"):
        parse_budget(text)

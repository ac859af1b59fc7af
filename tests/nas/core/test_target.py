"""The cost target: one checked type, each space's defaults and limits, one-line errors."""
import pytest

import nas
from nas.core.target import Target


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(resolution=0, num_classes=10), "resolution must be positive"),
    (dict(resolution=-3, num_classes=10), "resolution must be positive"),
    (dict(resolution=224, num_classes=0), "num_classes must be positive"),
    (dict(resolution=2.5, num_classes=10), "resolution must be an integer"),
    (dict(resolution=True, num_classes=10), "resolution must be an integer"),
    (dict(resolution=224, num_classes=10, frames=-4), "frames must be positive"),
    (dict(resolution="2" * 500, num_classes=10), "must be an integer"),
])
def test_target_rejects_bad_values(kwargs, fragment):
    with pytest.raises(nas.NasError, match=fragment) as err:
        Target(**kwargs)
    assert len(str(err.value)) < 120 and "\n" not in str(err.value)


def test_target_shapes():
    assert Target(64, 10).input_shape(2) == (2, 3, 64, 64)
    assert Target(64, 10, 4).input_shape() == (1, 3, 4, 64, 64)


def test_each_space_says_its_defaults_and_limits():
    st, pv = nas.get_space("st_topo"), nas.get_space("pv_st")
    assert st.target() == Target(224, 1000, None)
    assert pv.target() == Target(224, 1000, 8)
    assert pv.target(resolution=32, frames=3) == Target(32, 1000, 3)
    assert st.min_resolution == 32 and pv.min_resolution == 32  # ResNet-50: stem, max pool, three strided stages
    with pytest.raises(nas.NasError, match="at least 32"):
        st.target(resolution=16)
    assert nas.cost("st_topo:mobilenetv2", resolution=32).madds > 0


@pytest.mark.parametrize("genotype, kwargs, fragment", [
    ("pv_st:tsm", dict(frames=-4), "frames must be positive"),
    ("pv_st:tsm", dict(frames=0), "frames must be positive"),
    ("st_topo:mobilenetv2", dict(frames=8), "frames applies to video spaces only"),
    ("st_topo:mobilenetv2", dict(resolution=0), "resolution must be positive"),
    ("st_topo:mobilenetv2", dict(width=0.5), "unsupported cost keyword"),
    ("pv_st:tsm", dict(clip=8), "unsupported cost keyword"),
])
def test_bad_target_is_one_line_error_not_negative_cost(genotype, kwargs, fragment):
    g = nas.load_genotype(genotype)
    with pytest.raises(nas.NasError, match=fragment):
        nas.cost(g, **kwargs)
    with pytest.raises(nas.NasError, match=fragment):
        nas.get_space(g.space).cost(g, **kwargs)
    with pytest.raises(nas.NasError, match=fragment):
        nas.get_space(g.space).cost_breakdown(g, **kwargs)


def test_keywords_and_positions_keep_todays_costs():
    g = nas.load_genotype("st_topo:mobilenetv2")
    space = nas.get_space("st_topo")
    assert space.cost(g, 160, 10) == nas.cost(g, resolution=160, num_classes=10) == space.cost_at(g, Target(160, 10))
    assert nas.cost(g) == nas.Cost(300_774_272, 3_504_872)
    pv = nas.load_genotype("pv_st:tsm")
    assert nas.cost(pv, frames=4) == nas.get_space("pv_st").cost(pv, 224, 1000, 4)
    assert nas.cost(pv) == nas.cost(pv, frames=8)


@pytest.mark.parametrize("name", ["st_topo", "pv_st", "pv_st_m"])
def test_cheapest_and_largest_bracket_samples(name):
    import random

    space = nas.get_space(name)
    lo, hi = nas.cost(space.cheapest()).madds, nas.cost(space.largest()).madds
    rng = random.Random(0)
    for _ in range(30):
        assert lo <= nas.cost(space.sample(rng)).madds <= hi

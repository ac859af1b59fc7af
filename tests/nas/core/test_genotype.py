import random

import pytest
import yaml

import nas
from nas import Genotype, NasError


def test_canonical_string_roundtrip():
    space = nas.get_space("st_topo")
    g = space.sample(random.Random(1))
    assert str(g) == g.to_str()
    assert space.parse(str(g)) == g
    assert nas.load_genotype(str(g)) == g


def test_yaml_roundtrip_and_hash(tmp_path):
    space = nas.get_space("st_topo")
    g = space.sample(random.Random(2))
    path = tmp_path / "g.yaml"
    nas.save_genotype(g, path, score=0.5)
    assert yaml.safe_load(path.read_text())["score"] == 0.5
    assert nas.load_genotype(path) == g
    assert Genotype.from_dict(g.to_dict()) == g
    assert len({g, Genotype.from_dict(g.to_dict())}) == 1


def test_genotype_is_immutable():
    g = nas.load_genotype("st_topo:mobilenetv2")
    with pytest.raises(AttributeError):
        g.space = "other"
    g2 = g.replace(s02="k7e3")
    assert g2["s02"] == "k7e3" and g["s02"] == "k3e6"


def test_named_and_run_folder(tmp_path):
    g = nas.load_genotype("st_topo:mobilenetv2")
    nas.save_genotype(g, tmp_path / "genotype.yaml")
    assert nas.load_genotype(tmp_path) == g


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("st_topo:nope", "unknown genotype name"),
        ("nospace:mobilenetv2", "unknown space"),
        ("just-text", "not a genotype"),
    ],
)
def test_bad_genotypes(bad, fragment):
    with pytest.raises(NasError, match=fragment):
        nas.load_genotype(bad)


def test_wrong_choice_is_named():
    g = nas.load_genotype("st_topo:mobilenetv2")
    bad = str(g).replace("k3e1", "k9e1", 1)
    with pytest.raises(NasError, match="s01='k9e1'"):
        nas.load_genotype(bad)


def test_identity_not_allowed_on_stride_edge():
    g = nas.load_genotype("st_topo:mobilenetv2").replace(s02="id")
    with pytest.raises(NasError, match="s02"):
        nas.load_genotype(g)


def test_malformed_yaml(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("space: [unclosed\n")
    with pytest.raises(NasError, match="malformed YAML"):
        nas.load_genotype(p)

"""Backbones and models of every space: the model is the backbone plus a linear classifier, keys unchanged."""
import hashlib
import json
from pathlib import Path

import pytest
import torch

import nas

# Recorded on the code before the backbone split (seed 0, 10 classes): key/shape digest, parameter sum and the
# outputs on a fixed input, so existing checkpoints keep loading and the same seed gives the same model.
GOLDEN = json.loads((Path(__file__).with_name("model_golden.json")).read_text())


def _input(g: str, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    shape = (2, 3, 32, 32) if g.startswith("st_topo") else (2, 3, 4, 32, 32)
    return torch.randn(shape, generator=gen)


@pytest.mark.parametrize("g", sorted(GOLDEN))
def test_model_keys_init_and_outputs_are_unchanged(g):
    torch.manual_seed(0)
    model = nas.create_model(g, num_classes=10).eval()
    keys = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    assert hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16] == GOLDEN[g]["keys_sha"]
    total = float(sum(v.double().sum() for v in model.state_dict().values() if v.is_floating_point()))
    assert total == pytest.approx(GOLDEN[g]["param_sum"], abs=1e-5)


@pytest.mark.parametrize("g", ["st_topo:mobilenetv2", "pv_st:tsm"])
def test_backbone_is_the_model_without_its_classifier(g):
    torch.manual_seed(0)
    model = nas.create_model(g, num_classes=10, dropout=0.0).eval()
    backbone = nas.create_backbone(g).eval()
    assert isinstance(backbone.num_features, int)
    head = {k for k in model.state_dict() if k not in backbone.state_dict()}
    assert head == {k for k in model.state_dict() if k.endswith(("fc.weight", "fc.bias"))}
    backbone.load_state_dict({k: v for k, v in model.state_dict().items() if k not in head})
    x = _input(g)
    with torch.no_grad():
        pooled, fmap = backbone(x), backbone.forward_features(x)
        logits = model(x)
    assert pooled.shape == (2, backbone.num_features) and fmap.shape[:2] == (2, backbone.num_features)
    assert fmap.dim() == (4 if g.startswith("st_topo") else 5)
    assert torch.allclose(pooled, fmap.flatten(2).mean(-1), atol=1e-6)
    fc = model.head.fc if g.startswith("st_topo") else model.fc
    assert torch.allclose(fc(pooled), logits, atol=1e-5)


@pytest.mark.parametrize("space, g, kw", [("st_topo", "st_topo:mobilenetv2", {"width": 0.5, "stem_stride": 1}),
                                          ("pv_st", "pv_st:tsm", {})])
def test_extract_matches_the_standalone_model(space, g, kw):
    supernet = nas.create_supernet(space, num_classes=10, **kw)
    extracted = supernet.extract(nas.load_genotype(g))
    built = nas.create_model(g, num_classes=10, **kw)
    assert [(k, v.shape) for k, v in extracted.state_dict().items()] == [
        (k, v.shape) for k, v in built.state_dict().items()]


def test_backbone_scripts():
    backbone = nas.create_backbone("st_topo:mobilenetv2").eval()
    scripted = torch.jit.script(backbone)
    x = _input("st_topo")
    assert torch.allclose(scripted(x), backbone(x), atol=1e-5)


def test_backbone_refuses_head_options():
    with pytest.raises(TypeError):
        nas.create_backbone("st_topo:mobilenetv2", num_classes=3)

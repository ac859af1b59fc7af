"""Starting weights (nas-retrain --init, nas-derive --weights): supernet extraction, backbones, the shape rule."""
import json

import pytest
import torch
import yaml

import nas
from nas.cli.derive import main as derive
from nas.config import from_dict
from nas.config.retrain import RetrainConfig
from nas.errors import NasError
from nas.train.checkpoint import save_checkpoint
from nas.weights import apply_init

TINY = str(nas.get_space("st_topo").cheapest())
G = nas.load_genotype("st_topo:mobilenetv2")


def _search_run(path, width=1.0, stem_stride=1, num_classes=10):
    """Write the two files of a search run that --init supernet reads: config.yaml and supernet.pt."""
    path.mkdir(parents=True)
    supernet = nas.create_supernet("st_topo", num_classes=num_classes, width=width, stem_stride=stem_stride)
    with torch.no_grad():
        for p in supernet.parameters():
            p.add_(0.01)  # distinguishable from a fresh init
    torch.save(supernet.state_dict(), path / "supernet.pt")
    cfg = {"space": "st_topo", "supernet": {"width": width, "stem_stride": stem_stride, "epochs": 1}}
    (path / "config.yaml").write_text(yaml.safe_dump(cfg))
    nas.save_genotype(G, path / "genotype.yaml")
    return path, supernet


def _cfg(**model):
    return from_dict(RetrainConfig, {"model": model})


def test_supernet_init_is_the_extracted_subnet(tmp_path):
    run, supernet = _search_run(tmp_path / "run")
    model = nas.create_model(G, num_classes=10, stem_stride=1)
    note = apply_init(model, f"supernet:{run}", G, _cfg(stem_stride=1))
    assert "and its classifier" in note
    want = supernet.extract(G).state_dict()
    assert all(torch.equal(v, want[k]) for k, v in model.state_dict().items())


def test_supernet_init_drops_a_head_of_other_classes(tmp_path):
    run, supernet = _search_run(tmp_path / "run")
    model = nas.create_model(G, num_classes=4, stem_stride=1)
    fresh_fc = model.head.fc.weight.clone()
    note = apply_init(model, f"supernet:{run}", G, _cfg(stem_stride=1))
    assert "fresh classifier (the supernet has 10 classes)" in note
    want = supernet.extract(G).state_dict()
    assert torch.equal(model.stem[0].weight, want["stem.0.weight"]) and torch.equal(model.head.fc.weight, fresh_fc)


@pytest.mark.parametrize("width, stride, model_stride, fragment", [
    (0.5, 1, 1, "is a half-width proxy (supernet.width 0.5); its weights do not fit the full-width model"),
    (1.0, 1, None, "stride-1 stem (supernet.stem_stride 1); the model has stride 2"),
])
def test_supernet_of_another_shape_is_refused(tmp_path, width, stride, model_stride, fragment):
    run, _ = _search_run(tmp_path / "run", width=width, stem_stride=stride)
    model = nas.create_model(G, num_classes=10)
    with pytest.raises(NasError) as err:
        apply_init(model, f"supernet:{run}", G, _cfg(stem_stride=model_stride))
    assert fragment in str(err.value)


def test_backbone_init_drops_the_head_and_refuses_other_architectures(tmp_path):
    trained = nas.create_model(G, num_classes=10)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(1.0)
    ckpt = tmp_path / "last.pt"
    save_checkpoint(ckpt, {"model": trained.state_dict(), "ema": None, "genotype": str(G)})
    model = nas.create_model(G, num_classes=3)
    note = apply_init(model, f"backbone:{ckpt}", G, _cfg())
    assert note.startswith("backbone weights of") and "fresh classifier" in note
    assert torch.equal(model.stem[0].weight, trained.stem[0].weight)
    other = nas.create_model(TINY, num_classes=3)
    with pytest.raises(NasError, match="another architecture"):
        apply_init(other, f"backbone:{ckpt}", nas.load_genotype(TINY), _cfg())


def test_derive_exports_supernet_weights_and_says_so(tmp_path, capsys):
    run, supernet = _search_run(tmp_path / "run", stem_stride=2)
    path = tmp_path / "m.ts"
    assert derive([str(run), "--export", str(path), "--weights", "supernet", "--num-classes", "10"]) == 0
    assert f"weights: supernet weights of {run}" in capsys.readouterr().out
    x = torch.randn(1, 3, 32, 32)
    want = supernet.extract(G).eval()(x)
    assert torch.allclose(torch.jit.load(str(path))(x), want, atol=1e-5)


def test_derive_default_weights_are_fresh_and_named(tmp_path, capsys):
    assert derive(["st_topo:mobilenetv2", "--export", str(tmp_path / "m.ts"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["weights"] == "freshly initialised weights"


def test_derive_checkpoint_weights_need_matching_classes(tmp_path, capsys):
    trained = nas.create_model(G, num_classes=10)
    ckpt = tmp_path / "best.pt"
    save_checkpoint(ckpt, {"model": trained.state_dict(), "ema": None, "genotype": str(G)})
    assert derive([str(G), "--export", str(tmp_path / "a.ts"), "--weights", str(ckpt), "--num-classes", "10"]) == 0
    assert "weights: trained weights of" in capsys.readouterr().out
    assert derive([str(G), "--export", str(tmp_path / "b.ts"), "--weights", str(ckpt)]) == 2
    assert "has 10 classes; pass --num-classes 10" in capsys.readouterr().err
    assert derive([str(G), "--weights", "init"]) == 2
    assert "--weights applies only with --export" in capsys.readouterr().err

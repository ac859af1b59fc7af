"""Importing torchvision-format 2-D weights (``nas.load_pretrained``, ``--init pretrained:FILE``).

The references (tests/support/tv_reference.py) have torchvision's parameter names and shapes and random
weights; an imported model must give the reference's outputs within 1e-5 (per frame for the video spaces).
"""
import random

import pytest
import torch

import nas
from nas.cli import retrain
from nas.errors import NasError
from nas.nn.pretrained import inflate_kernel, temporal_identity
from tests.support import tv_reference as tv

TORCH_THREADS = 1
TOL = 1e-5


def _saved(build, seed: int, name: str, tmp_path_factory):
    """Return ``(reference, file)``: a random network in torchvision's layout, saved as a plain state dict."""
    torch.manual_seed(seed)
    ref = tv.randomise(build(), torch.Generator().manual_seed(seed))
    path = tmp_path_factory.mktemp("w") / name
    torch.save(ref.state_dict(), path)
    return ref, path


@pytest.fixture(scope="module")
def r50(tmp_path_factory):
    return _saved(tv.resnet50, 1, "resnet50.pth", tmp_path_factory)


@pytest.fixture(scope="module")
def mnv2(tmp_path_factory):
    return _saved(tv.mobilenet_v2, 2, "mobilenet_v2.pth", tmp_path_factory)


def _clip(seed: int = 0, t: int = 3, side: int = 32) -> torch.Tensor:
    return torch.randn(2, 3, t, side, side, generator=torch.Generator().manual_seed(seed))


def _mixed(space: str):
    """Return a genotype of ``space`` with every temporal op but the shift in turn."""
    ops = ["t_id", "t_dw3", "t_dw5", "t_conv3", "t_r21d", "t_3d"]
    sp = nas.get_space(space)
    return sp.freeze({d: ops[i % len(ops)] for i, d in enumerate(sp.dims())})


@pytest.mark.parametrize("name", ["pv_st:tsn_r50", "pv_st:tsm_r50", "pv_st:r2plus1d_r50", "pv_st:i3d_r50", "mixed"])
def test_resnet50_gives_the_2d_networks_per_frame_output(name, r50):
    ref, path = r50
    g = _mixed("pv_st") if name == "mixed" else nas.load_genotype(name)
    model = nas.create_model(g, num_classes=1000).eval()
    note = nas.load_pretrained(model, path, genotype=g)
    assert "0 tensors left new" in note and "classifier copied" in note, note
    x = _clip()
    with torch.no_grad():
        want = tv.per_frame(ref, x, shift_blocks="tsm" in name)
        diff = (model(x) - want).abs().max().item()
    assert diff < TOL, diff
    with torch.no_grad():  # the check can fail: the shift changes features, so without it the outputs differ
        other = tv.per_frame(ref, x, shift_blocks="tsm" not in name)
    assert name == "mixed" or name.endswith("tsn_r50") or (model(x) - other).abs().max().item() > 10 * TOL


def test_resnet101_into_pv_st_m(tmp_path):
    torch.manual_seed(3)
    ref = tv.randomise(tv.resnet101(num_classes=10), torch.Generator().manual_seed(3))
    torch.save(ref.state_dict(), tmp_path / "r101.pth")
    model = nas.create_model("pv_st_m:tsm_r101", num_classes=10).eval()
    note = nas.load_pretrained(model, tmp_path / "r101.pth")
    assert "0 tensors left new" in note, note
    x = _clip(1, t=2)
    with torch.no_grad():
        assert (model(x) - tv.per_frame(ref, x, shift_blocks=True)).abs().max().item() < TOL


def test_a_new_classifier_and_a_backbone(r50):
    ref, path = r50
    model = nas.create_model("pv_st:tsn_r50", num_classes=7).eval()
    fc = model.fc.weight.clone()
    note = nas.load_pretrained(model, path)
    assert "classifier left new (the file has 1000 classes, the model 7)" in note
    assert torch.equal(model.fc.weight, fc)
    backbone = nas.create_backbone("pv_st:r2plus1d_r50").eval()
    assert "classifier is not used" in nas.load_pretrained(backbone, path, genotype="pv_st:r2plus1d_r50")
    x = _clip(2)
    with torch.no_grad():
        want = ref.features(x.transpose(1, 2).flatten(0, 1)).view(2, 3, -1).mean(1)
        assert (backbone(x) - want).abs().max().item() < TOL


def test_mobilenet_v2_exactly_and_with_larger_kernels(mnv2):
    ref, path = mnv2
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    model = nas.create_model("st_topo:mobilenetv2").eval()
    note = nas.load_pretrained(model, path)
    assert "17 of 17 MobileNetV2 blocks copied (0 tensors" in note and "0 tensors left new" in note, note
    with torch.no_grad():
        assert (model(x) - ref(x)).abs().max().item() < TOL
    choice = nas.load_genotype("st_topo:mobilenetv2").as_dict()
    choice.update(s02="k7e6", s05="k5e6")  # a 3x3 zero-padded into a 7x7 / 5x5 computes the same
    model = nas.create_model(nas.get_space("st_topo").freeze(choice)).eval()
    assert "(2 tensors kernel-padded/cropped or channel-sliced)" in nas.load_pretrained(model, path)
    with torch.no_grad():
        assert (model(x) - ref(x)).abs().max().item() < TOL


def test_other_st_topo_genotypes_take_what_fits(mnv2):
    ref, path = mnv2
    g = nas.get_space("st_topo").sample(random.Random(3))
    model = nas.create_model(g, num_classes=5).eval()
    note = nas.load_pretrained(model, path)
    c = g.as_dict()
    assert c["s13"] == "id" and "features.12" in note  # the genotype drops MobileNetV2's 12th block
    assert "stem edges left new: s04, s18" in note and "branch edges left new" in note, note
    assert c["s03"] == "k7e3"  # features.3 (expansion 6, 3x3) into a 7x7 of expansion 3
    src = ref.features[3].conv
    dw = model.nodes[2].edges[0].conv[1][0].weight
    assert torch.equal(dw[:, :, 2:5, 2:5], src[1][0].weight[:72]) and dw[:, :, 0].abs().sum() == 0
    assert torch.equal(model.nodes[2].edges[0].conv[2][0].weight, src[2].weight[:, :72])


def test_inflation_rules():
    w = torch.randn(4, 2, 3, 3)
    static = torch.randn(1, 2, 5, 8, 8).mean(2, keepdim=True).expand(1, 2, 5, 8, 8)
    flat = torch.nn.functional.conv2d(static[:, :, 2], w, padding=1)
    for how in ("centre", "mean"):  # both give the 2-D output on a still clip, away from the clip's ends
        out = torch.nn.functional.conv3d(static, inflate_kernel(w, 3, how), padding=1)
        assert (out[:, :, 2] - flat).abs().max() < TOL
    moving = torch.randn(1, 2, 5, 8, 8)
    out = torch.nn.functional.conv3d(moving, inflate_kernel(w, 3, "centre"), padding=1)
    assert (out[:, :, 0] - torch.nn.functional.conv2d(moving[:, :, 0], w, padding=1)).abs().max() < TOL
    x = torch.randn(1, 6, 4, 2, 2)
    for groups in (1, 6):
        k = temporal_identity((6, 6 // groups, 5, 1, 1))
        assert torch.equal(torch.nn.functional.conv3d(x, k, padding=(2, 0, 0), groups=groups), x)


def test_mean_inflation_is_an_option(r50):
    _, path = r50
    model = nas.create_model("pv_st:i3d_r50", num_classes=1000)
    assert "I3D" in nas.load_pretrained(model, path, inflate="mean")
    w2d = torch.load(path, weights_only=True)["layer1.0.conv2.weight"]
    assert torch.allclose(model.blocks[0].op.weight.sum(2), w2d)
    with pytest.raises(NasError, match="inflate must be"):
        nas.load_pretrained(model, path, inflate="repeat")


def test_wrong_architecture_and_torn_dicts_name_the_first_tensor(r50, mnv2, tmp_path):
    _, p50 = r50
    _, pm = mnv2
    with pytest.raises(NasError, match=r"it has no tensor conv1\.weight"):
        nas.load_pretrained(nas.create_model("pv_st:tsm_r50"), pm)
    with pytest.raises(NasError, match=r"it has no tensor layer3\.6\.conv1\.weight"):
        nas.load_pretrained(nas.create_model("pv_st_m:tsn_r101"), p50)
    state = torch.load(p50, weights_only=True)
    torn = dict(list(state.items())[:100])  # a state dict cut short
    torch.save(torn, tmp_path / "torn.pth")
    first_lost = list(state)[100]
    with pytest.raises(NasError, match=first_lost.replace(".", r"\.")):
        nas.load_pretrained(nas.create_model("pv_st:tsn_r50"), tmp_path / "torn.pth")
    state["layer2.0.conv2.weight"] = state["layer2.0.conv2.weight"][:, :, :1, :1]
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(NasError, match=r"tensor layer2\.0\.conv2\.weight is \[128, 128, 1, 1\]"):
        nas.load_pretrained(nas.create_model("pv_st:tsn_r50"), tmp_path / "bad.pth")
    with pytest.raises(NasError, match="takes no pretrained"):
        nas.load_pretrained(nas.create_model("pv_st_tiny:tsm"), p50)


def test_deeper_file_is_refused(tmp_path):
    """A ResNet-101 into pv_st: every ResNet-50 tensor fits, the extra blocks have no place."""
    torch.save(tv.resnet101().state_dict(), tmp_path / "r101.pth")
    with pytest.raises(NasError, match=r"tensor layer3\.6\.conv1\.weight has no place in it"):
        nas.load_pretrained(nas.create_model("pv_st:tsn_r50"), tmp_path / "r101.pth")


def test_detector_streams_start_from_imported_weights(mnv2):
    import nas.forgery

    ref, path = mnv2
    det = nas.forgery.create_detector("st_topo:mobilenetv2", streams="mix", resolution=32)  # F3-Net: FAD + LFS
    note = nas.load_pretrained(det, path, genotype="st_topo:mobilenetv2")
    assert "in the fad/lfs stream(s), fresh heads" in note, note
    lfs = det.b.net.stem[0].weight  # the LFS stream's stem, tiled over its bands the same way
    assert torch.allclose(lfs.view(lfs.shape[0], -1, 3, 3, 3).sum(1), ref.features[0][0].weight, atol=TOL)
    stem = ref.features[0][0].weight
    got = det.a.net.stem[0].weight  # the FAD stream's stem: the RGB kernel tiled over the bands, divided by them
    bands = got.shape[1] // 3
    assert bands > 1 and torch.allclose(got.view(got.shape[0], bands, 3, 3, 3).sum(1), stem, atol=TOL)
    assert torch.equal(det.a.net.nodes[5].edges[0].conv[1][0].weight, ref.features[5].conv[1][0].weight)  # s06: block 5


def _cli(args, tmp_path, capsys):
    rc = retrain.main(args + ["--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "run")])
    return rc, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("case", ["missing", "torn", "wrong", "not a state dict"])
def test_bad_files_through_the_cli(case, tmp_path, capsys, mnv2):
    _, pm = mnv2
    path = tmp_path / "w.pth"
    if case == "torn":
        path.write_bytes(pm.read_bytes()[:50000])
    elif case == "wrong":
        torch.save(tv.resnet50(num_classes=3).state_dict(), path)
    elif case == "not a state dict":
        torch.save({"model": {}, "epoch": 3}, path)
    rc, err = _cli(["st_topo:mobilenetv2", "--init", f"pretrained:{path}"], tmp_path, capsys)
    want = {"missing": "not found", "torn": "is torn", "wrong": "has no tensor features.0.0.weight",
            "not a state dict": "not a plain state dict"}[case]
    assert rc == 2 and len(err) == 1 and err[0].startswith("nas-retrain: error: ") and want in err[0], err
    assert len(err[0]) < 400 and not (tmp_path / "run").exists()


def test_init_needs_a_file(tmp_path, capsys):
    rc, err = _cli(["st_topo:mobilenetv2", "--init", "pretrained:"], tmp_path, capsys)
    assert rc == 2 and len(err) == 1 and "pretrained:FILE" in err[0], err


def test_retrain_starts_from_the_file_and_records_it(tmp_path, capsys, mnv2):
    import json

    _, pm = mnv2
    rc = retrain.main(["st_topo:mobilenetv2", "--init", f"pretrained:{pm}", "--epochs", "1", "--batch-size", "32",
                       "--device", "cpu", "--out", str(tmp_path / "run"), "data.train_size=64", "data.val_size=32"])
    assert rc == 0, capsys.readouterr().err[-500:]
    note = json.loads((tmp_path / "run" / "metrics.json").read_text())["init"]
    assert note.startswith("pretrained 2-D weights: ") and "17 of 17 MobileNetV2 blocks copied" in note, note


@pytest.mark.parametrize("task", ["forgery_video", "forgery_temporal"])
def test_video_forgery_backbones_start_from_imported_weights(task, mnv2):
    from nas.config import from_dict
    from nas.config.retrain import RetrainConfig
    from nas.tasks import get_task
    from nas.weights import apply_init

    ref, path = mnv2
    g = nas.load_genotype("st_topo:mobilenetv2")
    cfg = from_dict(RetrainConfig, {"task": task})
    model = get_task(task).build_model(g, cfg, 2)
    note = apply_init(model, f"pretrained:{path}", g, cfg)
    assert note.startswith("pretrained 2-D weights: ") and "fresh heads" in note, note
    own = {k.split("backbone.", 1)[1]: v for k, v in model.state_dict().items() if "backbone." in k}
    assert torch.equal(own["stem.0.weight"], ref.features[0][0].weight)
    assert torch.equal(own["head.conv.0.weight"], ref.features[18][0].weight)
    half = from_dict(RetrainConfig, {"task": task, "model": {"width": 0.5}})  # a narrower backbone: channels sliced
    model = get_task(task).build_model(g, half, 2)
    assert "channel-sliced" in apply_init(model, f"pretrained:{path}", g, half)
    own = {k.split("backbone.", 1)[1]: v for k, v in model.state_dict().items() if "backbone." in k}
    assert torch.equal(own["stem.0.weight"], ref.features[0][0].weight[:16])


def test_files_without_bn_counters_load(r50, tmp_path):
    """torchvision's older weight files have no num_batches_tracked; torch allows that, so do we."""
    ref, path = r50
    state = {k: v for k, v in torch.load(path, weights_only=True).items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pth")
    model = nas.create_model("pv_st:tsn_r50", num_classes=1000).eval()
    assert "0 tensors left new" in nas.load_pretrained(model, tmp_path / "old.pth")
    x = _clip(5, t=2)
    with torch.no_grad():
        assert (model(x) - tv.per_frame(ref, x)).abs().max().item() < TOL

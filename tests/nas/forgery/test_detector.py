"""The detector: outputs, exact cost against FlopCounterMode, export, stage checks, backbone init."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import nas
from nas.errors import NasError
from nas.forgery import create_detector
from nas.forgery.cost import detector_cost

G = "st_topo:mobilenetv2"


def measured(det, r):
    det.eval()
    with FlopCounterMode(display=False) as f:
        det(torch.randn(1, 3, r, r))
    return f.get_total_flops() // 2, sum(p.numel() for p in det.parameters())


@pytest.mark.parametrize("streams", ["rgb", "fad", "lfs", "both", "mix"])
def test_cost_equals_measured_count(streams):
    det = create_detector(G, task="forgery_spatial", classes=(2, 3, 16), streams=streams, resolution=32)
    c = detector_cost(det)
    assert (c.madds, c.params) == measured(det, 32)
    # nas.cost's pure count (no module built) of the same detector
    pure = nas.cost(G, task="forgery_spatial", classes=(2, 3, 16), streams=streams, resolution=32)
    assert pure == c
    out = det(torch.randn(2, 3, 32, 32))
    assert set(out) == {"logits_2", "logits_3", "logits_16", "mask", "region", "grey"}
    assert out["mask"].shape == (2, 32, 32) and 0 <= out["mask"].min() and out["mask"].max() <= 1


def test_lfs_genotype_and_12_channel_fad_cost():
    other = nas.get_space("st_topo").sample(__import__("random").Random(3))
    det = create_detector(G, classes=(2,), streams="mix", resolution=32, lfs_genotype=other, fad_all_band=True)
    assert det.genotypes == (str(nas.load_genotype(G)), str(other))
    c = detector_cost(det)
    assert (c.madds, c.params) == measured(det, 32)
    assert nas.cost(G, task="forgery_image", classes="2", streams="mix", resolution=32, lfs_genotype=other,
                    fad_all_band=True) == c


@pytest.mark.parametrize("task,streams,kw,det_kw", [
    ("forgery_image", "rgb", {"stem_stride": 1}, {"stem_stride": 1}),
    ("forgery_image", "mix", {"mix_at": "s8,s32", "classes": (3, 16)}, {"mix_at": ("s8", "s32"), "classes": (3, 16)}),
    ("forgery_spatial", "lfs", {"classes": ""}, {"classes": ()}),  # the map head alone
    ("forgery_spatial", "rgb", {"classes": "", "map_width": 16}, {"classes": (), "map_width": 16}),
])
def test_pure_cost_of_other_options_equals_measured(task, streams, kw, det_kw):
    det = create_detector(G, task=task, streams=streams, resolution=32, **det_kw)
    c = nas.cost(G, task=task, streams=streams, resolution=32, **kw)
    assert (c.madds, c.params) == measured(det, 32)


def test_space_without_geometry_falls_back_to_the_built_count():
    import random

    g = nas.get_space("nb201").sample(random.Random(0))  # a one-stage backbone with no backbone_geometry
    det = create_detector(g, task="forgery_image", streams="lfs", resolution=16)
    c = nas.cost(g, task="forgery_image", streams="lfs", resolution=16)
    assert (c.madds, c.params) == measured(det, 16)


def test_nas_cost_without_task_is_unchanged_and_bad_keywords_are_one_line():
    assert nas.cost(G) == nas.get_space("st_topo").cost(nas.load_genotype(G))
    assert nas.cost(G, task="classification", resolution=64, num_classes=10) == nas.cost(G, resolution=64,
                                                                                          num_classes=10)
    with pytest.raises(NasError, match="unsupported cost keyword.*colour"):
        nas.cost(G, task="forgery_image", colour=1)
    with pytest.raises(NasError, match="not num_classes"):
        nas.cost(G, task="forgery_image", num_classes=2)
    with pytest.raises(NasError, match="mix.at names stage 's64'"):
        nas.cost(G, task="forgery_image", streams="mix", mix_at="s64", resolution=32)


def test_mix_defaults_and_bad_stage():
    det = create_detector(G, streams="mix", resolution=32)
    assert [det.a.stage_names[k] for k in det.mix_ids] == ["s16", "s32"]
    with pytest.raises(NasError, match="mix.at names stage 's64'"):
        create_detector(G, streams="mix", mix_at=("s64",), resolution=32)
    with pytest.raises(NasError, match="at least"):
        create_detector(G, streams="lfs", resolution=8)
    with pytest.raises(NasError, match="--classes"):
        create_detector(G, classes=(5,), resolution=32)


@pytest.mark.slow
def test_torchscript_and_onnx_export(tmp_path):
    from nas.cli.derive import export_model

    torch.manual_seed(0)  # fixed weights: no region probability sits within rounding of the map's 1/2 cut
    det = create_detector(G, task="forgery_spatial", classes=(2, 3, 16), streams="mix", resolution=32).eval()
    x = torch.randn(1, 3, 32, 32)
    export_model(det, tmp_path / "d.ts", x)
    loaded = torch.jit.load(str(tmp_path / "d.ts"))
    ref = det(x)
    assert torch.allclose(loaded(x)["logits_2"], ref["logits_2"], atol=1e-5)
    export_model(det, tmp_path / "d.onnx", x, output_names=list(ref))
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "d.onnx"))
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"input": x.numpy()})))
    for name in ref:  # every output under its own name (logits_16 sorts before logits_2)
        assert torch.allclose(torch.from_numpy(got[name]), ref[name], atol=1e-4), name


def test_backbone_state_loads_with_inflated_stem():
    backbone = nas.create_backbone(G)
    det = create_detector(G, streams="fad", resolution=32)
    det.load_backbone_state(backbone.state_dict())
    stem_w = backbone.state_dict()["stem.0.weight"]
    assert torch.allclose(det.a.net.state_dict()["stem.0.weight"], stem_w.repeat(1, 3, 1, 1) / 3)


def test_nas_derive_forgery_task_json(capsys):
    import json

    from nas.cli.derive import main

    assert main([G, "--task", "forgery_image", "--streams", "both", "--resolution", "32", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    c = detector_cost(create_detector(G, streams="both", resolution=32))
    assert (got["madds"], got["params"]) == (c.madds, c.params)
    assert main([G, "--streams", "mix"]) != 0  # --streams without a forgery task is refused in one line

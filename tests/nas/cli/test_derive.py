import json
import subprocess
import sys

import pytest
import torch

from nas.cli.derive import main


def _run(args):
    return subprocess.run([sys.executable, "-m", "nas.cli.derive", *args], capture_output=True, text=True)


def test_json_output(capsys):
    assert main(["st_topo:mobilenetv2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["space"] == "st_topo" and out["resolution"] == 224
    assert out["params"] == 3_504_872 and out["genotype"].startswith("st_topo:k3e1")
    assert sum(v["madds"] for v in out["breakdown"].values()) == out["madds"]


def test_table_and_plot(tmp_path, capsys):
    png = tmp_path / "arch.png"
    assert main(["st_topo:mobilenetv2", "--plot", str(png), "--resolution", "160"]) == 0
    text = capsys.readouterr().out
    assert "total" in text and "stage7" in text
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_export_torchscript_runs(tmp_path):
    path = tmp_path / "m.ts"
    assert main(["st_topo:mobilenetv2", "--export", str(path), "--num-classes", "7"]) == 0
    model = torch.jit.load(str(path))
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 7)


def test_export_onnx_runs(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    import nas

    path = tmp_path / "m.onnx"
    g = nas.get_space("st_topo").sample(__import__("random").Random(0))
    assert main([str(g), "--export", str(path), "--num-classes", "3", "--resolution", "64"]) == 0
    sess = ort.InferenceSession(str(path))
    x = torch.randn(2, 3, 64, 64)
    (out,) = sess.run(None, {"input": x.numpy()})
    assert out.shape == (2, 3) and abs(out).sum() > 0


@pytest.mark.parametrize("args, fragment", [
    (["st_topo:nope"], "unknown genotype name"),
    (["zz:mobilenetv2"], "unknown space"),
    (["st_topo:mobilenetv2", "--export", "x.bin"], "cannot export"),
    (["st_topo:mobilenetv2", "--plot", "x.jpg2"], "cannot plot"),
    (["pv_st:tsm", "--frames", "-4"], "frames must be positive"),
    (["pv_st:tsm", "--frames", "0"], "frames must be positive"),
    (["st_topo:mobilenetv2", "--frames", "8"], "frames applies to video spaces only"),
    (["st_topo:mobilenetv2", "--resolution", "0"], "resolution must be positive"),
    (["st_topo:mobilenetv2", "--resolution", "16"], "resolution must be at least 32"),
    (["st_topo:mobilenetv2", "--num-classes", "-1"], "num_classes must be in 2..100000"),
])
def test_bad_input_is_one_line(args, fragment, tmp_path, capsys):
    rc = main([a.replace("x.", str(tmp_path / "x.")) for a in args])  # in-process: an escaped exception fails
    err = capsys.readouterr().err
    assert rc == 2
    assert fragment in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_video_target_flags(capsys):
    assert main(["pv_st:tsm", "--frames", "4", "--resolution", "64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    import nas

    assert out["madds"] == nas.cost("pv_st:tsm", resolution=64, frames=4).madds

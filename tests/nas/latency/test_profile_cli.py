"""nas-profile builds a table a predictor can use, and nas-derive reads it; bad input is one line."""
import json

import pytest

import nas
from nas.cli.derive import main as derive
from nas.cli.profile import main as profile
from nas.latency.table import load_table, predict_latency

FAST = ["--reps", "3", "--warmup", "1", "--clock", "cpu"]


def test_st_topo_table_covers_the_space(st_lut):
    table = load_table(st_lut)
    space = nas.get_space("st_topo")
    assert sorted(table.entries) == space.block_configs(space.target(resolution=32))
    assert all(v >= 0 for v in table.entries.values()) and len(table.overhead_samples) >= 3
    gaps = sorted(m - s for _, m, s in table.overhead_samples)  # the default additive fit: the median gap, scale 1
    assert table.scale == 1.0 and table.overhead_ms == pytest.approx((gaps[3] + gaps[4]) / 2)
    for key in ("device", "torch", "threads", "date", "batch", "noisy_entries"):
        assert key in table.env
    # a denser member takes longer to predict than the plain chain of the cheapest one
    assert predict_latency(space.largest(), table) > predict_latency(space.cheapest(), table)


def test_derive_lut_and_latency_json(st_lut, capsys):
    args = ["st_topo:mobilenetv2", "--resolution", "32", "--lut", str(st_lut), "--json", "--latency", "--reps", "3"]
    assert derive(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["predicted_latency_ms"] > 0 and out["measured_latency_ms"] > 0
    runs = out["latency"]["runs"]
    assert [(r["form"], r["threads"]) for r in runs] == [("eager", 1), ("script", 1)]  # the table's thread count
    assert all(isinstance(r["noisy"], bool) for r in runs)  # the noise check's verdict on each figure


def test_derive_refuses_foreign_table(st_lut, tmp_path, capsys):
    doc = json.loads(st_lut.read_text())
    doc["env"]["device"] = "cuda: Some Other GPU"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    base = ["st_topo:mobilenetv2", "--resolution", "32", "--lut", str(other)]
    assert derive(base) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "made elsewhere" in err and "--lut-force" in err
    assert derive(base + ["--lut-force"]) == 0
    assert "predicted latency" in capsys.readouterr().out


@pytest.mark.parametrize("args, match", [
    (["--space", "st_topo"], "needs --out"),
    (["--space", "st_topo", "--out", "x.json", "--threads", "0"], "--threads must be at least 1"),
    (["--space", "st_topo", "--out", "x.json", "--calibration", "linear"], "--calibration takes additive, affine, stages"),
])
def test_profile_bad_input(args, match, capsys):
    assert profile(args) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_nb201_table_covers_its_edges_and_predicts_a_member(tmp_path):
    path = tmp_path / "nb201.json"
    assert profile(["--space", "nb201", "--out", str(path)] + FAST) == 0
    table, space = load_table(path), nas.get_space("nb201")
    assert sorted(table.entries) == space.block_configs(space.target()) and len(table.entries) == 12
    from nas.latency.table import predict_latency

    g = space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")  # no edge runs: the overhead alone
    assert predict_latency(g, table) == pytest.approx(table.overhead_ms)
    assert predict_latency(space.largest(), table) > table.overhead_ms


def test_derive_malformed_table(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert derive(["st_topo:mobilenetv2", "--lut", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "latency table" in err and err.count("\n") == 1


def test_pv_st_tiny_table(tmp_path):
    path = tmp_path / "pv.json"
    assert profile(["--space", "pv_st_tiny", "--resolution", "16", "--frames", "2", "--out", str(path)] + FAST) == 0
    table = load_table(path)
    space = nas.get_space("pv_st_tiny")
    assert len(table.entries) == len(space.block_configs(space.target(resolution=16, frames=2)))
    assert predict_latency(space.default(), table) > 0

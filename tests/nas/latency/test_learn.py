"""The latency table learns from whole-model timings: the stages fit, the refit with its history, and the three
commands that time whole models against a table (nas-derive --learn, nas-profile --refine, the search's check)."""
import json
import random
import shutil

import pytest

import nas
from nas.cli.derive import main as derive
from nas.cli.profile import main as profile
from nas.errors import NasError
from nas.latency.learn import fit_stages, refine, refit
from nas.latency.table import block_group, group_sums, load_table, predict_latency

def test_block_groups_are_feature_map_sizes():
    assert block_group("k3e6|56x56|24>32|s2|n") == "56x56"  # st_topo edge
    assert block_group("bottleneck|tsm|8x14x14|1024>256>256>1024|s1") == "8x14x14"  # pv_st block
    assert block_group("conv3x3|16x16|32") == "16x16"  # nb201 edge: 'conv3x3' is an op, not a size
    assert block_group("odd") == "all"


def test_stages_fit_recovers_per_stage_scales_and_stays_near_one_on_few_samples():
    rng = random.Random(0)
    rows = []
    for _ in range(40):
        sums = {"a": rng.uniform(1, 10), "b": rng.uniform(1, 10)}
        rows.append((3.0 + 0.5 * sums["a"] + 1.5 * sums["b"], sums))
    overhead, scales, ridge = fit_stages(rows)
    assert overhead == pytest.approx(3.0, abs=0.05) and scales["a"] == pytest.approx(0.5, abs=0.02)
    assert scales["b"] == pytest.approx(1.5, abs=0.02) and ridge <= 0.01  # the data support it: a weak penalty
    few = fit_stages(rows[:2])  # two timings cannot tell two scales and an overhead apart: the prior holds them
    assert all(abs(s - 1) < 0.3 for s in few[1].values()) and few[2] == 100.0
    with pytest.raises(NasError, match="at least one whole-model timing"):
        fit_stages([])


def test_refine_adds_samples_refits_and_keeps_history(st_lut):
    table = load_table(st_lut)
    space = nas.get_space("st_topo")
    g = space.largest()
    true_ms = 2 * predict_latency(g, table)
    learned, entry = refine(table, [(g, true_ms)], "test")
    assert len(learned.overhead_samples) == len(table.overhead_samples) + 1 and learned.history[-1] == entry
    assert entry["mape_before_pct"] == pytest.approx(50.0) and entry["added"] == 1 and entry["source"] == "test"
    again, _ = refine(learned, [(g, true_ms / 2)], "again")  # the newest timing of a member replaces the old
    assert len(again.overhead_samples) == len(learned.overhead_samples) and len(again.history) == 2
    assert [s for s in again.overhead_samples if s[0] == str(g)][0][1] == pytest.approx(true_ms / 2)
    stages, fitted = refit(again, "stages")
    assert stages.calibration == "stages" and set(stages.stage_scales) == set(group_sums(g, again)) and "ridge" in fitted
    # a stages table round-trips through its file and predicts from its per-stage scales
    from nas.latency.table import from_dict
    back = from_dict(json.loads(json.dumps(stages.to_dict())))
    assert back == stages and predict_latency(g, back) == pytest.approx(
        stages.overhead_ms + sum(stages.stage_scales[k] * v for k, v in group_sums(g, stages).items()))


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.update(calibration="cubic"), "calibration must be one of"),
    (lambda d: d.update(history={"a": 1}), "'history' must be a list"),
    (lambda d: d.update(stage_scales={"56x56": "big"}), "stage scale"),
    (lambda d: d.update(overhead_samples=[["g", -1.0, 2.0]]), "measured ms"),
])
def test_hand_edited_learning_fields_are_one_line_errors(st_lut, tmp_path, edit, match):
    doc = json.loads(st_lut.read_text())
    edit(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(NasError, match=match):
        load_table(bad)


def test_derive_learn_and_profile_refine_write_history(st_lut, tmp_path, capsys):
    path = tmp_path / "lut.json"
    shutil.copy(st_lut, path)
    n = len(load_table(path).overhead_samples)
    largest = str(nas.get_space("st_topo").largest())  # not among the table's calibration models
    assert derive([largest, "--resolution", "32", "--lut", str(path), "--latency", "--learn",
                   "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["measured_latency_ms"] > 0 and "learned from 1 timing(s)" in err
    table = load_table(path)
    assert len(table.overhead_samples) == n + 1 and table.history[-1]["source"] == "nas-derive --latency --learn"
    assert profile(["--refine", str(path), "--members", "3", "--calibration", "stages"]) == 0
    table = load_table(path)
    assert len(table.overhead_samples) == n + 4 and len(table.history) == 2 and table.calibration == "additive"
    assert derive(["st_topo:mobilenetv2", "--lut", str(path), "--learn"]) == 2
    assert "--learn needs --lut FILE and --latency" in capsys.readouterr().err
    assert derive(["st_topo:mobilenetv2", "--resolution", "32", "--lut", str(path), "--latency", "--learn",
                   "--reps", "5"]) == 2
    assert "as the table was timed" in capsys.readouterr().err
    assert profile(["--refine", str(path), "--space", "st_topo"]) == 2
    assert "drop --space and --out" in capsys.readouterr().err

"""The latency table: JSON round trip, the pure predictor, the compatibility check and malformed files."""
import json

import pytest

import nas
from nas.errors import NasError
from nas.latency.table import (LatencyTable, check_compatible, fit_calibration, from_dict, load_table,
                               predict_latency, save_table)

ENV = {"device": "cpu: Test CPU", "torch": "9.9", "threads": 1, "batch": 1}


def _table(space="st_topo", resolution=32, scale=1.0):
    s = nas.get_space(space)
    t = s.target(resolution=resolution)
    keys = s.block_configs(t)
    # a made-up but deterministic timing per key, so the predictor's sum can be checked exactly
    entries = {k: scale * (1 + i % 7) / 10 for i, k in enumerate(keys)}
    target = {"resolution": t.resolution, "num_classes": t.num_classes, "frames": t.frames}
    return LatencyTable(space, target, ENV, 0.5, entries)


@pytest.mark.parametrize("space", ["st_topo", "pv_st", "pv_st_m", "pv_st_tiny", "nb201"])
def test_every_member_block_is_in_block_configs(space):
    import random

    s = nas.get_space(space)
    t = s.target(resolution=s.min_resolution * 2)
    configs = set(s.block_configs(t))
    rng = random.Random(0)
    for g in [s.default(), s.cheapest(), s.largest()] + [s.sample(rng) for _ in range(20)]:
        assert set(s.latency_blocks(g, t)) <= configs


def test_predictor_is_sum_of_entries_plus_overhead():
    table = _table()
    s = nas.get_space("st_topo")
    g = s.default()
    keys = s.latency_blocks(g, s.target(resolution=32))
    assert predict_latency(g, table) == pytest.approx(0.5 + sum(table.entries[k] for k in keys))
    # a denser member has more blocks, hence a larger prediction under positive entries
    assert predict_latency(s.largest(), table) > predict_latency(s.cheapest(), table)


def test_calibration_recovers_an_exact_affine_gap_and_scales_the_prediction():
    samples = [(f"g{i}", 2.0 + 0.8 * s, s) for i, s in enumerate([5.0, 11.0, 20.0, 37.0])]
    overhead, scale = fit_calibration(samples, "affine")
    assert overhead == pytest.approx(2.0) and scale == pytest.approx(0.8)
    table = _table()
    scaled = LatencyTable(table.space, table.target, table.env, overhead, table.entries, scale=scale)
    s = nas.get_space("st_topo")
    g = s.default()
    blocks = sum(table.entries[k] for k in s.latency_blocks(g, s.target(resolution=32)))
    assert predict_latency(g, scaled) == pytest.approx(2.0 + 0.8 * blocks)


def test_calibration_falls_back_to_the_median_gap():
    # two distinct sums cannot fix a scale; a fit whose scale comes out negative is refused too
    assert fit_calibration([("a", 3.0, 1.0), ("b", 5.0, 2.0), ("c", 5.5, 2.0)], "affine") == (3.0, 1.0)
    assert fit_calibration([("a", 10.0, 1.0), ("b", 8.0, 2.0), ("c", 6.0, 3.0)], "affine")[1] == 1.0
    with pytest.raises(NasError, match="at least one whole-model timing"):
        fit_calibration([])


def test_the_default_additive_calibration_is_the_median_gap_at_scale_one():
    samples = [(f"g{i}", 2.0 + 0.8 * s, s) for i, s in enumerate([5.0, 11.0, 20.0, 37.0])]
    # gaps m - s: 1.0, -0.2, -2.0, -5.4; their median is -1.1
    assert fit_calibration(samples) == (pytest.approx(-1.1), 1.0)
    with pytest.raises(NasError, match="additive or affine, got 'linear'"):
        fit_calibration(samples, "linear")


def test_a_table_without_a_scale_reads_as_scale_one(tmp_path):
    table = _table()
    data = table.to_dict()
    assert data["scale"] == 1.0
    del data["scale"]
    assert from_dict(data).scale == 1.0
    with pytest.raises(NasError, match="scale must be"):
        from_dict({**data, "scale": -1.0})


def test_round_trip(tmp_path):
    table = _table("pv_st_tiny")
    save_table(table, tmp_path / "t.json")
    back = load_table(tmp_path / "t.json")
    g = nas.get_space("pv_st_tiny").default()
    assert predict_latency(g, back) == predict_latency(g, table)
    assert back.entries == table.entries and back.env == table.env


def test_compatibility():
    table = _table()
    target = dict(table.target)
    assert check_compatible(table, ENV, space="st_topo", target=target) == []
    other = dict(ENV, device="cuda: Other GPU")
    with pytest.raises(NasError, match="made elsewhere.*--lut-force"):
        check_compatible(table, other, space="st_topo", target=target)
    assert len(check_compatible(table, other, space="st_topo", target=target, force=True)) == 1
    with pytest.raises(NasError, match="built for resolution 32"):
        check_compatible(table, ENV, space="st_topo", target=dict(target, resolution=64), force=True)
    with pytest.raises(NasError, match="for space 'st_topo'"):
        check_compatible(table, ENV, space="pv_st", target=target, force=True)


@pytest.mark.parametrize("doc, match", [
    ([1, 2], "not a nas-latency-lut/1"),
    ({"schema": "nas-latency-lut/1", "space": "st_topo"}, "missing key 'target'"),
    ({"schema": "nas-latency-lut/1", "space": "st_topo", "target": {"resolution": 32}, "env": ENV,
      "overhead_ms": 1.0, "entries": {"k": {"median_ms": "x" * 500}}}, "median_ms must be"),
    ({"schema": "nas-latency-lut/1", "space": "st_topo", "target": {"resolution": 32}, "env": {},
      "overhead_ms": 1.0, "entries": {"k": {"median_ms": 1}}}, "'env' must record"),
])
def test_malformed_is_one_line(doc, match):
    with pytest.raises(NasError, match=match) as info:
        from_dict(doc)
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_missing_entry_and_torn_file(tmp_path):
    table = _table()
    short = LatencyTable(table.space, table.target, table.env, 0.0, dict(list(table.entries.items())[:3]))
    with pytest.raises(NasError, match="no entry for block"):
        predict_latency(nas.get_space("st_topo").default(), short)
    (tmp_path / "torn.json").write_text(json.dumps(table.to_dict())[:50])
    with pytest.raises(NasError, match="latency table"):
        load_table(tmp_path / "torn.json")

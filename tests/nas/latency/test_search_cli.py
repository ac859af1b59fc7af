"""nas-search --latency: one-line errors for bad budgets and tables, and a tiny search that keeps its limit."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nas.cli.search import main as search

TINY = str(Path(__file__).resolve().parents[3] / "recipes" / "search" / "st_topo_tiny.yaml")
# the smallest search that still trains, scores and evolves: seconds on two cores
QUICK = ["data.train_size=64", "data.val_size=32", "score.val_images=32", "sgld.enabled=false",
         "evolution.population=3", "evolution.generations=1", "evolution.parents=2"]


@pytest.fixture(scope="module")
def lut(tmp_path_factory):
    # in a process of its own: torch state that earlier tests left in this one (threads) must not shape the table
    path = tmp_path_factory.mktemp("lut") / "st32.json"
    subprocess.run([sys.executable, "-m", "nas.cli.profile", "--space", "st_topo", "--resolution", "32", "--out",
                    str(path), "--reps", "3", "--warmup", "1", "--clock", "cpu"], check=True, capture_output=True,
                   timeout=600)
    return path


def _below_fastest(lut) -> str:
    """Return a latency budget under the table's own prediction of its fastest member (a fixed figure is not:
    a table measured on a busy machine may predict well under a millisecond, its fitted overhead negative)."""
    import nas
    from nas.latency.budget import fastest
    from nas.latency.table import load_table, predict_latency

    table, space = load_table(lut), nas.get_space("st_topo")
    least = predict_latency(fastest(space, lambda g: predict_latency(g, table, space)), table, space)
    assert least > 0, f"the table predicts {least} ms for its fastest member"
    return f"{least / 2:.6f}ms"


def _base(out, *extra):
    return ["--space", "st_topo", "--recipe", TINY, "--resolution", "32", "--out", str(out), *extra]


@pytest.mark.parametrize("extra, match", [
    (["--latency", "25xs"], "bad latency '25xs'"),
    (["--lut", "x.json"], "apply only with a latency budget"),
    (["--latency", "25ms", "--lut", "/nonexistent/lut.json"], "latency table"),
    (["--latency", "BELOW", "--lut", "LUT"], "below the fastest member"),
])
def test_bad_latency_input_is_one_line(extra, match, lut, tmp_path, capsys):
    extra = [str(lut) if x == "LUT" else _below_fastest(lut) if x == "BELOW" else x for x in extra]
    assert search(_base(tmp_path / "run", *extra)) == 2
    err = capsys.readouterr().err
    assert match in err and err.strip().count("\n") == 0
    assert not (tmp_path / "run").exists()


def test_bad_latency_on_a_video_space_is_one_line(capsys, tmp_path):
    assert search(["--space", "pv_st_tiny", "--latency", "25xs", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "bad latency '25xs'" in err and err.count("\n") == 1 and not (tmp_path / "r").exists()


@pytest.mark.slow  # a real (tiny) supernet search: about a minute on two busy cores
def test_tiny_search_under_latency_and_madds(lut, tmp_path, capsys):
    table = json.loads(lut.read_text())
    out = tmp_path / "run"
    budget = round(table["overhead_ms"] + 0.6 * sum(v["median_ms"] for v in table["entries"].values()) / 3, 2)
    assert search(_base(out, "--latency", f"{budget}ms", "--lut", str(lut), "--madds", "30M", *QUICK)) == 0
    assert "ms predicted" in capsys.readouterr().out
    g = yaml.safe_load((out / "genotype.yaml").read_text())
    summary = json.loads((out / "summary.json").read_text())
    for data in (g, summary):
        assert 0 < data["predicted_latency_ms"] <= budget and data["measured_latency_ms"] > 0
        assert data["latency_budget_ms"] == budget and data["madds"] <= 30_000_000
    assert all(t["madds"] <= 30_000_000 for t in summary["top5"])  # real MAdds, not the combined cost
    for row in (json.loads(x) for x in (out / "search.jsonl").read_text().splitlines()):
        assert row["madds"] <= 30_000_000
    assert not (out / "latency_lut.json").exists()  # a given table is not copied


@pytest.mark.slow
def test_search_builds_and_caches_its_table(tmp_path, capsys):
    out = tmp_path / "run"
    assert search(_base(out, "--latency", "1s", "madds=null", *QUICK)) == 0
    cached = json.loads((out / "latency_lut.json").read_text())
    assert cached["target"]["resolution"] == 32 and cached["env"]["threads"] == 1
    assert "measuring a latency table" in capsys.readouterr().err
    assert yaml.safe_load((out / "genotype.yaml").read_text())["budget"] is None

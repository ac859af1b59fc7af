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
    (["--latency", "BELOW", "--lut", "LUT"], "the fastest model timed for the table ran in"),
    (["--latency", "25ms", "--lut", "LUT", "--verify-k", "0"], "latency_verify_k must be in 1..100"),
    (["--latency", "10s", "--lut", "LUT", "madds=null"], "is above the largest st_topo model"),
    (["--latency", "25ms", "--lut", "LUT", "latency_verify_k=-3"], "latency_verify_k must be in 1..100"),
    (["--latency", "25ms", "--lut", "LUT", "latency_verify_rounds=0"], "latency_verify_rounds must be in 1..50"),
    (["--latency", "25ms", "--learn"], "refines a --lut file"),
    (["--learn"], "apply only with a latency budget"),
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
    rc = search(_base(out, "--latency", f"{budget}ms", "--lut", str(lut), "--madds", "30M", *QUICK))
    checked = json.loads((out / "latency_verify.json").read_text())  # kept whatever the check decided
    assert 1 <= checked["k"] <= 5 and len(checked["candidates"]) == checked["k"]
    if rc != 0:  # none of the candidates measured within the budget on this machine: said in one line
        err = capsys.readouterr().err
        assert rc == 2 and "none of the" in err and not (out / "genotype.yaml").exists()
        return
    assert "ms predicted" in capsys.readouterr().out
    g = yaml.safe_load((out / "genotype.yaml").read_text())
    summary = json.loads((out / "summary.json").read_text())
    for data in (g, summary):
        assert 0 < data["predicted_latency_ms"] <= budget and data["measured_latency_ms"] > 0
        assert data["measured_latency_ms"] + data["measured_latency_spread_ms"] / 2 <= budget  # measured, not predicted
        assert data["latency_budget_ms"] == budget and data["madds"] <= 30_000_000
        assert data["latency_verify"]["candidates"][data["latency_verify"]["returned"]]["verdict"] == "within"
    assert all(t["madds"] <= 30_000_000 for t in summary["top5"])  # real MAdds, not the combined cost
    for row in (json.loads(x) for x in (out / "search.jsonl").read_text().splitlines()):
        assert row["madds"] <= 30_000_000
    assert not (out / "latency_lut.json").exists()  # a given table is not copied


@pytest.mark.slow
def test_search_builds_and_caches_its_table(tmp_path, capsys):
    out = tmp_path / "run"
    assert search(_base(out, "--latency", "1s", "madds=null", "evolution.min_budget_fraction=0", *QUICK)) == 0
    cached = json.loads((out / "latency_lut.json").read_text())
    assert cached["target"]["resolution"] == 32 and cached["env"]["threads"] == 1
    assert "measuring a latency table" in capsys.readouterr().err
    assert yaml.safe_load((out / "genotype.yaml").read_text())["budget"] is None
    assert cached["history"] == []  # the table the search predicted from stays as it was (a resume predicts the same)
    copy = json.loads((out / "latency_lut_learned.json").read_text())  # its copy learned from the final check
    learned = copy["history"][-1]
    assert len(copy["history"]) == 1 and learned["source"].startswith("nas-search latency check")
    assert learned["added"] == json.loads((out / "latency_verify.json").read_text())["k"]


@pytest.mark.slow  # a tiny search plus two latency checks: about a minute and a half on two busy cores
def test_a_search_whose_candidates_all_run_over_returns_none(lut, tmp_path, capsys):
    """A table that predicts half the real times lets the search pick members that all run over when measured."""
    doc = json.loads(lut.read_text())
    doc["entries"] = {k: {**v, "median_ms": v["median_ms"] / 2} for k, v in doc["entries"].items()}
    doc["overhead_ms"] = doc["overhead_ms"] / 2
    optimistic = tmp_path / "optimistic.json"
    optimistic.write_text(json.dumps(doc))
    from nas.latency.table import load_table, predict_latency
    import nas

    space, table = nas.get_space("st_topo"), load_table(optimistic)
    budget = 1.2 * predict_latency(space.default(), table, space)  # real times are about twice the prediction
    out = tmp_path / "run"
    assert search(_base(out, "--latency", f"{budget:.4f}ms", "--lut", str(optimistic), "--verify-k", "2",
                        "madds=null", *QUICK)) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # the progress lines come before it
    assert last.startswith("nas-search: error: none of the 2 best candidates ran within") and "--resume" in last
    checked = json.loads((out / "latency_verify.json").read_text())
    assert checked["returned"] is None and {c["verdict"] for c in checked["candidates"]} <= {"over", "undecided"}
    assert not (out / "genotype.yaml").exists() and not (out / "summary.json").exists()
    assert load_table(optimistic).history == ()  # a --lut file learns only when asked
    # the way on: time more candidates of the same finished search (nothing is trained again), and learn from them
    assert search(["--resume", str(out), "--verify-k", "3", "--learn"]) == 2
    checked = json.loads((out / "latency_verify.json").read_text())
    assert checked["k"] == 3
    learned = load_table(optimistic)  # it was far off on the timings (about half), and its refit is the best
    assert len(learned.history) == 1 and learned.history[0]["mape_before_pct"] > 25  # additive fit to them all

    def total_error(t):
        return sum(abs(predict_latency(nas.load_genotype(g), t, space) - m) for g, m, _ in learned.overhead_samples)

    assert len(learned.overhead_samples) == len(table.overhead_samples) + 3
    assert total_error(learned) < total_error(table)

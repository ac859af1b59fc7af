"""SearchRun: strategy choice and misfits, reports for Ray, resume records, folder refusal, before any work."""
import json
from pathlib import Path

import pytest
import torch

import nas
from nas.config import build_config
from nas.config.search import SearchConfig
from nas.search.run import SearchRun, config_class, resolve_strategy

TORCH_THREADS = 1
TINY = Path(__file__).resolve().parents[3] / "recipes" / "search" / "st_topo_tiny.yaml"
MICRO = ["data.proxy_resolution=8", "data.train_size=64", "data.val_size=32", "data.batch_size=32",
         "sgld.burn_in=1", "sgld.snapshots=2", "sgld.spacing=1", "score.bn_batches=1", "score.bn_batch_size=16",
         "score.val_images=32", "score.eval_batch_size=32", "evolution.population=3", "evolution.generations=1",
         "evolution.parents=1"]


def micro(**flags):
    return build_config(SearchConfig, recipe=TINY, flags=flags, opts=MICRO)


def test_strategy_defaults_and_misfits():
    st, pv = nas.get_plugin("st_topo"), nas.get_plugin("pv_st")
    assert resolve_strategy(st, None) == "evolution" and resolve_strategy(pv, None) == "differentiable"
    assert resolve_strategy(st, "random") == "random"
    assert config_class(st) is SearchConfig and config_class(pv) is SearchConfig
    with pytest.raises(nas.NasError, match="needs a supernet with architecture parameters"):
        resolve_strategy(st, "differentiable")
    with pytest.raises(nas.NasError, match="image one-shot supernet"):
        resolve_strategy(pv, "random")


def test_infeasible_budget_fails_before_the_folder_exists(tmp_path):
    run = SearchRun(micro(madds="10M"), tmp_path / "run")  # construction checks nothing
    with pytest.raises(nas.NasError, match="infeasible budget: MAdds budget 10M is below the cheapest st_topo"):
        run.check()
    with pytest.raises(nas.NasError, match="infeasible budget"):
        run.run(resume=False)
    assert not (tmp_path / "run").exists()


def test_budget_above_the_largest_fails_before_the_folder_exists(tmp_path):
    """At 2G the window [0.85 x 2G, 2G] lies above st_topo's largest member (1.32G): one line, before any work."""
    with pytest.raises(nas.NasError, match=r"above the largest st_topo model \(1.32G MAdds at 224\^2\).*"
                                           r"evolution.min_budget_fraction"):
        SearchRun(micro(madds="2G"), tmp_path / "run").run(resume=False)
    assert not (tmp_path / "run").exists()
    # above the largest with a lower edge below it: the window keeps only the top few members, its own message
    with pytest.raises(nas.NasError, match=r"1.5G is above the largest st_topo model .* at most 1.32G"):
        SearchRun(micro(madds="1.5G"), tmp_path / "run").check()
    SearchRun(micro(madds="2G", **{"evolution.min_budget_fraction": 0.0}), tmp_path / "ok").check()  # no limit


@pytest.mark.parametrize("strategy", ["evolution", "random"])
def test_reports_resume_record_and_refusal(strategy, tmp_path):
    reports = []
    out = tmp_path / "run"
    cfg = micro(strategy=strategy)
    best = SearchRun(cfg, out, torch.device("cpu"), on_report=reports.append).run(resume=False)
    phases = [r["phase"] for r in reports]
    assert phases == ["supernet", "sgld", "sgld", "search", "search"]
    assert all(0 <= r["score"] <= 1 for r in reports if r["phase"] == "search")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == strategy and summary["genotype"] == str(best)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["kind"] == "search" and meta["strategy"] == strategy and "resumes" not in meta
    assert SearchRun(cfg, out).run(resume=True) == best  # a finished run resumes to the same answer
    meta = json.loads((out / "meta.json").read_text())
    assert len(meta["resumes"]) == 1 and meta["argv"]
    with pytest.raises(nas.NasError, match="already holds a search run"):
        SearchRun(cfg, out).run(resume=False)


def test_check_measures_no_latency_table(tmp_path):
    """A latency budget without --lut is checked as far as it can be without timing anything: the table is
    measured by run(), after the folder exists; trials validate through check() alone."""
    run = SearchRun(micro(latency="25ms"), tmp_path / "run")
    run.check()
    assert run.latency is None and not (tmp_path / "run").exists()
    with pytest.raises(nas.NasError, match="below the cheapest st_topo model"):
        SearchRun(micro(latency="25ms", madds="10M"), tmp_path / "run").check()


def test_families_resolve_through_the_registries():
    from nas.search.families import list_families, resolve_family

    st, nb = nas.get_plugin("st_topo"), nas.get_plugin("nb201")
    assert list_families() == ["bilevel", "one_shot", "tabular"]
    assert resolve_family(st, "evolution", micro()) == "one_shot"
    assert resolve_family(nb, "differentiable") == "bilevel"
    tab = build_config(SearchConfig, flags={"space": "nb201"}, opts=["benchmark.name=cifar10"],
                       base=nb.search_defaults)
    assert resolve_family(nb, "random", tab) == "tabular"
    with pytest.raises(nas.NasError, match="space 'st_topo' has none"):
        resolve_family(st, "evolution", micro(**{"benchmark.name": "cifar10"}))

"""tools/bench_proxy_rea.py: the warm start takes the pool's best by the proxy; runs, picks and claims."""
import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest

import nas
from nas.benchmarks import load_table

_SPEC = importlib.util.spec_from_file_location("bench_proxy_rea",
                                               Path(__file__).resolve().parents[2] / "tools" / "bench_proxy_rea.py")
rea = importlib.util.module_from_spec(_SPEC)
sys.modules["bench_proxy_rea"] = rea
_SPEC.loader.exec_module(rea)


def _rows(n=40):
    plugin = nas.get_plugin("nb201")
    table = load_table(plugin.space, plugin.table_source())
    valid = table.column("c10_valid_12ep")
    cells = sorted(valid)[::300][:n]
    # an oracle proxy (the validation value) and its reverse
    return [{"cell": c, "scores": {"oracle": valid[c], "worst": -valid[c]}} for c in cells], valid


def test_warm_start_is_the_pools_best_by_the_proxy():
    rows, valid = _rows()
    warm = rea.warm_start(rows, "oracle", 30, random.Random(0))
    pool = random.Random(0).sample(rows, 30)
    best = sorted(pool, key=lambda r: -valid[r["cell"]])[:rea.POPULATION]
    assert warm == [r["cell"] for r in best]


def test_runs_and_claims(tmp_path, capsys):
    rows, valid = _rows()
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert rea.main(["--raw", str(raw), "--out", str(tmp_path / "o"), "--seeds", "4", "--pool", "30",
                     "--variants", "plain,oracle,worst"]) == 0
    runs = [json.loads(x) for x in (tmp_path / "o" / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 12 and all(len(r["picks"]) == 3 for r in runs)
    for r in runs:  # a later pick has seen more cells: never worse by validation
        v = [valid[str(nas.get_space("nb201").parse(g))] for g in r["picks"]]
        assert v[0] <= v[1] <= v[2]
        if r["variant"] == "oracle":
            warm = rea.warm_start(rows, "oracle", 30, random.Random(f"{r['seed']}-pool"))
            assert v[0] >= valid[warm[0]]
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert "oracle - plain at 50" in rep["claims"] and "oracle: goal +0.2 over plain at 50" in rep["claims"]
    assert rep["claims"]["worst - plain at 50"]["n"] == "4 paired seeds"
    assert rea.main(["--raw", str(raw), "--out", str(tmp_path / "o"), "--pool", "41"]) == 2


def test_the_filter_queries_the_proxys_best_proposal_and_needs_every_cell(tmp_path):
    plugin = nas.get_plugin("nb201")
    valid = load_table(plugin.space, plugin.table_source()).column("c10_valid_12ep")
    rows = [{"cell": c, "scores": {"oracle": v, "worst": -v}} for c, v in valid.items()]
    scorer = rea.TabularScorer.for_config(plugin, rea.BenchmarkConfig(name="cifar10"))
    best, worst = (rea.run(rows, f"filter:{n}", 0, 200, scorer, k=10) for n in ("oracle", "worst"))
    v = lambda picks: [valid[str(nas.get_space("nb201").parse(g))] for g in picks]  # noqa: E731
    assert v(best)[0] > v(worst)[0]  # the oracle filter finds better cells by 50 than its reverse
    space = nas.get_space("nb201")
    proxy = {str(space.parse(r["cell"])): r["scores"]["oracle"] for r in rows}
    re = rea.RegularizedEvolution(space, lambda g: space.cost(g).madds, lo=0, hi=10**12, population=20,
                                  sample_size=5, max_queries=100, rng=random.Random(1))
    re.tell([(g, valid[str(g)]) for g in re.ask()])
    twin = random.Random(1)
    twin.setstate(re.rng.getstate())
    child = rea.filtered(re, proxy, 5)[0]
    re.rng.setstate(twin.getstate())
    proposals = [re.ask()[0] for _ in range(5)]
    assert child == max(proposals, key=lambda g: proxy[str(g)])
    with pytest.raises(rea.NasError, match="every cell"):
        rea.run(rows[:100], "filter:oracle", 0, 20, scorer)
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in rows[:300]))
    assert rea.main(["--raw", str(raw), "--out", str(tmp_path / "o"), "--variants", "plain,filter:naswot"]) == 2

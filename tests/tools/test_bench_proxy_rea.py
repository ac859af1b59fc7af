"""tools/bench_proxy_rea.py: the warm start takes the pool's best by the proxy; runs, picks and claims."""
import importlib.util
import json
import random
import sys
from pathlib import Path

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

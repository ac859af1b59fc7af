"""tools/bench_proxies.py: raw rows per cell, --resume goes on without measuring twice, the report recomputes."""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

_SPEC = importlib.util.spec_from_file_location("bench_proxies",
                                               Path(__file__).resolve().parents[2] / "tools" / "bench_proxies.py")
bench = importlib.util.module_from_spec(_SPEC)
sys.modules["bench_proxies"] = bench
_SPEC.loader.exec_module(bench)
TORCH_THREADS = 1


def test_measure_resume_and_report(tmp_path, capsys):
    args = ["--out", str(tmp_path), "--cells", "12", "--batch-size", "4", "--proxies", "synflow", "--resamples", "20"]
    assert bench.main(args) == 2  # fewer than 20 cells: a one-line error after measuring them
    rows = bench.read_rows(tmp_path / "raw.jsonl")
    assert len(rows) == 12 and set(rows[0]["scores"]) == {"synflow", "madds", "params"}
    assert rows[0]["values"]["c10_test_200ep_analog"] > 0 and rows[0]["seconds"]["synflow"] > 0
    assert bench.main(args[:3] + ["24"] + args[4:]) == 2  # an existing file needs --resume
    assert bench.main(args[:3] + ["24"] + args[4:] + ["--resume"]) == 0
    rows2 = bench.read_rows(tmp_path / "raw.jsonl")
    assert len(rows2) == 24 and rows2[:12] == rows  # the first 12 were not measured again
    assert [r["cell"] for r in rows2] == bench.cells(bench_table(), 24, 0)
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["cells"] == 24 and rep["blend"]["fit_cells"] == 12 and rep["blend"]["judged_cells"] == 12
    goal = rep["proxies"]["synflow"]["columns"]["c10_test_200ep_analog"]["spearman"]
    s = [r["scores"]["synflow"] for r in rows2]
    a = [r["values"]["c10_test_200ep_analog"] for r in rows2]
    assert goal["value"] == pytest.approx(np.corrcoef(np.argsort(np.argsort(s)), np.argsort(np.argsort(a)))[0, 1])
    assert goal["ci"][0] <= goal["value"] <= goal["ci"][1]
    d = rep["proxies"]["synflow"]["vs_madds"]["spearman"]
    assert d["verdict"] in ("met", "not shown") and d["n"] == "24 cells"
    out = capsys.readouterr().out
    assert "n = 24 NB201 cells" in out and "blend" in out
    assert bench.main(["--out", str(tmp_path), "--report-only", "--resamples", "20"]) == 0
    assert json.loads((tmp_path / "report.json").read_text()) == rep


def bench_table():
    import nas
    from nas.benchmarks import load_table

    plugin = nas.get_plugin("nb201")
    return load_table(plugin.space, plugin.table_source())


def test_threads_are_recorded_and_one_folder_holds_one_count(tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    args = ["--out", str(tmp_path), "--cells", "20", "--batch-size", "4", "--proxies", "synflow", "--resamples", "20"]
    try:
        assert bench.main(args + ["--threads", "2"]) == 0
    finally:
        torch.set_num_threads(before)
    rows = bench.read_rows(tmp_path / "raw.jsonl")
    assert {r["threads"] for r in rows} == {2}
    assert json.loads((tmp_path / "report.json").read_text())["threads"] == [2]
    assert "timed on 2 thread(s)" in capsys.readouterr().out
    assert bench.main(args[:3] + ["24"] + args[4:] + ["--resume"]) == 2  # 1 thread into a 2-thread folder
    assert "was timed on 2 thread(s), this run on 1" in capsys.readouterr().err
    assert len(bench.read_rows(tmp_path / "raw.jsonl")) == 20
    assert bench.main(args + ["--threads", "0"]) == 2

"""tools/bench_training_free.py: real training-free searches timed as processes, raw rows kept, report recomputed."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("bench_training_free", ROOT / "tools" / "bench_training_free.py")
bench = importlib.util.module_from_spec(_SPEC)
sys.modules["bench_training_free"] = bench
_SPEC.loader.exec_module(bench)
TINY = str(ROOT / "recipes" / "search" / "st_topo_tiny.yaml")


def test_plan_interleaves_the_scorers_round_by_round():
    assert bench.plan(["synflow", "naswot"], 2, 1) == ["proxy:synflow", "proxy:naswot", "supernet",
                                                        "proxy:synflow", "proxy:naswot"]
    assert bench.plan(["zico"], 1, 0) == ["proxy:zico"]


def test_report_takes_medians_and_the_ratio_to_the_reference_in_the_same_setting():
    rows = [{"scorer": "proxy:synflow", "threads": 2, "wall": w} for w in (10.0, 30.0, 20.0)]
    rows += [{"scorer": "supernet", "threads": 2, "wall": 400.0}, {"scorer": "proxy:zico", "threads": 2, "wall": 80.0},
             {"scorer": "proxy:synflow", "threads": 1, "wall": 25.0}]
    got = {(e["scorer"], e["threads"]): e for e in bench.report(rows)}
    assert got[("proxy:synflow", 2)]["median_wall"] == 20.0 and got[("proxy:synflow", 2)]["runs"] == 3
    assert got[("proxy:synflow", 2)]["ratio_to_reference"] == pytest.approx(0.05)
    assert got[("proxy:synflow", 2)]["under_goal"] is True and got[("proxy:zico", 2)]["under_goal"] is False
    assert got[("proxy:synflow", 1)]["ratio_to_reference"] is None  # no reference timed on 1 thread
    assert got[("supernet", 2)]["under_goal"] is None
    assert "| proxy:synflow | 2 | 3 | 20.0 [10.0, 30.0] | yes | 0.050 |" in bench.format_report(bench.report(rows))


def test_a_real_training_free_search_is_timed_and_the_report_recomputes(tmp_path, capsys):
    out = tmp_path / "tf"
    args = ["--out", str(out), "--proxies", "synflow", "--repeats", "1", "--reference-repeats", "0", "--threads", "1",
            "--recipe", TINY]
    assert bench.main(args) == 0
    rows = bench.read_rows(out / "timings.jsonl")
    assert len(rows) == 1 and rows[0]["scorer"] == "proxy:synflow" and rows[0]["threads"] == 1
    assert rows[0]["wall"] > rows[0]["run_seconds"] > 0  # the process's wall time includes start and imports
    assert (out / "proxy-synflow-0" / "summary.json").is_file()
    first = json.loads((out / "report.json").read_text())
    assert bench.main(["--out", str(out), "--report"]) == 0
    assert json.loads((out / "report.json").read_text()) == first
    assert "| proxy:synflow | 1 | 1 |" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--proxies", "bogus"], "unknown proxy 'bogus'"),
    (["--threads", "0"], "--threads 1..256"),
    (["--report"], "no timings in"),
    (["--proxies", "synflow", "evolution.population=1"], "evolution.population must be at least 2"),
    (["--proxies", "synflow", "nonsense.key=3"], "nonsense"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    assert bench.main(["--out", str(tmp_path / "new"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "new").exists()  # refused before anything is written


def test_a_folder_of_another_kind_is_refused_and_left_alone(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep")
    assert bench.main(["--out", str(tmp_path), "--proxies", "synflow", "--reference-repeats", "0"]) == 2
    assert "holds other files" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]

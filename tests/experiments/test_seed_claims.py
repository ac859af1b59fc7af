"""experiments.seed_claims: the seed figures the docs state recompute from the raw per-seed metrics kept beside them."""
from pathlib import Path

import pytest

from experiments.seed_claims import claim, final_rows, main

ROOT = Path(__file__).resolve().parents[2]
DICE = ROOT / "experiments" / "results" / "forgery" / "baselines_spatial_v2" / "dice_width"


def _runs(setting):
    return final_rows(sorted(DICE.glob(f"metrics_{setting}_seed*.json")))


def test_goal_claim_recomputes_the_spatial_figure_at_four_times_the_images():
    out = claim(_runs("mix_60000"), "bin_iou", goal=0.5)
    assert out["seeds"] == [0, 1, 2]
    g = out["gain"]
    assert (round(out["mean"], 3), round(out["sd"], 3)) == (0.563, 0.011)
    assert [round(x, 3) for x in (g["estimate"], *g["ci"])] == [0.063, 0.035, 0.091]
    assert g["p"] == pytest.approx(0.005, abs=5e-4) and g["verdict"] == "met"
    assert claim(_runs("mix_recipe"), "bin_iou", goal=0.5)["gain"]["verdict"] == "not shown"


def test_paired_and_baseline_claims_and_lower_is_better():
    paired = claim(_runs("mix_recipe"), "bin_iou", against=_runs("rgb_recipe"))
    assert paired["gain"]["estimate"] == pytest.approx(0.033, abs=1e-3) and paired["gain"]["p"] < 0.05
    l1 = claim(_runs("rgb_recipe"), "l1", baseline="base_zero_l1", lower=True)["gain"]
    assert l1["estimate"] == pytest.approx(0.0006, abs=1e-4) and l1["verdict"] == "met"
    # the same L1 read as higher-is-better is a loss: not shown
    assert claim(_runs("rgb_recipe"), "l1", baseline="base_zero_l1")["gain"]["verdict"] == "not shown"


def test_bad_input_is_one_line(tmp_path, capsys):
    files = [str(p) for p in sorted(DICE.glob("metrics_rgb_recipe_seed*.json"))]
    assert main([*files, "--metric", "bin_iou"]) == 2  # no claim named
    assert main([*files, "--metric", "bin_iou", "--against", files[0]]) == 2  # seeds 1, 2 have no partner
    nameless = tmp_path / "metrics.json"
    nameless.write_text('{"epochs": [{"bin_iou": 0.5}]}')
    assert main([str(nameless), "--metric", "bin_iou", "--goal", "0.4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("seed_claims: ") for line in err)
    assert "Traceback" not in capsys.readouterr().err


def test_torn_and_foreign_files_are_one_line(tmp_path, capsys):
    torn, foreign, seedless = tmp_path / "m_seed0.json", tmp_path / "m_seed1.json", tmp_path / "runs.jsonl"
    torn.write_text('{"epochs": [')
    foreign.write_text('{"epochs": []}')
    seedless.write_text('{"name": "x", "bin_iou": 0.5}\n')
    for path in (torn, foreign, seedless):
        assert main([str(path), "--metric", "bin_iou", "--goal", "0.4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("seed_claims: ") for line in err)

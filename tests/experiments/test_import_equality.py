"""The import-equality figure on its cheapest family: MobileNetV2 into st_topo matches the reference."""
from experiments.import_equality import measure


def test_mobilenet_rows_are_equal_and_the_baseline_is_not(tmp_path):
    rows = measure("MobileNetV2 -> st_topo", 0, tmp_path)
    assert [r["genotype"] for r in rows] == ["st_topo:mobilenetv2", "mobilenetv2 with 5x5/7x7 kernels"]
    for r in rows:
        assert r["max_abs_diff"] < 1e-5 < r["fresh_model_diff"], r

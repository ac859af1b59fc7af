"""tools/bench_cost.py: our cost equals FlopCounterMode / 2 and thop less its BatchNorm term, on built models."""
import importlib.util
import sys
from pathlib import Path

import pytest

import nas

pytest.importorskip("thop")
_SPEC = importlib.util.spec_from_file_location("bench_cost", Path(__file__).resolve().parents[2] / "tools" / "bench_cost.py")
bench_cost = importlib.util.module_from_spec(_SPEC)
sys.modules["bench_cost"] = bench_cost  # dataclasses look their module up there
_SPEC.loader.exec_module(bench_cost)
TORCH_THREADS = 1


@pytest.mark.parametrize("genotype, target", [
    ("st_topo:mobilenetv2", dict(resolution=64, num_classes=10)),
    ("pv_st:r2plus1d", dict(resolution=32, num_classes=5, frames=2)),
])
def test_counts_agree(genotype, target):
    g = nas.load_genotype(genotype)
    counts, _ = bench_cost.count(g, nas.get_space(g.space).target(**target))
    assert counts.ours.madds == counts.flop_counter == counts.thop_without_bn
    assert counts.ours.params == counts.thop_params
    assert counts.bn_elements > 0

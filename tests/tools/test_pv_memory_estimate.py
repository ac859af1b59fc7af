"""tools/pv_memory_estimate.py: fake-tensor memory estimates, smaller with checkpointing and under bf16."""
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

_SPEC = importlib.util.spec_from_file_location("pv_memory_estimate",
                                               Path(__file__).resolve().parents[2] / "tools" / "pv_memory_estimate.py")
tool = importlib.util.module_from_spec(_SPEC)
sys.modules["pv_memory_estimate"] = tool
_SPEC.loader.exec_module(tool)
TORCH_THREADS = 1


@pytest.mark.slow  # three fake-tensor supernet builds: cheap on an idle machine, but outside the 25 s budget
def test_checkpointing_and_bf16_shrink_the_activation_estimate():
    plain = tool.estimate("pv_st_tiny", 2, 2, 32, False, None)
    ckpt = tool.estimate("pv_st_tiny", 2, 2, 32, True, None)
    bf16 = tool.estimate("pv_st_tiny", 2, 2, 32, False, torch.bfloat16)
    assert 0 < ckpt["activations_gib"] < plain["activations_gib"]
    assert bf16["activations_gib"] < plain["activations_gib"]
    assert plain["state_gib"] == ckpt["state_gib"] > 0

"""Bad device input on the command lines: one line on stderr, exit 2, no run folder written."""
import pytest
import torch

import nas
from nas.cli.retrain import main as retrain_main
from nas.cli.search import main as search_main

NO_CUDA = not torch.cuda.is_available()
TINY = str(nas.get_space("st_topo").cheapest())


def _one_line_error(capsys, text):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and text in err[0], err
    assert "Traceback" not in err[0]


@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:7"])
@pytest.mark.parametrize("space", ["st_topo", "pv_st_tiny"])
def test_search_refuses_cuda_without_cuda(tmp_path, capsys, device, space):
    out = tmp_path / "run"
    assert search_main(["--space", space, "--device", device, "--out", str(out)]) == 2
    _one_line_error(capsys, "no CUDA device")
    assert not out.exists()


@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
def test_search_refuses_cuda_from_the_config_key(tmp_path, capsys):
    assert search_main(["--space", "st_topo", "--out", str(tmp_path / "r"), "execution.device=cuda"]) == 2
    _one_line_error(capsys, "no CUDA device")


@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:7"])
def test_retrain_refuses_cuda_without_cuda(tmp_path, capsys, device):
    out = tmp_path / "run"
    assert retrain_main([TINY, "--device", device, "--out", str(out)]) == 2
    _one_line_error(capsys, "no CUDA device")
    assert not out.exists()


@pytest.mark.parametrize("main", [search_main, retrain_main])
def test_amp_fp8_is_refused(tmp_path, capsys, main):
    args = ["--space", "st_topo"] if main is search_main else [TINY]
    key = "execution.amp"
    assert main([*args, "--out", str(tmp_path / "r"), f"{key}=fp8"]) == 2
    _one_line_error(capsys, f"'{key}' must be one of auto|bf16|fp16|off")


def test_gpus_per_trial_above_the_machine_is_refused_before_ray(tmp_path, capsys):
    have = torch.cuda.device_count() if torch.cuda.is_available() else 0
    out = tmp_path / "trials"
    assert search_main(["--space", "st_topo", "--trials", "2", "--gpus-per-trial", str(have + 1),
                        "--out", str(out)]) == 2
    _one_line_error(capsys, f"but the cluster has {have} GPUs")
    assert not out.exists()


def test_cuda_trials_without_gpus_per_trial_are_refused(tmp_path, capsys):
    assert search_main(["--space", "st_topo", "--trials", "2", "--device", "cuda",
                        "--out", str(tmp_path / "t")]) == 2
    _one_line_error(capsys, "--gpus-per-trial")

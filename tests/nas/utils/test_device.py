"""Device resolution and the bad-input checks of --device, amp and --gpus-per-trial (all before any work)."""
import pytest
import torch

from nas.errors import NasError
from nas.utils.device import check_device_name, resolve_device, trial_device

NO_CUDA = not torch.cuda.is_available()


def test_auto_falls_back_to_cpu_in_one_line(capsys):
    lines = []
    device = resolve_device("auto", log=lines.append)
    if NO_CUDA:
        assert device == torch.device("cpu")
        assert len(lines) == 1 and "running on the CPU" in lines[0]
    else:
        assert device.type == "cuda" and not lines


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "cuda:", "tpu", "CPU", "cuda:99999"])
def test_bad_device_names_are_one_line_errors(name):
    with pytest.raises(NasError, match="auto, cpu, cuda or cuda:N") as exc:
        check_device_name(name)
    assert "\n" not in str(exc.value)


def test_a_long_or_odd_device_value_is_not_echoed_in_full():
    with pytest.raises(NasError) as exc:
        check_device_name("x" * 500)
    assert len(str(exc.value)) < 120
    with pytest.raises(NasError, match="got int"):
        check_device_name(3)


@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:7"])
def test_cuda_without_cuda_is_refused(name):
    with pytest.raises(NasError, match="no CUDA device"):
        resolve_device(name)


@pytest.mark.skipif(NO_CUDA, reason="needs CUDA")
def test_cuda_index_beyond_the_machine_is_refused():
    n = torch.cuda.device_count()
    with pytest.raises(NasError, match=f"has {n} CUDA device"):
        resolve_device(f"cuda:{n}")


def test_trials_use_the_gpu_ray_assigned():
    assert trial_device("auto", [3]) == "cuda:0"  # CUDA_VISIBLE_DEVICES holds only the assigned GPU
    assert trial_device("cuda", ["0"]) == "cuda:0"
    assert trial_device("auto", []) == "cpu"  # no GPU reserved: never touch one
    assert trial_device("cpu", [1]) == "cpu"
    with pytest.raises(NasError, match="--gpus-per-trial"):
        trial_device("cuda", [])
    with pytest.raises(NasError, match="does not apply to trials"):
        trial_device("cuda:1", [0])

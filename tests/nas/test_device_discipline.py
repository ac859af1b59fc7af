"""Device discipline: collectives, host-to-device copies, pinning and random draws happen on the declared device.

The spy (``tests/support/device_spy.py``) checks every such call while a run goes. On this CPU-only machine the
declared device is the CPU, so the runs below stand in for a GPU as follows: the machine claims CUDA
(``torch.cuda.is_available`` answers True), so code that chose pinning or a device from the machine instead of
from the injected device would pin or reach for CUDA; a draw followed by a copy shows as a ``.to`` of a fresh
random tensor even when both sides are the CPU; and the unit checks at the end inject a device the CPU cannot
fake (``meta``) where a CPU-made tensor would be the defect. DDP retraining is checked in
``tests/nas/distributed/test_train.py`` and trials in ``tests/nas/distributed/test_tune.py`` by the same spy,
installed in every process of those runs.
"""
import ast
import sys
from pathlib import Path

import pytest
import torch

import nas
from nas.config import build_config
from nas.config.search import SearchConfig

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))
from device_spy import DeviceSpy  # noqa: E402

TORCH_THREADS = 1
CPU = torch.device("cpu")
ST_MICRO = ["data.proxy_resolution=8", "data.train_size=64", "data.val_size=32", "data.batch_size=32",
            "sgld.burn_in=1", "sgld.snapshots=2", "sgld.spacing=1", "score.bn_batches=1", "score.bn_batch_size=16",
            "score.val_images=32", "score.eval_batch_size=32", "evolution.population=3", "evolution.generations=1",
            "evolution.parents=1", "confidence.second_chain=false", "confidence.resamples=20"]
PV_TINY = ["data.train_size=16", "data.alpha_size=16", "data.val_size=16", "search.bn_batches=1", "search.epochs=1",
           "search.warmup_epochs=0"]
NB_TINY = ["data.train_size=32", "data.val_size=16", "data.proxy_resolution=8", "supernet.width=0.25",
           "search.epochs=1", "search.warmup_epochs=0", "search.batch_size=16", "search.bn_batches=1",
           "score.val_images=16", "score.eval_batch_size=16"]


@pytest.fixture
def claims_cuda(monkeypatch):
    """A machine that says it has CUDA, for runs declared on the CPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """The declared device: the CPU on a machine that claims CUDA, and a real GPU where there is one."""
    if request.param == "cuda":
        if not torch.cuda.is_available():
            pytest.skip("no CUDA device")
        return torch.device("cuda")
    request.getfixturevalue("claims_cuda")
    return CPU


def _search(cfg, out: Path, device: torch.device = CPU) -> DeviceSpy:
    from nas.search.run import SearchRun

    with DeviceSpy(device) as spy:
        SearchRun(cfg, out, device).run(resume=False)
    return spy


def _assert_clean(spy: DeviceSpy, *kinds: str) -> None:
    assert not spy.violations, spy.violations[:5]
    seen = {kind for kind, _, _ in spy.events}
    assert set(kinds) <= seen, f"checked only {sorted(seen)}"  # the spy saw the run's work, not nothing


def test_one_shot_search_keeps_to_its_device(tmp_path, device):
    cfg = build_config(SearchConfig, recipe=str(ROOT / "recipes" / "search" / "st_topo_tiny.yaml"), opts=ST_MICRO)
    _assert_clean(_search(cfg, tmp_path / "st", device), "draw", "order", "copy")


def test_differentiable_video_search_keeps_to_its_device(tmp_path, device):
    from nas.config.search import search_config

    cfg = search_config("pv_st", recipe=str(ROOT / "recipes" / "search" / "pv_st_tiny.yaml"),
                        flags={"madds": "40G"}, opts=PV_TINY)
    spy = _search(cfg, tmp_path / "pv", device)
    _assert_clean(spy, "draw", "order", "copy")
    assert any(e[:2] == ("draw", "rand") for e in spy.events)  # the Gumbel noise


def test_differentiable_image_search_keeps_to_its_device(tmp_path, device):
    cfg = build_config(SearchConfig, flags={"space": "nb201", "strategy": "differentiable", "madds": 60_000_000},
                       opts=NB_TINY, base=nas.get_plugin("nb201").search_defaults)
    _assert_clean(_search(cfg, tmp_path / "nb", device), "draw", "order", "copy")


def test_local_retraining_keeps_to_its_device(tmp_path, device):
    from nas.config import from_dict, load_recipe, merge
    from nas.config.retrain import RetrainConfig
    from nas.train import retrain

    over = {"epochs": 1, "schedule": {"warmup_epochs": 0}, "data": {"train_size": 32, "val_size": 16},
            "execution": {"device": str(device)}}
    cfg = from_dict(RetrainConfig, merge(load_recipe(str(ROOT / "recipes" / "retrain" / "cpu_small.yaml")), over))
    with DeviceSpy(device) as spy:
        retrain(cfg, str(nas.get_space("st_topo").cheapest()), tmp_path / "r", log=lambda line: None, device=device)
    _assert_clean(spy, "draw", "order", "copy")


def test_the_spy_sees_a_draw_copied_and_a_pin_on_the_cpu():
    """The checks that stand in for a GPU fail on the CPU when the defect is there."""
    from torch.utils.data import DataLoader

    with DeviceSpy(CPU) as spy:
        torch.rand(3).to(CPU)  # drawn, then copied: the Gumbel defect
        list(DataLoader([torch.zeros(1)], pin_memory=False))
    assert spy.violations == ["draw to after a draw on cpu (declared cpu): drawn on one device, then copied"]
    with DeviceSpy(torch.device("meta")) as spy:
        torch.randperm(3)  # data order on the CPU is fine for any declared device
        torch.randn(2)  # noise on the CPU is not, for a meta run
    assert len(spy.violations) == 1 and spy.violations[0].startswith("draw randn on cpu")


def test_the_ddp_loss_all_reduce_uses_the_backend_device():
    """nccl takes only GPU tensors: the all-reduced loss must be made on the worker's device, not the CPU."""
    from nas.distributed.train import DdpBackend

    with DeviceSpy(torch.device("meta")) as spy, pytest.raises(Exception):
        DdpBackend(0, 2, torch.device("meta")).mean(1.5)  # no process group here: the call fails after the check
    assert [e[:2] for e in spy.events] == [("collective", "all_reduce")] and not spy.violations


def test_gumbel_and_sgld_noise_are_drawn_where_they_are_used():
    from nas.nn.mixed import relax
    from nas.optim.sgld import SGLD

    alpha = torch.zeros(5, requires_grad=True)
    with DeviceSpy(CPU) as spy:
        relax(alpha, "gumbel", generator=torch.Generator().manual_seed(0))
        relax(alpha, "sample", k=2, generator=torch.Generator().manual_seed(0))
        w = torch.nn.Parameter(torch.zeros(3))
        w.grad = torch.ones(3)
        SGLD([w], lr=0.1, num_data=10, generator=torch.Generator().manual_seed(0)).step()
    _assert_clean(spy, "draw")
    meta = torch.nn.Parameter(torch.zeros(3, device="meta"))
    with pytest.raises(ValueError, match="SGLD generator is on cpu, parameters on meta"):
        SGLD([meta], lr=0.1, num_data=10, generator=torch.Generator())


def test_bilevel_noise_generator_follows_the_device():
    """The Gumbel generator lives on the supernet's device; on the CPU it continues the init stream as before."""
    from nas.search.bilevel import _noise_generator
    from nas.utils.seeds import seeded_init

    with seeded_init(3):
        torch.randn(4)
        cpu = _noise_generator(3, CPU)
    with seeded_init(3):
        torch.randn(4)
        expect = torch.rand(2)
    assert torch.equal(torch.rand(2, generator=cpu), expect)
    assert cpu.device == CPU


LIBRARY = [ROOT / "nas", ROOT / "search_spaces"]
GLOBAL_SEEDS = {"torch.manual_seed", "torch.seed", "torch.random.manual_seed", "torch.cuda.manual_seed_all",
                "torch.cuda.seed_all", "torch.cuda.manual_seed", "random.seed", "np.random.seed", "numpy.random.seed"}


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def test_library_code_never_reseeds_a_global_generator():
    """Only ``nas.utils.seeds.forked_rng`` seeds a default generator, inside ``fork_rng``, which restores it."""
    found = []
    for path in (p for root in LIBRARY for p in root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _dotted(node.func) in GLOBAL_SEEDS:
                found.append(f"{path.relative_to(ROOT)} {_dotted(node.func)}")
    assert found == ["nas/utils/seeds.py torch.cuda.manual_seed"], found  # forked_rng's, inside fork_rng


def test_trial_gpu_share_reaches_its_eval_workers():
    """Each eval task of a trial gets part of the trial's GPUs; the parts add up to --gpus-per-trial."""
    pytest.importorskip("ray")
    from nas.distributed.tune import gpu_shares, trainable

    assert gpu_shares(1, 3) == (0.25, 0.25) and gpu_shares(0, 2) == (0.0, 0.0) and gpu_shares(3, 1) == (2.0, 1.0)
    bundles = trainable(1, 1, 3).default_resource_request(config={}).bundles  # as Tune reserves them
    assert bundles[0]["GPU"] == 0.25 and [b["GPU"] for b in bundles[1:]] == [0.25] * 3
    assert sum(b["GPU"] for b in bundles) == 1


GPU_TRIAL = """
import os, sys, tempfile
import ray
from ray import tune
from nas.distributed.executor import RayExecutor
from nas.distributed.tune import gpu_shares, trainable

def trial(config):  # what search_trial does with its eval tasks, on a cluster that declares one GPU
    tasks = RayExecutor(2, cpus=1, gpus=config["each"]).map(lambda i: [str(g) for g in ray.get_gpu_ids()], [0, 1])
    tune.report({"trial": [str(g) for g in ray.get_gpu_ids()], "tasks": tasks})

tmp = tempfile.mkdtemp(prefix="nasgpu-")
ray.init(num_cpus=3, num_gpus=1, include_dashboard=False, _temp_dir=tmp, logging_level="error", log_to_driver=False)
fn = tune.with_resources(trial, trainable(1, 1, 2).default_resource_request(config={}))
res = tune.Tuner(fn, param_space={"each": gpu_shares(1, 2)[1]},
                 run_config=tune.RunConfig(storage_path=tmp, verbose=0)).fit()
print("RESULT", res[0].metrics["trial"], res[0].metrics["tasks"])
ray.shutdown()
"""


@pytest.mark.slow  # about 40 s: a Ray cluster and a Tune trial
def test_eval_tasks_of_a_trial_get_gpus_inside_its_placement_group():
    """On a cluster that declares one GPU, a trial holding it (--gpus-per-trial 1, 2 eval workers) and both its eval
    tasks are granted GPU 0: the tasks run in the trial's placement group, on the trial's share."""
    import os
    import subprocess

    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    res = subprocess.run([sys.executable, "-c", GPU_TRIAL], capture_output=True, text=True, env=env, timeout=600)
    assert "RESULT ['0'] [['0'], ['0']]" in res.stdout, res.stdout[-1500:] + res.stderr[-1500:]


def test_fp16_differentiable_search_scales_both_bilevel_steps(tmp_path):
    """fp16 in the differentiable search: the weight and the alpha step each have a GradScaler, checkpointed."""
    from nas.search.run import SearchRun

    cfg = build_config(SearchConfig, flags={"space": "nb201", "strategy": "differentiable", "madds": 60_000_000},
                       opts=[*NB_TINY, "execution.amp=fp16"], base=nas.get_plugin("nb201").search_defaults)
    SearchRun(cfg, tmp_path / "fp16", CPU).run(resume=False)
    trainer = torch.load(tmp_path / "fp16" / "checkpoint.pt", weights_only=False)["search"]["family"]["trainer"]
    for state in (trainer["w_scaler"], trainer["arch"]["scaler"]):  # empty when a scaler is disabled
        assert 0 < state["scale"] <= 2.0 ** 16

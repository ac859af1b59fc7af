import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import nas
from nas.config import from_dict, load_recipe
from nas.config.retrain import RetrainConfig
from nas.errors import NasError
from nas.train import evaluate_checkpoint, retrain
from nas.train.checkpoint import load_checkpoint
from nas.train.loop import ModelEma, accuracy

ROOT = Path(__file__).resolve().parents[3]
RECIPE = ROOT / "recipes" / "retrain" / "cpu_small.yaml"
# The smallest st_topo member (identity wherever allowed, expansion 3, no branches): seconds per epoch on CPU.
TINY = str(nas.get_space("st_topo").cheapest())
TORCH_THREADS = 1


# Subprocesses on one thread too (see tests/conftest.py).
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _cfg(**overrides):
    return from_dict(RetrainConfig, {**load_recipe(RECIPE), **overrides})


def _strip(metrics):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in metrics["epochs"]]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("retrain") / "run"
    retrain(_cfg(), TINY, out, log=lambda s: None)
    return out


def test_writes_every_output(run_dir):
    for name in ("last.pt", "best.pt", "metrics.json", "config.yaml", "genotype.yaml", "meta.json"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    rows = json.loads((run_dir / "metrics.json").read_text())["epochs"]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for key in ("train_loss", "val_loss", "top1", "top5", "lr", "seconds", "ema_top1"):
        assert all(np.isfinite(r[key]) for r in rows), key
    assert from_dict(RetrainConfig, yaml.safe_load((run_dir / "config.yaml").read_text())) == _cfg()
    assert str(nas.load_genotype(run_dir)) == TINY
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["seed"] == 0 and meta["torch"] == torch.__version__ and meta["nas"] == nas.__version__


def test_checkpoint_loads_weights_only(run_dir):
    ckpt = torch.load(run_dir / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 3 and ckpt["step"] == 12 and ckpt["genotype"] == TINY
    assert set(ckpt["rng"]) == {"loader"}  # the generators the run owns; no global RNG state
    assert ckpt["task"] == "classification" and ckpt["init"].startswith("from scratch")
    assert ckpt["scheduler"]["last_epoch"] == 12 and ckpt["ema"] is not None
    model = nas.create_model(TINY, num_classes=10)
    model.load_state_dict(ckpt["model"])
    best = torch.load(run_dir / "best.pt", weights_only=True)
    assert best["best_top1"] == max(r["ema_top1"] for r in ckpt["history"][: best["epoch"]])


def test_evaluate_checkpoint_matches_metrics(run_dir):
    res = evaluate_checkpoint(run_dir / "last.pt", log=lambda s: None)
    last = json.loads((run_dir / "metrics.json").read_text())["epochs"][-1]
    assert res["top1"] == pytest.approx(last["top1"]) and res["ema_top5"] == pytest.approx(last["ema_top5"])


def test_evaluate_rejects_other_architecture(run_dir):
    with pytest.raises(NasError, match="another architecture"):
        evaluate_checkpoint(run_dir / "last.pt", genotype="st_topo:mobilenetv2")


def test_resume_after_sigkill_is_identical(run_dir, tmp_path):
    """Kill a CLI run with SIGKILL after its first checkpoint, resume it, compare with the uninterrupted run."""
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "nas.cli.retrain"]
    proc = subprocess.Popen([*cmd, TINY, "--recipe", str(RECIPE), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.time() + 120
    while not (out / "last.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert load_checkpoint(out / "last.pt")["epoch"] < 3
    res = subprocess.run([*cmd, "--resume", str(out)], capture_output=True, text=True, env=ENV)
    assert res.returncode == 0, res.stderr
    assert "resuming" in res.stdout
    assert _strip(json.loads((out / "metrics.json").read_text())) == _strip(
        json.loads((run_dir / "metrics.json").read_text()))


def _png(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(path)


def test_corrupt_image_is_skipped_and_counted(tmp_path):
    for split, n in (("train", 4), ("val", 2)):
        for c in ("cat", "dog"):
            d = tmp_path / "data" / split / c
            d.mkdir(parents=True)
            for i in range(n - (split == "train" and c == "cat")):
                _png(d / f"{i}.png", hash((split, c, i)) % 1000)
    (tmp_path / "data" / "train" / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    cfg = _cfg(epochs=1, batch_size=4, eval_batch_size=4, data={"root": str(tmp_path / "data")},
               schedule={"warmup_epochs": 0})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row = retrain(cfg, TINY, tmp_path / "run", log=lambda s: None)
    assert row["train_skipped"] == 1 and row["val_skipped"] == 0
    assert any("skipped 1 unreadable" in str(w.message) for w in caught)


def test_accuracy_counts_topk():
    logits = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.05], [0.2, 0.3, 0.5]])
    assert accuracy(logits, torch.tensor([1, 2, 0]), topk=(1, 2, 5)) == (1, 1, 3)


def test_ema_moves_toward_the_model():
    model = torch.nn.Linear(2, 1)
    ema = ModelEma(model, decay=0.5)
    start = ema.module.weight.clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)
    assert torch.allclose(ema.module.weight, start + 0.5)


def test_rng_state_round_trip():
    """The run's generators go into checkpoints with nas.utils.seeds (moved from the old global-state helper)."""
    import random

    from nas.utils.seeds import rng_state, set_rng_state

    gens = {"loader": torch.Generator().manual_seed(3), "aug": random.Random(4)}
    state = rng_state(gens)
    a = (torch.rand(1, generator=gens["loader"]), gens["aug"].random())
    set_rng_state(state, gens)
    b = (torch.rand(1, generator=gens["loader"]), gens["aug"].random())
    assert a == b


def test_training_leaves_the_global_rngs_alone(tmp_path):
    """No global seeding in library code: a run neither reads nor moves the caller's random state."""
    import random

    torch.manual_seed(123)
    random.seed(5)
    np.random.seed(6)
    before = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    first = retrain(_cfg(epochs=2), TINY, tmp_path / "a", log=lambda s: None)
    after = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    assert torch.equal(before[0], after[0]) and before[1] == after[1] and (before[2] == after[2]).all()
    torch.manual_seed(999)
    second = retrain(_cfg(epochs=2), TINY, tmp_path / "b", log=lambda s: None)
    first.pop("seconds"), second.pop("seconds")
    assert first == second  # the caller's global state does not change the run


def test_video_genotype_trains_on_clip_lists(tmp_path):
    from nas.data.video import write_video
    from nas.data.video_synthetic import SyntheticMotion

    clips = SyntheticMotion(n=6, frames=8, size=16, seed=1)
    lines = []
    for i in range(len(clips)):
        write_video(tmp_path / f"v{i}.mp4", clips.to_uint8(i))
        lines.append(f"v{i}.mp4 {int(clips.labels[i])}")
    (tmp_path / "train.txt").write_text("\n".join(lines[:4] + ["missing.mp4 0"]) + "\n")
    (tmp_path / "val.txt").write_text("\n".join(lines[4:]) + "\n")
    data = {"root": str(tmp_path), "train_list": str(tmp_path / "train.txt"),
            "val_list": str(tmp_path / "val.txt"), "frames": 4}
    cfg = _cfg(epochs=1, batch_size=5, eval_batch_size=2, model={"num_classes": len(SyntheticMotion.classes)}, data=data,
               schedule={"warmup_epochs": 0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = retrain(cfg, "pv_st_tiny:tsn", tmp_path / "run", log=lambda s: None)
    assert row["train_skipped"] == 1 and row["val_skipped"] == 0 and np.isfinite(row["val_loss"])


def test_checkpoint_convention_round_trips_and_refuses_junk(tmp_path):
    from nas.train.checkpoint import load_state, save_checkpoint

    save_checkpoint(tmp_path / "a.pt", {"w": torch.ones(2), "rng": [1, [2, 3], None]})
    state = load_state(tmp_path / "a.pt", "snapshot")
    assert torch.equal(state["w"], torch.ones(2)) and state["rng"] == [1, [2, 3], None]
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]  # no temporary file left beside it
    (tmp_path / "b.pt").write_bytes(b"junk")
    with pytest.raises(NasError, match=r"^snapshot .*b\.pt is torn or not a checkpoint"):
        load_state(tmp_path / "b.pt", "snapshot")

"""Multi-view testing of video retraining (eval.clips x eval.crops) on real video files written with PyAV."""
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import nas
from nas.config import from_dict, load_recipe
from nas.config.retrain import RetrainConfig
from nas.data.collate import collate_skip
from nas.data.video import VideoListDataset, parse_list, write_video
from nas.errors import NasError
from nas.tasks import get_task
from nas.train import retrain
from nas.train.loop import StepOptions, evaluate

RECIPE = Path(__file__).resolve().parents[3] / "recipes" / "retrain" / "cpu_small.yaml"


def _videos(tmp_path, n=6, frames=24):
    """Write ``n`` 24-frame 24x32 (wide, so three crops differ) clips and a path-label list."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        video = rng.integers(0, 255, (frames, 24, 32, 3), dtype=np.uint8)
        video[:, :, : 4 + 4 * (i % 3)] = 255  # a bright band: a class cue the crops see differently
        write_video(tmp_path / f"v{i}.mp4", video)
        lines.append(f"v{i}.mp4 {i % 3}")
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    return parse_list(tmp_path / "list.txt")[0]


def test_single_and_multi_view_metrics(tmp_path):
    records = _videos(tmp_path)
    kw = dict(frames=4, size=16, train=False, sampling="dense", stride=2)
    multi = VideoListDataset(records, tmp_path, num_clips=3, num_crops=3, **kw)
    single = VideoListDataset(records, tmp_path, **kw)  # one clip in the middle, centre crop
    x, _ = multi[0]
    assert x.shape == (9, 3, 4, 16, 16) and torch.equal(x[0], single[0][0])  # view 0 is the single view
    torch.manual_seed(0)
    model = nas.create_model("pv_st_tiny:tsm", num_classes=3).eval()
    task, opts = get_task("video_classification"), StepOptions(torch.device("cpu"))
    res = evaluate(model, DataLoader(multi, batch_size=4, collate_fn=collate_skip), opts, task)
    ref = evaluate(model, DataLoader(single, batch_size=4, collate_fn=collate_skip), opts, task)
    assert res["top1"] == ref["top1"] and res["top5"] == ref["top5"] == 100.0
    with torch.no_grad():
        views = torch.stack([multi[i][0] for i in range(len(multi))])
        per_view = model(views)
        assert per_view.shape == (6, 9, 3)
        assert torch.allclose(per_view[:, 3], model(views[:, 3]), atol=1e-5)
        labels = torch.tensor([r.label for r in records])
        mv = (per_view.mean(1).argmax(1) == labels).float().mean().item() * 100
    assert res["mv_top1"] == pytest.approx(mv)


def test_retrain_reports_multi_view(tmp_path):
    _videos(tmp_path)
    data = {"root": str(tmp_path), "train_list": str(tmp_path / "list.txt"),
            "val_list": str(tmp_path / "list.txt"), "frames": 4}
    cfg = from_dict(RetrainConfig, {**load_recipe(RECIPE), "epochs": 1, "batch_size": 3, "eval_batch_size": 2,
                                    "resolution": 16, "data": data, "schedule": {"warmup_epochs": 0},
                                    "eval": {"clips": 3, "crops": 3}, "video": {"sampling": "dense"}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = retrain(cfg, "pv_st_tiny:tsn", tmp_path / "run", log=lambda s: None)
    assert {"top1", "top5", "mv_top1", "mv_top5"} <= set(row)
    with pytest.raises(NasError, match="eval.crops must be 1 or 3"):
        from_dict(RetrainConfig, {"eval": {"crops": 2}})
    embedded = from_dict(RetrainConfig, {**load_recipe(RECIPE), "eval": {"clips": 10}})
    with pytest.raises(NasError, match="need video lists"):
        get_task("video_classification").check(embedded, nas.load_genotype("pv_st_tiny:tsn"))

"""forgery_video / forgery_temporal end to end on tiny embedded sets and MP4 lists, init, and bad input."""
import json

import pytest

from nas.cli.retrain import main

TORCH_THREADS = 1
V = "pv_st_tiny:tsm"
TINY = ["--resolution", "16", "--epochs", "1", "--batch-size", "4", "data.train_size=8", "data.val_size=6",
        "eval_batch_size=6", "schedule.warmup_epochs=0", "data.temporal_length=8", "forgery.paired=true"]


@pytest.fixture(scope="module")
def video_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fvid") / "run"
    assert main([V, "--task", "forgery_video", "forgery.video_head=pool", "--frames", "4", "eval.pool=max", "--out",
                 str(out), *TINY]) == 0
    return out


def test_video_task_reports_per_video_and_names_the_pooling(video_run):
    meta = json.loads((video_run / "metrics.json").read_text())
    assert meta["task"] == "forgery_video" and meta["pool"] == "max" and meta["pooled"] == "clip"
    assert meta["video_head"] == "pool"
    assert meta["frames_per_video"] == 8 and meta["clip_frames"] == 4 and meta["scores_per_video"] == 2
    row = meta["epochs"][-1]
    assert {"auc", "acc", "bacc", "ap", "eer"} <= set(row) and 0.0 <= row["acc"] <= 1.0
    assert (video_run / "best.pt").is_file()


def test_image_genotype_pools_frames_and_temporal_starts_from_a_video_checkpoint(video_run, tmp_path):
    out = tmp_path / "img"
    assert main(["st_topo:mobilenetv2", "--task", "forgery_video", "model.width=0.25", "eval.pool=topk",
                 "eval.topk=3", "--out", str(out), *TINY]) == 0
    meta = json.loads((out / "metrics.json").read_text())
    assert meta["pooled"] == "frame" and meta["scores_per_video"] == 8 and meta["pool"] == "topk"
    out = tmp_path / "tmp"
    assert main([V, "--task", "forgery_temporal", "--frames", "4", "--init", f"backbone:{video_run / 'best.pt'}",
                 "--out", str(out), *TINY]) == 0
    meta = json.loads((out / "metrics.json").read_text())
    assert meta["init"].startswith("backbone weights of") and meta["temporal_head"] == "tem"
    row = meta["epochs"][-1]
    assert {"ap_0.5", "ap_0.75", "ap_0.9", "ap_0.95", "mAP", "ar_2", "ar_5", "ar_100", "video_auc"} <= set(row)
    assert 0.0 <= row["mAP"] <= 1.0


def test_written_embedded_set_reads_back_and_a_bad_segment_stops_in_one_line(tmp_path, capsys):
    root = tmp_path / "emb"
    assert main(["--write-embedded", str(root), "--resolution", "16", "data.train_size=4", "data.val_size=4"]) == 0
    train, val = root / "train_video_list.txt", root / "val_video_list.txt"
    assert len(train.read_text().splitlines()) == 4 and any(root.rglob("*.mp4"))
    out = tmp_path / "run"
    assert main([V, "--task", "forgery_temporal", "--frames", "4", "--data-root", str(root), "--train-list",
                 str(train), "--val-list", str(val), "--out", str(out), *TINY]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs"][-1]["val_skipped"] == 0
    bad = tmp_path / "bad.txt"
    rels = [line.split()[1] for line in train.read_text().splitlines()]
    rel = next(r for r in rels if int(r.split("/")[1]) < 16 and r.split("/")[1] not in ("2", "8"))  # a fake with
    real = next(r for r in rels if int(r.split("/")[1]) >= 16)  # segments (folders 2 and 8: fake throughout)
    bad.write_text(f"0 {real} 0 0 16\n1 {rel} 20 40 fake 1 1 5\n" * 2)  # the videos have 32 frames
    capsys.readouterr()
    code = main([V, "--task", "forgery_temporal", "--frames", "4", "--data-root", str(root), "--train-list",
                 str(bad), "--val-list", str(bad), "--out", str(tmp_path / "r2"), *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "bad.txt:2: segment [20, 60) runs past the end" in err[0]
    assert "(32 frames)" in err[0]  # found when the list is read, naming its line, before any training


def test_temporal_video_head_trains_and_reports_per_frame_scores(tmp_path):
    out = tmp_path / "tv"
    assert main([V, "--task", "forgery_video", "eval.pool=topk", "forgery.part_weight=1", "--out", str(out),
                 *TINY]) == 0  # the temporal head is the default
    meta = json.loads((out / "metrics.json").read_text())
    assert meta["video_head"] == "temporal" and meta["pooled"] == "frame" and meta["scores_per_video"] == 8
    assert meta["video_artefacts"] == 0.5
    row = meta["epochs"][-1]
    assert {"auc", "base_framediff_auc", "beats_framediff_auc"} <= set(row)


def _bad(case, tmp):
    lst = tmp / "bad.txt"
    lines = {"fields": "2 train_release/5/a.mp4 0 4 fake 1 1 5\n",
             "overlap": "2 train_release/5/a.mp4 0 8 fake 4 8 fake 1 1 5\n",
             "empty": "\n\n"}
    if case == "pool":
        return [V, "--task", "forgery_video", "eval.pool=median"]
    lst.write_text(lines[case])
    return [V, "--task", "forgery_video", "--data-root", str(tmp), "--train-list", str(lst), "--val-list", str(lst)]


@pytest.mark.parametrize("case", ["fields", "overlap", "empty", "pool", "frames", "head", "artefacts", "look"])
def test_bad_input_is_one_line(case, tmp_path, capsys):
    extra = {"frames": ["forgery.video_head=temporal", "--frames", "4"], "head": ["forgery.video_head=lstm"],
             "artefacts": ["forgery.video_artefacts=-1"], "look": ["forgery.look=v2"]}
    args = [V, "--task", "forgery_video", *extra[case]] if case in extra else _bad(case, tmp_path)
    code = main([*args, *TINY, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and err[0].startswith("nas-retrain: error:") and "Traceback" not in err[0]
    want = {"fields": "L = 2 needs 2 + 3L + 3 = 11 fields, got 8", "overlap": "overlap", "empty": "no videos",
            "pool": "eval.pool must be one of mean|max|topk, got 'median'",
            "frames": "--frames does not apply to forgery.video_head=temporal",
            "head": "forgery.video_head must be one of pool|temporal, got 'lstm'",
            "artefacts": "forgery.video_artefacts must be >= 0",
            "look": "forgery.look applies to the embedded image set only"}[case]
    assert want in err[0]


PV = "pv_st:t_3d,t_dw5,t_3d,t_dw5,t_id,t_dw3,t_conv3,t_dw5,t_dw5,t_3d,t_3d,t_dw3,t_dw5,t_dw3,t_conv3,t_shift"


@pytest.fixture(scope="module")
def pv_search_run(tmp_path_factory):
    """The files of a pv_st search run that ``--init supernet`` reads, with the search's 1/8-width proxy supernet
    (weights shifted off their init, so a fresh backbone cannot pass for a loaded one)."""
    import torch
    import yaml

    import nas

    run = tmp_path_factory.mktemp("pvsearch") / "run"
    run.mkdir()
    supernet = nas.create_supernet("pv_st", num_classes=5, width=0.125)
    with torch.no_grad():
        for p in supernet.parameters():
            p.add_(0.01)
    torch.save(supernet.state_dict(), run / "supernet.pt")
    (run / "config.yaml").write_text(yaml.safe_dump({"space": "pv_st", "supernet": {"width": 0.125}}))
    nas.save_genotype(nas.load_genotype(PV), run / "genotype.yaml")
    return run, supernet


@pytest.mark.parametrize("task", ["forgery_video", "forgery_temporal"])
def test_init_supernet_loads_the_extracted_subnet_into_the_video_backbone(pv_search_run, task):
    import torch

    import nas
    from nas.config import from_dict
    from nas.config.retrain import RetrainConfig
    from nas.tasks import get_task
    from nas.weights import apply_init

    run, supernet = pv_search_run
    g = nas.load_genotype(PV)
    cfg = from_dict(RetrainConfig, {"task": task, "model": {"width": 0.125}})
    model = get_task(task).build_model(g, cfg, 2)
    fresh = {k: v.clone() for k, v in model.state_dict().items() if "backbone." not in k}
    note = apply_init(model, f"supernet:{run}", g, cfg)
    assert note.startswith(f"supernet weights of {run}") and "backbone" in note
    want = supernet.extract(g).state_dict()
    backbone = next(m for name, m in model.named_modules() if name.endswith("backbone"))
    got = backbone.state_dict()
    assert got and all(torch.equal(v, want[k]) for k, v in got.items())
    assert all(torch.equal(v, fresh[k]) for k, v in model.state_dict().items() if k in fresh)  # heads stay fresh


def test_temporal_task_trains_from_a_pv_st_search_run(pv_search_run, tmp_path, capsys):
    run, _ = pv_search_run
    out = tmp_path / "sup"
    assert main([str(run), "--task", "forgery_temporal", "--init", "supernet", "model.width=0.125", "--frames", "4",
                 "--out", str(out), *TINY]) == 0
    meta = json.loads((out / "metrics.json").read_text())
    assert meta["init"].startswith(f"supernet weights of {run}") and 0.0 <= meta["epochs"][-1]["mAP"] <= 1.0
    capsys.readouterr()
    code = main([str(run), "--task", "forgery_video", "--init", "supernet",  # full width: refused
                 "--out", str(tmp_path / "full"), *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "supernet.width 0.125" in err[0]


@pytest.mark.parametrize("task", ["forgery_video", "forgery_temporal"])
def test_init_backbone_from_an_image_classifier_checkpoint(tmp_path, task):
    """An image genotype's retrained classifier (nas-retrain --task classification) starts the video tasks'
    per-frame backbone; the video heads stay fresh."""
    import torch

    import nas
    from nas.config import from_dict
    from nas.config.retrain import RetrainConfig
    from nas.tasks import get_task
    from nas.train.checkpoint import save_checkpoint
    from nas.weights import apply_init

    g = nas.load_genotype("st_topo:mobilenetv2")
    trained = nas.create_model(g, num_classes=10)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.5)
    ckpt = tmp_path / "best.pt"
    save_checkpoint(ckpt, {"model": trained.state_dict(), "ema": None, "genotype": str(g)})
    cfg = from_dict(RetrainConfig, {"task": task})
    model = get_task(task).build_model(g, cfg, 2)
    fresh = {k: v.clone() for k, v in model.state_dict().items() if "backbone." not in k}
    assert "backbone weights of" in apply_init(model, f"backbone:{ckpt}", g, cfg)
    want = trained.state_dict()
    backbone = next(m for name, m in model.named_modules() if name.endswith("backbone"))
    assert all(torch.equal(v, want[k]) for k, v in backbone.state_dict().items())
    assert all(torch.equal(v, fresh[k]) for k, v in model.state_dict().items() if k in fresh)


def test_part_labels_mark_the_clips_that_hold_a_forged_slot():
    import torch

    from nas.tasks.forgery_video import part_labels

    slots = torch.tensor([[0, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1.0]])
    assert part_labels(slots, 2).tolist() == [[1, 0], [0, 0], [1, 1]]
    assert part_labels(slots, 8).tolist() == slots.tolist()  # frames: one label per slot
    assert part_labels(slots[:, :7], 2).tolist() == [[0, 1], [0, 0], [1, 1]]  # blocks of 3 from the start


def test_part_weight_adds_the_per_clip_loss_and_zero_keeps_the_video_loss():
    import torch
    import torch.nn.functional as F

    from nas.config import build_config
    from nas.config.retrain import RetrainConfig
    from nas.data.forgery_video import pack_target
    from nas.tasks import get_task

    task = get_task("forgery_video")
    y = torch.stack([pack_target([1, 1, 3], [(2, 5)], 8, 4), pack_target([0, 0, 0], [], 8, 4)])
    out = {"logit": torch.tensor([0.3, -0.2]), "parts": torch.tensor([[0.5, -1.0], [0.1, 0.2]])}
    video = F.binary_cross_entropy_with_logits(out["logit"], torch.tensor([1.0, 0.0]))
    parts = F.binary_cross_entropy_with_logits(out["parts"], torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    off = task.loss(build_config(RetrainConfig, opts=[]))(out, y)
    on = task.loss(build_config(RetrainConfig, opts=["forgery.part_weight=0.5"]))(out, y)
    assert torch.allclose(off, video) and torch.allclose(on, video + 0.5 * parts)

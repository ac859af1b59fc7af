"""forgery_image / forgery_spatial end to end on tiny embedded sets, the data readers, and bad input."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nas.cli.retrain import main

G = "st_topo:mobilenetv2"
TINY = ["--resolution", "32", "--epochs", "1", "--batch-size", "16", "data.train_size=48", "data.val_size=32",
        "eval_batch_size=32", "schedule.warmup_epochs=0"]


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fimg") / "run"
    assert main([G, "--task", "forgery_image", "--classes", "2,3,16", "--streams", "fad", "--out", str(out),
                 *TINY]) == 0
    return out


def test_image_task_writes_metrics_and_best(image_run):
    m = json.loads((image_run / "metrics.json").read_text())
    row = m["epochs"][-1]
    assert m["task"] == "forgery_image"
    for key in ("auc", "acc", "eer", "ap", "bacc_2", "bacc_3", "bacc_16", "selection"):
        assert key in row
    assert row["selection"] == row["auc"] and 0.0 <= row["auc"] <= 1.0
    assert (image_run / "best.pt").is_file() and any((image_run / "tb").iterdir())


def test_eval_json_is_one_object(image_run, capsys):
    capsys.readouterr()
    assert main(["--eval", str(image_run / "best.pt"), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    got = json.loads(out[0])
    assert 0.0 <= got["auc"] <= 1.0 and "bacc_16" in got


@pytest.mark.slow
def test_init_backbone_from_forgery_checkpoint(image_run, tmp_path, capsys):
    out = tmp_path / "r2"
    assert main([G, "--task", "forgery_image", "--streams", "mix", "--init", f"backbone:{image_run / 'best.pt'}",
                 "--out", str(out), *TINY]) == 0
    meta = json.loads((out / "metrics.json").read_text())
    assert "fad/lfs stream" in meta["init"]


def test_spatial_task_with_bce_and_a_head(tmp_path):
    out = tmp_path / "sp"
    assert main([G, "--task", "forgery_spatial", "--classes", "2", "--out", str(out), "forgery.loss=bce",
                 *TINY]) == 0
    row = json.loads((out / "metrics.json").read_text())["epochs"][-1]
    for key in ("l1", "iou_0.1", "iou_0.2", "iou_diff_0.01", "iou_diff_0.05", "iou_diff_0.1", "bin_iou", "auc"):
        assert key in row
    assert 0.0 <= row["l1"] <= 1.0


def _png(path: Path, value: int, mode: str = "RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (20, 20, 3) if mode == "RGB" else (20, 20)
    Image.fromarray(np.full(shape, value, np.uint8), mode).save(path)


def test_forgerynet_lists_folder_id_wins_and_boxes(tmp_path):
    from nas.data.forgery import FileForgeries, parse_image_list, split_target

    _png(tmp_path / "train_release/4/a/f1.jpg", 100)
    _png(tmp_path / "train_release/17/b/f2.jpg", 50)
    (tmp_path / "train_release/4/a/f1_BB.txt").write_text("50 50 100 100 0.99\n")
    _png(tmp_path / "maps/train_release/4/a/f1.png", 255, "L")
    lst = tmp_path / "train.txt"
    lst.write_text("image_name binary_cls_label triple_cls_label 16cls_label\n"
                   "train_release/4/a/f1.jpg 1 2 7\ntrain_release/17/b/f2.jpg 0 0 0\n")
    recs = parse_image_list(str(lst), str(tmp_path), str(tmp_path / "maps"))
    assert [r.labels for r in recs] == [(1, 1, 4), (0, 0, 0)]  # BlendFace (4) is ID-replaced, not column 7
    assert recs[0].map_path.is_file() and recs[1].map_path is None  # a real image needs no map file
    ds = FileForgeries(recs, 16, train=False, seed=0, with_maps=True)
    x, y = ds[0]
    labels, maps = split_target(y[None])
    assert x.shape == (3, 16, 16) and labels.tolist() == [[1, 1, 4]] and float(maps.min()) == 1.0
    assert float(split_target(ds[1][1][None])[1].max()) == 0.0  # the real image's map: all zeros
    (tmp_path / "train_release/17/b/f2.jpg").write_bytes(b"not a jpeg")
    assert ds[1] is None  # unreadable: skipped and counted by the collate


def _folders(root: Path, masks: bool):
    for split in ("train", "val"):
        for i in range(3):
            _png(root / split / "real" / f"r{i}.png", 40 + i)
            _png(root / split / "fake" / f"f{i}.png", 200 - i)
            if masks:
                _png(root / split / "masks" / f"f{i}.png", 255, "L")
    return root


def _bad(case: str, tmp: Path) -> list:
    if case == "classes":
        return [G, "--task", "forgery_image", "--classes", "5"]
    if case == "no_maps":
        return [G, "--task", "forgery_spatial", "--data", str(_folders(tmp / "plain", masks=False))]
    if case == "list_fields":
        lst = tmp / "bad.txt"
        lst.write_text("train_release/4/a/f1.jpg 1 1 4\ntrain_release/4/a/f2.jpg 1 1\n")
        return [G, "--task", "forgery_image", "--data-root", str(tmp), "--train-list", str(lst), "--val-list",
                str(lst)]
    if case == "not_forgery":
        return [G, "--task", "classification", "--streams", "fad"]
    if case == "lfs_small":
        return [G, "--task", "forgery_image", "--streams", "lfs", "--resolution", "8"]
    if case == "old_name":
        return [G, "--task", "forgery_image", "forgery.streams=mix"]
    if case == "lfs_split":
        return [G, "--task", "forgery_image", "--streams", "lfs", "lfs.split=cubic"]
    return [G, "--task", "forgery_image", "--streams", "mix", "mix.at=s16,s64"]


@pytest.mark.parametrize("case", ["classes", "no_maps", "list_fields", "lfs_small", "mix_stage", "not_forgery",
                                  "old_name", "lfs_split"])
def test_bad_input_is_one_line(case, tmp_path, capsys):
    args = _bad(case, tmp_path)
    code = main([args[0], *TINY, "--out", str(tmp_path / "run"), *args[1:]])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and err[0].startswith("nas-retrain: error:")
    assert "Traceback" not in err[0]
    want = {"classes": "--classes", "no_maps": "grey maps", "list_fields": "bad.txt:2", "lfs_small": "LFS window",
            "mix_stage": "s64", "not_forgery": "model.streams is not read by task classification (read by forgery_image, forgery_spatial)",
            "old_name": "'forgery.streams' (an override) was renamed to 'model.streams'",
            "lfs_split": "lfs.split must be one of linear|log"}[case]
    assert want in err[0]


def test_plain_folders_train(tmp_path):
    root = _folders(tmp_path / "plain", masks=True)
    out = tmp_path / "run"
    assert main([G, "--task", "forgery_spatial", "--classes", "2", "--data", str(root), "--out", str(out),
                 "--resolution", "32", "--epochs", "1", "--batch-size", "4", "schedule.warmup_epochs=0"]) == 0
    assert "l1" in json.loads((out / "metrics.json").read_text())["epochs"][-1]


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    """A real tiny st_topo search run folder (recipes/search/st_topo_tiny.yaml) with a full-width supernet."""
    from nas.cli.search import main as search

    out = tmp_path_factory.mktemp("fsearch") / "run"
    tiny = str(Path(__file__).resolve().parents[3] / "recipes" / "search" / "st_topo_tiny.yaml")
    assert search(["--space", "st_topo", "--recipe", tiny, "--out", str(out), "--seed", "1",
                   "supernet.width=1.0"]) == 0
    return out


@pytest.mark.slow  # the search run takes minutes on 2 shared cores (a full-width supernet)
def test_init_supernet_loads_the_extracted_subnet_into_the_detector(search_run):
    import torch

    import nas
    from nas.forgery import create_detector
    from nas.forgery.fusion import inflate_weight
    from nas.weights import apply_init

    g = nas.load_genotype(search_run)
    cfg = type("Cfg", (), {})()  # apply_init reads no config key on the detector path
    want = nas.weights.supernet_state(search_run, g, {"width": 1.0, "stem_stride": 2})[0]
    det = create_detector(g, task="forgery_image", classes=(2,), streams="fad", resolution=32)
    fresh_head = {k: v.clone() for k, v in det.state_dict().items() if "net." not in k}
    note = apply_init(det, f"supernet:{search_run}", g, cfg)
    assert note.startswith(f"supernet weights of {search_run}") and "fad stream" in note
    got = det.a.net.state_dict()
    for k, v in got.items():
        w = want[k]
        if w.dim() == 4 and w.shape[1] != v.shape[1]:  # the FAD stem: RGB kernel tiled over 9 channels
            w = inflate_weight(w, v.shape[1])
        assert torch.equal(v, w), k
    for k, v in det.state_dict().items():  # the heads (outside the backbone) stay as built
        if k in fresh_head:
            assert torch.equal(v, fresh_head[k]), k


@pytest.mark.slow
def test_init_supernet_from_a_search_run_trains(search_run, tmp_path):
    out = tmp_path / "sup"
    assert main([str(search_run), "--task", "forgery_image", "--init", "supernet", "--out", str(out), *TINY]) == 0
    meta = json.loads((out / "metrics.json").read_text())
    assert meta["init"].startswith("supernet weights of") and "rgb stream" in meta["init"]
    assert 0.0 <= meta["epochs"][-1]["auc"] <= 1.0


def _forgerynet(root: Path, n: int = 48, maps: bool = True, one_class: bool = False) -> list:
    """Write ``n`` list images (half fake, folder 4; half real, folder 17), maps for the fakes only."""
    lines = []
    for i in range(n):
        fake = one_class or i % 2 == 0
        rel = f"train_release/{4 if fake else 17}/v{i}/f.png"
        img = np.full((20, 20, 3), 60 + i, np.uint8)
        if fake:
            img[5:15, 5:15] = 230
            if maps:
                m = np.zeros((20, 20), np.uint8)
                m[5:15, 5:15] = 170
                _png(root / "sl" / rel, 0, "L")
                Image.fromarray(m, "L").save(root / "sl" / rel)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(root / rel)
        lines.append(f"{rel} {int(fake)} {int(fake)} {4 if fake else 0}")
    (root / "list.txt").write_text("\n".join(lines) + "\n")
    return ["--data-root", str(root), "--train-list", str(root / "list.txt"), "--val-list", str(root / "list.txt"),
            "--map-root", str(root / "sl")]


def test_spatial_on_forgerynet_lists_drops_no_real_and_reports_baselines(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([G, "--task", "forgery_spatial", "--classes", "2", "--out", str(out), *TINY,
                 *_forgerynet(tmp_path / "fn")]) == 0
    row = json.loads((out / "metrics.json").read_text())["epochs"][-1]
    assert row["val_skipped"] == 0 and row["train_skipped"] == 0
    assert all(v == v for v in row.values() if isinstance(v, float))  # no NaN reaches metrics.json
    for key in ("base_chance_auc", "base_majority_acc", "base_zero_l1", "base_mean_bin_iou", "beats_zero_l1",
                "beats_mean_bin_f1", "beats_chance_auc"):
        assert key in row
    assert row["base_zero_bin_iou"] == 0.0 and row["base_majority_acc"] == 0.5
    assert "(chance 0.5000)" in capsys.readouterr().out  # the printed line carries the baselines


@pytest.mark.parametrize("case,msg", [("one_class", "holds fake samples only (48)"),
                                      ("no_maps", "data.min_readable 0.9")])
def test_forgerynet_lists_one_class_or_unreadable_is_one_line(case, msg, tmp_path, capsys):
    args = _forgerynet(tmp_path / "fn", maps=case != "no_maps", one_class=case == "one_class")
    code = main([G, "--task", "forgery_spatial", "--out", str(tmp_path / "run"), *TINY, "data.min_readable=0.9",
                 *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and msg in err[0], err

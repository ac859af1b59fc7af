"""experiments.real_face_probe: identities from file names, the probe set's labels and maps, fold folders, bad input."""
import numpy as np
import pytest
from PIL import Image

from experiments.real_face_probe import build_set, identities, main, write_fold
from nas.data.forgery_faces import random_face, render


def _photos(tmp_path, names):
    faces = render(random_face(np.random.default_rng(0), len(names), 96), 96, np.random.default_rng(1))
    for name, face in zip(names, faces):
        Image.fromarray((face * 255).astype(np.uint8)).save(tmp_path / name)
    return tmp_path


def test_identities_group_by_name_and_leave_out_non_photographs(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    people = identities(_photos(tmp_path, ["obama4_crop.jpg", "obama_2.png", "kim1_crop.jpg", "ri_1_crop.jpg",
                                           "franck_01829_crop.png", "scream_crop.jpg"]))
    assert sorted(people) == ["franck", "kim", "obama", "ri"]
    assert len(people["obama"]) == 2


def test_probe_set_is_half_real_with_empty_maps_and_fakes_with_maps(tmp_path):
    people = identities(_photos(tmp_path, [f"{n}_crop.png" for n in ("ann", "bob", "cid", "dan")]))
    rows = build_set(people, 6, seed=3)
    assert len(rows) == 24 and {r["image"].shape for r in rows} == {(64, 64, 3)}
    real = [r for r in rows if r["method"] == 0]
    fake = [r for r in rows if r["method"]]
    assert len(real) == len(fake) == 12
    assert all(r["map"].max() == 0 for r in real)
    assert np.mean([r["map"].max() > 0 for r in fake]) > 0.9  # every method changes pixels
    again = build_set(people, 6, seed=3)
    assert all(np.array_equal(a["image"], b["image"]) for a, b in zip(rows, again))  # seeded
    root = write_fold(rows, ["ann"], tmp_path / "fold")
    assert len(list((root / "val" / "real").iterdir())) == 3 and len(list((root / "val" / "fake").iterdir())) == 3
    assert len(list((root / "train" / "masks").iterdir())) == 18


def test_bad_input_is_one_line(tmp_path, capsys):
    few = _photos(tmp_path, ["ann_crop.png", "bob_crop.png"])
    assert main(["--photos", str(few), "--checkpoint", "a=x.pt", "--out", str(tmp_path / "o")]) == 2
    _photos(tmp_path, ["cid_crop.png", "dan_crop.png"])
    assert main(["--photos", str(few), "--checkpoint", "a=x.pt", "--out", str(tmp_path / "o"), "--folds", "9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("real_face_probe: ") for line in err)


@pytest.mark.slow
def test_probe_end_to_end_writes_rows_and_a_summary_and_resumes(tmp_path):
    from nas.cli.retrain import main as retrain

    photos = _photos(tmp_path, [f"{n}_crop.png" for n in ("ann", "bob", "cid", "dan")])
    assert retrain(["st_topo:mobilenetv2", "--task", "forgery_image", "--out", str(tmp_path / "emb"),
                    "data.train_size=64", "data.val_size=32", "epochs=1"]) == 0
    args = ["--photos", str(photos), "--checkpoint", f"e={tmp_path / 'emb' / 'best.pt'}", "--out",
            str(tmp_path / "probe"), "--per-identity", "16", "--folds", "2", "--epochs", "1"]
    assert main(args) == 0
    rows = (tmp_path / "probe" / "rows.jsonl").read_text().splitlines()
    assert len(rows) == 1 + 2 * 2  # zero-shot, then scratch and backbone per fold
    assert main([*args, "--resume"]) == 0  # nothing left to run
    assert (tmp_path / "probe" / "rows.jsonl").read_text().splitlines() == rows
    import json
    summary = json.loads((tmp_path / "probe" / "summary.json").read_text())
    assert summary["baseline"] == "chance 0.5" and 0 <= summary["e"]["zero_shot"] <= 1 and len(summary["e"]["backbone"]) == 2


def test_stats_compares_the_same_part_of_the_face_in_every_set(tmp_path, capsys):
    photos = _photos(tmp_path, [f"{n}_crop.png" for n in ("ann", "bob", "cid", "dan")])
    assert main(["--photos", str(photos), "--stats", "--out", str(tmp_path / "s")]) == 0
    import json
    stats = json.loads((tmp_path / "s" / "stats.json").read_text())
    assert set(stats) == {"real photos", "embedded v1", "embedded v2"}
    assert stats["real photos"]["change"]["n"] == 4 * 8  # half of 16 images per identity are real
    # the v2 lens blur and smooth shading: less pixel-to-pixel change in the inner face than v1
    assert stats["embedded v2"]["laplacian"]["mean"] < stats["embedded v1"]["laplacian"]["mean"]


def test_summarise_groups_seeds_into_settings_and_compares_them(tmp_path, capsys):
    import json
    rows = [{"kind": "scratch", "fold": f, "auc": 0.6} for f in range(4)]
    for look, lift in (("v1", 0.1), ("v2", 0.2)):
        for seed in (0, 1):
            rows.append({"kind": f"zero_shot:{look}s{seed}", "fold": -1, "auc": 0.6 + lift + 0.01 * seed})
            rows += [{"kind": f"backbone:{look}s{seed}", "fold": f, "auc": 0.6 + lift + 0.01 * (f + seed)}
                     for f in range(4)]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["--summarise", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["settings"]["v1"]["checkpoints"] == ["v1s0", "v1s1"]
    assert s["settings"]["v2"]["backbone_vs_scratch"]["verdict"] == "met"
    between = s["between"]["v2 - v1"]
    assert between["backbone"]["estimate"] == pytest.approx(0.1)
    assert between["zero_shot"]["p_v2_higher"] == pytest.approx(1 / 6)  # 2 vs 2: the best of C(4, 2) labellings
    assert main(["--summarise", "--out", str(tmp_path / "none")]) == 2

"""ForgeryNet image lists as released: reals need no map, both map layouts, list labels against folder ids."""
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nas.data.forgery import FileForgeries, map_candidates, parse_image_list, split_target
from nas.data.forgery_labels import LabelAudit, check_two_classes
from nas.errors import NasError


def _img(path: Path, value: int, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (12, 12, 3) if mode == "RGB" else (12, 12)
    Image.fromarray(np.full(shape, value, np.uint8), mode).save(path)


def _list(tmp: Path, lines, name: str = "l.txt") -> str:
    p = tmp / name
    p.write_text("\n".join(lines) + "\n")
    return str(p)


def test_real_needs_no_map_and_both_layouts_are_found(tmp_path):
    _img(tmp_path / "train_release/4/a/f.jpg", 90)
    _img(tmp_path / "train_release/7/b/g.jpg", 90)
    _img(tmp_path / "train_release/17/c/r.jpg", 90)
    _img(tmp_path / "sl/train_release/4/a/f.png", 200, "L")  # our layout, .png
    _img(tmp_path / "sl/train_mask_release/7/b/g.jpg", 100, "L")  # the release's, the image's own extension
    lst = _list(tmp_path, ["train_release/4/a/f.jpg 1 1 4", "train_release/7/b/g.jpg 1 2 7",
                           "train_release/17/c/r.jpg 0 0 0"])
    recs = parse_image_list(lst, str(tmp_path), str(tmp_path / "sl"))
    assert recs[0].map_path == tmp_path / "sl/train_release/4/a/f.png"
    assert recs[1].map_path == tmp_path / "sl/train_mask_release/7/b/g.jpg"
    assert recs[2].map_path is None
    ds = FileForgeries(recs, 8, train=False, seed=0, with_maps=True)
    maxima = [float(split_target(ds[i][1][None])[1].max()) for i in range(3)]
    assert maxima[2] == 0.0 and maxima[0] > 0.7 and maxima[1] > 0.3  # nothing skipped; the real map is zeros


def test_map_candidates_order():
    got = [str(p) for p in map_candidates("sl", "val_release/3/x/y.jpg")]
    assert got == ["sl/val_release/3/x/y.png", "sl/val_release/3/x/y.jpg", "sl/val_mask_release/3/x/y.png",
                   "sl/val_mask_release/3/x/y.jpg"]


def test_a_fake_without_a_map_is_unreadable_not_real(tmp_path):
    _img(tmp_path / "train_release/4/a/f.jpg", 90)
    recs = parse_image_list(_list(tmp_path, ["train_release/4/a/f.jpg 1 1 4"]), str(tmp_path), str(tmp_path / "sl"))
    assert FileForgeries(recs, 8, train=False, seed=0, with_maps=True)[0] is None  # counted by min_readable


def test_disagreements_are_counted_and_reported(tmp_path):
    lines = [f"train_release/{f}/a/{i}.jpg {b} 1 {f if b else 0}" for i, (f, b) in
             enumerate([(4, 1), (5, 1), (17, 0), (18, 0), (3, 0)])]  # the last line's column says real
    with pytest.warns(RuntimeWarning, match=r"1 of 5 lines disagree on real/fake.*folder ids used"):
        recs = parse_image_list(_list(tmp_path, lines), str(tmp_path))
    assert recs[-1].labels == (1, 1, 3)
    with pytest.warns(RuntimeWarning, match="list columns used"):
        recs = parse_image_list(_list(tmp_path, lines), str(tmp_path), labels="list")
    assert recs[-1].labels[0] == 0


def test_wholesale_disagreement_names_the_cause_and_the_option(tmp_path):
    # an archive that numbers its folders the other way round: folder 1 holds reals, folder 19 fakes (#24)
    lines = [f"val_release/1/a/{i}.jpg 0 0 0" for i in range(3)] + [f"val_release/19/b/{i}.jpg 1 1 1"
                                                                     for i in range(3)]
    with pytest.raises(NasError, match=r"6 of 6 lines.*other way round.*forgery.labels=list"):
        parse_image_list(_list(tmp_path, lines), str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [r.labels[0] for r in parse_image_list(_list(tmp_path, lines), str(tmp_path), labels="list")] == [
            0, 0, 0, 1, 1, 1]
        assert parse_image_list(_list(tmp_path, lines), str(tmp_path), labels="folder")[0].labels[0] == 1


def test_label_audit_and_two_classes():
    with pytest.raises(NasError, match="forgery.labels must be one of"):
        LabelAudit("guess")
    assert LabelAudit().labels("plain/a.jpg", (1, 2, 5), "x:1") == (1, 2, 5)  # no folder id: the columns
    check_two_classes([0, 1, 1], "the set")
    with pytest.raises(NasError, match="the validation set holds real samples only \\(3\\)"):
        check_two_classes([0, 0, 0], "the validation set")
    with pytest.raises(NasError, match="holds no samples"):
        check_two_classes([], "the set")

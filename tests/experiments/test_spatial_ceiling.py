"""The noise-resampling oracle of the spatial goal: the source redraw touches only the hidden fine detail, and the
oracle's IoU is a pooled IoU that a perfect-knowledge oracle would push to 1."""
import numpy as np

from experiments import spatial_ceiling as sc
from nas.data.forgery_synthetic import BATCH, ForgerySpec, _batch, _methods, make_forgeries


def test_default_source_rng_is_the_generator_itself():
    spec = ForgerySpec()
    rng = np.random.default_rng(1)
    methods = _methods(40, 0.5, rng)
    a = _batch(methods, spec, rng)
    images, maps, ids = make_forgeries(40, spec, np.random.default_rng(1))
    assert np.array_equal(ids, methods) and np.array_equal(a[0], images) and np.array_equal(a[1], maps)


def test_source_redraw_changes_detail_not_the_manipulation():
    spec = ForgerySpec()
    methods = _methods(60, 0.5, np.random.default_rng(3))
    a = _batch(methods, spec, np.random.default_rng(4), np.random.default_rng(5))
    b = _batch(methods, spec, np.random.default_rng(4), np.random.default_rng(6))
    assert not np.array_equal(a[0], b[0])
    real = methods == 0
    assert not a[1][real].any() and not b[1][real].any()
    # the same manipulation at the same place: the fakes' changed pixels overlap far more than chance
    fa, fb = a[1][~real] >= 13, b[1][~real] >= 13
    overlap = (fa & fb).sum() / max((fa | fb).sum(), 1)
    assert overlap > 0.3
    # the redraw moves the sources' pixels by about the texture and noise scale, not by a new face
    diff = np.abs(a[0][real].astype(float) - b[0][real].astype(float)).mean() / 255
    assert 0.005 < diff < 0.08


def test_oracle_iou_is_pooled_over_fakes_and_exact_with_noise_free_truth():
    methods = np.array([0, 3, 5])
    region = np.zeros((3, 4, 4), np.uint8)
    region[1, :2] = 200
    region[2, 0, 0] = 200
    maps = np.stack([region] * 3)  # every draw identical: the oracle is the truth
    sums = sc.iou_by_threshold(methods, maps, 0.05)
    assert np.allclose(sums["all"][:, 0], 9) and np.allclose(sums["all"][:, 1], 9)
    assert set(sums) == {"all", "3", "5"}


def test_main_writes_one_json(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert sc.main(["--images", "30", "--draws", "2", "--taus", "0.05", "--out", str(out)]) == 0
    import json

    data = json.loads(out.read_text())
    assert 0.0 <= data["taus"]["0.05"]["iou"] <= 1.0 and data["draws"] == 2
    assert BATCH >= 30  # one batch: the test stays fast

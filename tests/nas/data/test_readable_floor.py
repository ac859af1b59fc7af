"""Skip-and-count has a floor: a pass that reads nothing, or too small a share of its files, is an error."""
import numpy as np
import pytest
from PIL import Image

from nas.config import build_config
from nas.config.search import SearchConfig
from nas.data.collate import check_readable
from nas.errors import NasError
from nas.search.data import build_proxy_data


def test_check_readable_floor():
    check_readable(6, 4, min_readable=0.5)  # 60% readable: counted, not fatal
    with pytest.raises(NasError, match="only 4 of 10 images .* below data.min_readable 0.5"):
        check_readable(4, 6, min_readable=0.5)
    with pytest.raises(NasError, match="no readable clips in the val list: all 3 were unreadable"):
        check_readable(0, 3, "clips", where="the val list")
    with pytest.raises(NasError, match="there were none"):
        check_readable(0, 0)


def _folder(root, good, bad):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        d = root / "train" / c
        d.mkdir(parents=True)
        for i in range(good):
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(d / f"ok{i}.png")
        for i in range(bad):
            (d / f"torn{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n torn")
    return root


@pytest.mark.parametrize("good, bad, fails", [(12, 4, False), (4, 12, True)])
def test_search_proxy_data_stops_below_the_floor(tmp_path, good, bad, fails):
    root = _folder(tmp_path / "d", good, bad)
    cfg = build_config(SearchConfig, opts=[f"data.root={root}", "data.batch_size=4", "data.proxy_resolution=16"])
    data = build_proxy_data(cfg)
    if fails:
        with pytest.raises(NasError, match="below data.min_readable"):
            list(data.train_batches(0))
    else:
        assert sum(len(y) for _, y in data.train_batches(0)) > 0 and data.skipped > 0


def test_one_class_folder_is_an_error_not_100_percent(tmp_path):
    from nas.data.folders import image_folder_datasets

    d = tmp_path / "one" / "train" / "cats"
    d.mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(d / f"{i}.png")
    with pytest.raises(NasError, match="has one class .*at least 2"):
        image_folder_datasets(tmp_path / "one", 8)


def test_retrain_stops_when_validation_is_mostly_unreadable(tmp_path, capsys):
    """The validation pass has the same floor as training: a val/ of torn files is an error, not a score."""
    from nas.cli.retrain import main

    root = _folder(tmp_path / "d", 6, 0)
    for c in ("a", "b"):
        v = root / "val" / c
        v.mkdir(parents=True)
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(v / "ok.png")
        for i in range(5):
            (v / f"torn{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n torn")
    rc = main(["st_topo:mobilenetv2", "--data", str(root), "--out", str(tmp_path / "r"), "--epochs", "1",
               "--resolution", "32", "batch_size=4", "eval_batch_size=4"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and "readable" in err[-1] and "the validation set" in err[-1], err[-3:]

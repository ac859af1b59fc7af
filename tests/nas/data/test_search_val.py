"""Search scores on its own hold-out of train/ by default, so val/ stays unseen until retraining reports on it."""
import numpy as np
from PIL import Image

from nas.config import build_config
from nas.config.search import SearchConfig
from nas.search.data import build_proxy_data


def _tree(root):
    rng = np.random.default_rng(0)
    for split, n in (("train", 10), ("val", 3)):
        for c in ("a", "b"):
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(d / f"{i}.png")
    return root


def test_search_holds_out_train_unless_told_to_score_on_val(tmp_path):
    root = _tree(tmp_path / "d")
    opts = [f"data.root={root}", "data.proxy_resolution=8", "data.val_fraction=0.2"]
    split = build_proxy_data(build_config(SearchConfig, opts=opts))
    files = {p for p, _ in split.val.samples}
    assert len(files) == 4 and all(p.parent.parent.name == "train" for p in files)
    assert not files & {p for p, _ in split.train.samples}
    on_val = build_proxy_data(build_config(SearchConfig, opts=opts + ["data.search_val=val"]))
    assert {p.parent.parent.name for p, _ in on_val.val.samples} == {"val"} and len(on_val.train) == 20

"""Folder proxy data: JPEGs decoded near the proxy resolution, scoring images decoded once per run folder."""
import numpy as np
import torch
from PIL import Image

from nas.config import build_config
from nas.config.search import SearchConfig
from nas.data.folders import ImageFolderDataset
from nas.search.data import ProxyFolder
from nas.search.scorer import OneShotScorer

TORCH_THREADS = 1


def _folder(root, n=6, side=256):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        d = root / "train" / c
        d.mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(d / f"{i}.jpg", quality=90)
    return root


def test_jpegs_decode_near_the_proxy_side(tmp_path):
    root = _folder(tmp_path)
    seen = []

    def transform(img, rng):
        seen.append(img.size)
        return torch.zeros(3, 8, 8)

    samples = [(p, 0) for p in sorted((root / "train" / "a").glob("*.jpg"))]
    base = ImageFolderDataset(samples, ["a"], transform)
    base[0]
    ProxyFolder(base, 32)[0]
    assert seen[0] == (256, 256)
    assert 64 <= seen[1][0] < 256  # libjpeg scaled the decode down, to at least twice the proxy side


def test_scoring_images_are_decoded_once_per_run_folder(tmp_path):
    root = _folder(tmp_path / "data", n=8, side=64)
    cfg = build_config(SearchConfig, opts=[f"data.root={root}", "data.proxy_resolution=8", "data.batch_size=4",
                                           "supernet.width=0.25", "score.bn_batches=1", "score.bn_batch_size=4",
                                           "score.val_images=4", "score.eval_batch_size=4"])
    out = tmp_path / "run"
    out.mkdir()
    bn, val = OneShotScorer(cfg, out).score_batches()
    assert (out / "score_cache.pt").is_file()
    again = OneShotScorer(cfg, out)
    again.data.score_batches = None  # a second decode would fail: the cache must answer
    bn2, val2 = again.score_batches()
    assert all(torch.equal(a, b) for a, b in zip(bn, bn2))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(val, val2))

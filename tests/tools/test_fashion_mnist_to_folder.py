"""tools/fashion_mnist_to_folder.py: idx files become an ImageNet-style folder the search's loader reads."""
import gzip
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_SPEC = importlib.util.spec_from_file_location(
    "fashion_mnist_to_folder", Path(__file__).resolve().parents[2] / "tools" / "fashion_mnist_to_folder.py")
tool = importlib.util.module_from_spec(_SPEC)
sys.modules["fashion_mnist_to_folder"] = tool
_SPEC.loader.exec_module(tool)


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.fixture()
def src(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 20)):
        labels = np.arange(n) % 10
        images = (rng.random((n, 28, 28)) * 255).astype(np.uint8)
        images[:, 0, 0] = labels  # a mark to check each image lands in its class folder
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return tmp_path


def test_converts_and_the_search_loader_reads_it(src, tmp_path, capsys):
    from PIL import Image

    from nas.data.folders import image_folder_datasets

    out = tmp_path / "fm"
    assert tool.main([str(out), "--src", str(src), "--train-per-class", "3"]) == 0
    assert "wrote 30 training and 20 validation images in 10 classes" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "train").iterdir()) == sorted(tool.CLASSES)
    for c, name in enumerate(tool.CLASSES):
        files = sorted((out / "train" / name).glob("*.png"))
        assert len(files) == 3 and all(np.asarray(Image.open(f))[0, 0] == c for f in files)
    train, val, classes = image_folder_datasets(out / "train", 16, 0.2, 0)
    assert len(classes) == 10 and len(train) + len(val) == 30
    x, y = train[0][:2]
    assert tuple(x.shape) == (3, 16, 16)


@pytest.mark.parametrize("args, fragment", [
    (["--src", "/nonexistent"], "not found (apt-get install -y dataset-fashion-mnist"),
    (["--train-per-class", "0"], "--train-per-class must be at least 1"),
])
def test_bad_input_is_one_line(args, fragment, src, tmp_path, capsys):
    argv = [str(tmp_path / "o"), *args] if "--src" in args else [str(tmp_path / "o"), "--src", str(src), *args]
    assert tool.main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_truncated_file_and_existing_output_are_refused(src, tmp_path, capsys):
    path = src / "t10k-labels-idx1-ubyte.gz"
    raw = gzip.open(path).read()
    with gzip.open(path, "wb") as f:
        f.write(raw[:-3])
    assert tool.main([str(tmp_path / "o"), "--src", str(src)]) == 2
    assert "truncated" in capsys.readouterr().err
    (tmp_path / "o2" / "train").mkdir(parents=True)
    assert tool.main([str(tmp_path / "o2"), "--src", str(src)]) == 2
    assert "already holds" in capsys.readouterr().err

"""Every reader of user files turns each kind of bad file into a one-line NasError that names the file."""
import collections
import pickle

import pytest
import torch

from nas.errors import NasError
from nas.utils.readers import brief, load_torch, read_json, read_text, read_yaml


def _bad_files(tmp_path):
    """Return name -> path of the kinds of bad file every text reader must refuse cleanly."""
    (tmp_path / "folder").mkdir()
    files = {"missing": tmp_path / "missing.txt", "folder": tmp_path / "folder"}
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9: 1\n")
    files["not utf-8"] = tmp_path / "latin1.txt"
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00\x01" * 8)
    files["binary"] = tmp_path / "binary.txt"
    return files


@pytest.mark.parametrize("reader", [read_text, read_yaml, read_json])
def test_text_readers_refuse_each_kind_of_bad_file(tmp_path, reader):
    for kind, path in _bad_files(tmp_path).items():
        with pytest.raises(NasError) as err:
            reader(path)
        msg = str(err.value)
        assert "\n" not in msg and path.name in msg, (kind, msg)


def test_text_reader_names_the_line_of_a_bad_byte(tmp_path):
    p = tmp_path / "list.txt"
    p.write_bytes(b"a 0\nb 1\n\xff 2\n")
    with pytest.raises(NasError, match="not UTF-8 text .*line 3"):
        read_text(p, "list")


def test_oversized_text_file_is_refused(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_text("x" * 2000)
    with pytest.raises(NasError, match="too large"):
        read_text(p, "recipe", limit=1000)


def test_yaml_reader(tmp_path):
    good, torn, empty = tmp_path / "g.yaml", tmp_path / "t.yaml", tmp_path / "e.yaml"
    good.write_text("a: 1\n")
    torn.write_text("a: [1, 2\nb: 3\n")
    empty.write_text("")
    assert read_yaml(good) == {"a": 1} and read_yaml(empty) is None
    with pytest.raises(NasError, match=r"malformed .*t\.yaml at line"):
        read_yaml(torn)
    unsafe = tmp_path / "u.yaml"
    unsafe.write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(NasError, match="malformed"):
        read_yaml(unsafe)


def test_json_reader_names_a_torn_file(tmp_path):
    p = tmp_path / "evolution.json"
    p.write_text('{"population": [1, 2,\n')
    with pytest.raises(NasError, match=r"malformed .*evolution\.json at line \d+ \(torn"):
        read_json(p)


def test_torch_loader(tmp_path):
    ok = tmp_path / "ok.pt"
    torch.save({"w": torch.ones(2)}, ok)
    assert torch.equal(load_torch(ok)["w"], torch.ones(2))
    data = ok.read_bytes()
    cases = {"torn": data[: len(data) // 2], "empty": b"", "text": b"hello, not a checkpoint\n", "short": b"junk"}
    for kind, blob in cases.items():
        p = tmp_path / f"{kind}.pt"
        p.write_bytes(blob)
        with pytest.raises(NasError, match=r"torn or not a checkpoint") as err:
            load_torch(p)
        assert "\n" not in str(err.value), kind
    hostile = tmp_path / "hostile.pt"
    hostile.write_bytes(pickle.dumps({"cls": collections.OrderedDict}))
    with pytest.raises(NasError, match="not a file written by nas.*possibly unsafe") as err:
        load_torch(hostile)
    assert "weights_only=False" not in str(err.value)
    with pytest.raises(NasError, match="not found"):
        load_torch(tmp_path / "missing.pt")
    with pytest.raises(NasError, match="is not a file"):
        load_torch(tmp_path)


def test_brief_bounds_any_value():
    assert len(brief("x" * 10_000)) <= 60
    assert brief(list(range(10**5))) == "a list of 100000 items"
    assert brief(3) == "3"

"""Kinds of bad input that get past the first checks: a data pass that reads too few of its files, a new run that
fails before its first checkpoint, a missing optional module, and how warnings print."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nas.cli import derive, search
from test_bad_input import ST_TINY, _snapshot

ROOT = Path(__file__).resolve().parents[1]
PV_TINY = str(ROOT / "recipes" / "search" / "pv_st_tiny.yaml")


def _one_line(capsys, prog: str) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith(("device ", "search"))]
    assert len(err) == 1 and err[0].startswith(f"{prog}: error: "), err
    return err[0]


def _torn_folder(root: Path) -> Path:
    """An ImageNet-style folder whose every image is torn."""
    for c in ("a", "b"):
        d = root / "train" / c
        d.mkdir(parents=True)
        for i in range(8):
            (d / f"{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n torn")
    return root


def _missing_videos(root: Path) -> Path:
    """A video root and two lists naming 8 videos, none of which is there."""
    root.mkdir()
    text = "".join(f"v{i}.mp4 {i % 2}\n" for i in range(8))
    for name in ("train.txt", "val.txt"):
        (root / name).write_text(text)
    return root


def test_video_search_on_missing_videos_stops(tmp_path, monkeypatch, capsys):
    """8 listed videos, all missing: the first epoch stops the search (it used to run every round at 0.0000)."""
    monkeypatch.chdir(tmp_path)
    vids = _missing_videos(tmp_path / "vids")
    rc = search.main(["--recipe", PV_TINY, "--data-root", str(vids), "--train-list", str(vids / "train.txt"),
                      "--val-list", str(vids / "val.txt"), "--out", "runs/pv"])
    line = _one_line(capsys, "nas-search")
    assert rc == 2 and "no readable videos in search epoch 1: all 8 were unreadable" in line, line
    assert "new folder runs was removed" in line and not (tmp_path / "runs").exists()


def test_failed_new_run_removes_what_it_wrote(tmp_path, monkeypatch, capsys):
    """A new search that fails on its data (after config.yaml, meta.json and tb/ were written) leaves nothing, so
    the same command says the same thing again instead of 'already holds a search run'."""
    monkeypatch.chdir(tmp_path)
    data = _torn_folder(tmp_path / "torn")
    args = ["--recipe", ST_TINY, "--data", str(data), "--out", "new/run"]
    for _ in range(2):
        assert search.main(args) == 2
        line = _one_line(capsys, "nas-search")
        assert "has no readable image" in line and "its new folder new was removed" in line, line
        assert not (tmp_path / "new").exists()


def test_failed_new_run_in_an_empty_folder_keeps_the_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    data = _torn_folder(tmp_path / "torn")
    (tmp_path / "empty").mkdir()
    assert search.main(["--recipe", ST_TINY, "--data", str(data), "--out", "empty"]) == 2
    assert "what it wrote in empty was removed" in _one_line(capsys, "nas-search")
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())


def test_new_run_guard_touches_nothing_it_did_not_write(tmp_path):
    """A folder that held files before is not the run's to clean: the error passes through, every file stays."""
    from nas.errors import NasError
    from nas.utils.run import new_run

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "notes.txt").write_text("mine\n")
    before = _snapshot(tmp_path)
    with pytest.raises(NasError, match="^boom$"):
        with new_run(tmp_path / "old", "search"):
            raise NasError("boom")
    assert _snapshot(tmp_path) == before


def test_new_run_guard_says_nothing_when_nothing_was_written(tmp_path):
    from nas.errors import NasError
    from nas.utils.run import new_run

    with pytest.raises(NasError, match="^refused$"):
        with new_run(tmp_path / "new" / "run", "search"):
            raise NasError("refused")


def test_new_run_guard_keeps_a_run_with_a_checkpoint(tmp_path):
    from nas.errors import NasError
    from nas.utils.run import new_run

    out = tmp_path / "run"
    with pytest.raises(NasError, match=r"boom \(the run folder is kept: continue it with --resume"):
        with new_run(out, "retrain"):
            out.mkdir()
            (out / "last.pt").write_bytes(b"a checkpoint")
            raise NasError("boom")
    assert (out / "last.pt").is_file()


def test_missing_onnx_names_its_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the onnx extra were not installed
    assert derive.main(["st_topo:mobilenetv2", "--export", str(tmp_path / "m.onnx")]) == 2
    line = _one_line(capsys, "nas-derive")
    assert "needs onnx, which is not installed: pip install -e '.[onnx]'" in line, line
    assert not list(tmp_path.iterdir())


def test_missing_pyav_is_an_error_not_unreadable_videos(tmp_path, monkeypatch):
    from nas.data.video import VideoListDataset
    from nas.errors import NasError

    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(NasError, match="reading video files needs av, which is not installed: pip install av"):
        VideoListDataset([], tmp_path)


def test_every_optional_module_has_its_extra():
    """The extras named in nas.utils.extras exist in setup.cfg."""
    import configparser

    from nas.utils.extras import EXTRAS

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    extras = set(cfg["options.extras_require"])
    assert {extra for _, extra in EXTRAS.values() if extra} <= extras


def test_warnings_print_as_one_plain_line():
    """A CLI's warning is `prog: warning: message`, never Python's file:line plus a line of our source."""
    code = ("import sys\nfrom nas.cli.common import cli_main\nfrom nas.data.collate import warn_skipped\n"
            "@cli_main('nas-x')\ndef main(argv):\n    warn_skipped(3, 'videos', 'epoch 1')\n    return 0\n"
            "sys.exit(main([]))\n")
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr[-500:]
    assert res.stderr.splitlines() == ["nas-x: warning: epoch 1: skipped 3 unreadable videos"], res.stderr


def _without_root_overrides() -> list:
    """Return the command prefix that runs a child without root's power to write into any folder (none needed when
    the tests do not run as root): util-linux's setpriv drops CAP_DAC_OVERRIDE from the child."""
    import shutil

    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without util-linux's setpriv: no way to make a folder unwritable")
    return [setpriv, "--inh-caps=-dac_override", "--bounding-set=-dac_override", "--"]


def test_unwritable_parent(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        res = subprocess.run([*_without_root_overrides(), sys.executable, "-m", "nas.cli.search", "--recipe", ST_TINY,
                              "--out", str(locked / "run")], capture_output=True, text=True, timeout=300)
        assert res.returncode == 2, res.stderr[-1000:]
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nas-search: error: ") and "cannot make a folder in" in lines[0]
        assert not (locked / "run").exists()
    finally:
        locked.chmod(0o755)


def test_unreadable_share_floor_of_video_finalists(tmp_path):
    """The video finalists' held-out pass counts its skipped clips like every other pass."""
    import torch

    from nas.errors import NasError
    from nas.search.finalists import evaluate

    loader = [(None, None, 4)]
    with pytest.raises(NasError, match="no readable clips in the held-out clips: all 4 were unreadable"):
        evaluate(torch.nn.Identity(), loader, torch.device("cpu"))


def _path_flags():
    from nas.cli import profile, retrain

    for prog, module in (("nas-search", search), ("nas-derive", derive), ("nas-retrain", retrain),
                         ("nas-profile", profile)):
        for flag in module.FLAGS:
            yield prog, module, flag


@pytest.mark.parametrize("prog, module, flag", [p for p in _path_flags() if p[2].path],
                         ids=lambda v: getattr(v, "name", v if isinstance(v, str) else ""))
def test_every_path_flag_goes_through_the_path_check(prog, module, flag, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    genotype = [] if prog in ("nas-search", "nas-profile") else ["st_topo:mobilenetv2"]
    assert module.main([*genotype, flag.name, "n" * 300]) == 2
    assert f"{flag.name}: the name 'nnn" in _one_line(capsys, prog)
    assert not list(tmp_path.iterdir())


def test_path_flags_declare_their_role():
    """A flag that takes a file or a folder, or sets a config key that holds a path, declares its path role."""
    import dataclasses
    import typing

    from nas.config.derive import DeriveConfig
    from nas.config.profile import ProfileConfig
    from nas.config.retrain import RetrainConfig
    from nas.config.search import SearchConfig

    def path_keys(cls, prefix=""):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.metadata.get("path"):
                yield prefix + f.name
            elif dataclasses.is_dataclass(hints[f.name]):
                yield from path_keys(hints[f.name], f"{prefix}{f.name}.")

    keys = {k for cls in (SearchConfig, DeriveConfig, ProfileConfig, RetrainConfig) for k in path_keys(cls)}
    assert {"data.root", "data.train_list", "lut", "export", "out", "forgery.map_root"} <= keys
    for prog, _, flag in _path_flags():
        takes_path = (flag.metavar in ("FILE", "DIR", "RUN_DIR", "CHECKPOINT") or flag.key in keys
                      or flag.name in ("--recipe", "--out", "--resume"))
        assert bool(flag.path) == takes_path, (prog, flag.name)


def test_ray_workers_print_warnings_as_one_plain_line():
    """The processes Ray starts (tasks, Tune trials, DDP workers) install the same one-line warning format."""
    import inspect

    from nas.distributed import executor, train, tune

    code = ("import warnings\nfrom nas.distributed.executor import _call_with_threads\n"
            "_call_with_threads(lambda i: warnings.warn('a warning\\n  on two lines'), 1, 0)\n")
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0 and res.stderr.splitlines() == ["nas ray task: warning: a warning on two lines"]
    for entry in (executor._call_with_threads, tune.search_trial, train._worker_loop):
        assert "use_plain_warnings(" in inspect.getsource(entry), entry.__name__

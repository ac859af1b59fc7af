"""Bad input to the three commands, tried as a careless user would: each case must give one line naming the
problem, a non-zero exit with no traceback, and leave every file that was on disk exactly as it was."""
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nas.cli import derive, retrain, search

ROOT = Path(__file__).resolve().parents[1]
ST_TINY = str(ROOT / "recipes" / "search" / "st_topo_tiny.yaml")
MAINS = {"nas-search": search.main, "nas-derive": derive.main, "nas-retrain": retrain.main}
LONG = "st_topo:" + ",".join(["k7e6"] * 55)  # over 255 characters: no file system takes it as a file name


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _search_run(d: Path, name: str) -> Path:
    """Write a search run folder (meta.json, a valid config.yaml) as a killed run would leave it."""
    from nas.config import build_config, dump_config
    from nas.config.search import SearchConfig
    from nas.utils.run import RunFolder

    run = RunFolder.create(d / name, "search")
    dump_config(build_config(SearchConfig, recipe=ST_TINY, flags={"space": "st_topo"}), run.path / "config.yaml")
    run.write_meta(0)
    return run.path


def _files(d: Path) -> None:
    """Write the bad files the cases refer to."""
    (d / "latin1.yaml").write_bytes(b"supernet:\n  epochs: 2 # caf\xe9\n")
    (d / "self.yaml").write_text("genotype: self.yaml\n")
    (d / "a.yaml").write_text("genotype: b.yaml\n")
    (d / "b.yaml").write_text("genotype: a.yaml\n")
    aliases = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for prev, name in zip("abcdef", "bcdefg"):
        aliases += f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
    (d / "aliases.yaml").write_text(aliases + "seed: *g\n")
    torn = _search_run(d, "torn_run")
    (torn / "checkpoint.pt").write_bytes(b"PK\x03\x04 torn in the middle of a write")
    empty = _search_run(d, "empty_config_run")
    (empty / "config.yaml").write_text("")
    (d / "a_file").write_text("mine\n")


CASES = {
    "non-UTF-8 search recipe": ("nas-search", ["--space", "st_topo", "--recipe", "latin1.yaml", "--out", "new"],
                                "not UTF-8"),
    "non-UTF-8 retrain recipe": ("nas-retrain", ["st_topo:mobilenetv2", "--recipe", "latin1.yaml", "--out", "new"],
                                 "not UTF-8"),
    "non-UTF-8 genotype file": ("nas-derive", ["latin1.yaml"], "not UTF-8"),
    "genotype file naming itself": ("nas-derive", ["self.yaml"], "refers back to itself"),
    "genotype files naming each other": ("nas-derive", ["a.yaml"], "refers back to itself"),
    "nested YAML aliases": ("nas-search", ["--space", "st_topo", "--recipe", "aliases.yaml", "--out", "new"],
                            "unknown config key"),
    "torn search checkpoint": ("nas-search", ["--resume", "torn_run"], "torn or not a checkpoint"),
    "empty config.yaml in a run": ("nas-search", ["--resume", "empty_config_run"], "config.yaml is empty"),
    "--out an existing file": ("nas-search", ["--space", "st_topo", "--recipe", ST_TINY, "--out", "a_file"],
                               "is a file"),
    "unbounded space name": ("nas-search", ["--space", "s" * 100_000], "unknown space"),
    "too many genotype values": ("nas-derive", [LONG], "has 55 values"),
    "zero batch": ("nas-search", ["--out", "new", "data.batch_size=0"], "data.batch_size must be at least 2"),
    "no training images": ("nas-search", ["--out", "new", "data.train_size=0"], "data.train_size"),
    "negative pixel noise": ("nas-search", ["--out", "new", "data.noise=-0.1"], "data.noise must be between"),
    "NaN pixel noise": ("nas-search", ["--out", "new", "data.noise=.nan"], "data.noise must be between"),
    "negative supernet lr": ("nas-search", ["--out", "new", "supernet.lr=-1"], "supernet.lr must be > 0"),
    "no scoring images": ("nas-search", ["--out", "new", "score.val_images=0"], "score.val_images"),
    "unknown search_val": ("nas-search", ["--out", "new", "data.search_val=test"], "data.search_val"),
    # argparse's own errors: one line (no usage block), and an unrecognised argument is not echoed unbounded
    "flag without its value": ("nas-retrain", ["st_topo:mobilenetv2", "--epochs"], "expected one argument"),
    "non-integer flag": ("nas-derive", ["st_topo:mobilenetv2", "--resolution", "1e9"], "invalid int value"),
    "unbounded unknown flag": ("nas-search", ["--" + "x" * 100_000], "unrecognized arguments"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clean_line_and_loses_nothing(name, tmp_path, monkeypatch, capsys):
    prog, args, fragment = CASES[name]
    _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    rc = MAINS[prog](args)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0
    assert len(err) == 1 and err[0].startswith(f"{prog}: error: ") and fragment in err[0], err
    assert len(err[0]) < 400, "error messages stay bounded"
    assert _snapshot(tmp_path) == before, "a failed command changed files on disk"
    assert not (tmp_path / "new").exists()


def test_long_genotype_strings_are_genotypes(capsys):
    """Canonical strings of searched genotypes are longer than a file name may be; they load as strings."""
    import random

    import nas

    g = nas.get_space("st_topo").sample(random.Random(1))
    assert len(str(g)) > 200 and nas.load_genotype(str(g)) == g
    assert derive.main([str(g), "--json"]) == 0


def test_export_into_a_missing_folder(tmp_path):
    target = tmp_path / "new" / "deeper" / "m.ts"
    assert derive.main(["st_topo:mobilenetv2", "--export", str(target), "--num-classes", "3"]) == 0
    assert target.is_file()
    assert derive.main(["st_topo:mobilenetv2", "--export", str(tmp_path / "new")]) != 0


def test_closed_pipe_is_quiet():
    """`nas-derive ... --json | head -c 10`: the reader leaves early; no traceback, the usual 141 exit."""
    code = "import sys; from nas.cli.derive import main; sys.exit(main(['st_topo:mobilenetv2', '--json']))"
    res = subprocess.run(f"{sys.executable} -c \"{code}\" | head -c 0", shell=True, capture_output=True, text=True)
    assert "Traceback" not in res.stderr and "Error" not in res.stderr, res.stderr[-500:]


def test_recipe_files_stay_safe(tmp_path):
    """Python tags in a recipe are refused by safe_load: a one-line error, nothing executed."""
    recipe = tmp_path / "evil.yaml"
    recipe.write_text("seed: !!python/object/apply:os.system ['touch pwned']\n")
    assert search.main(["--space", "st_topo", "--recipe", str(recipe), "--out", str(tmp_path / "o")]) != 0
    assert not Path("pwned").exists() and not (tmp_path / "pwned").exists()
    assert yaml.safe_load("a: 1") == {"a": 1}

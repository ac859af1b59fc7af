"""Bad input to the three commands, tried as a careless user would: each case must give one line naming the
problem, a non-zero exit with no traceback, and leave every file that was on disk exactly as it was."""
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nas.cli import derive, profile, retrain, search

ROOT = Path(__file__).resolve().parents[1]
ST_TINY = str(ROOT / "recipes" / "search" / "st_topo_tiny.yaml")
MAINS = {"nas-search": search.main, "nas-derive": derive.main, "nas-retrain": retrain.main, "nas-profile": profile.main}
NAME = "n" * 300  # one name longer than any file system takes (255 bytes)
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
    huge = _search_run(d, "huge_seed_run")  # a run folder whose stored seed no generator takes
    (huge / "config.yaml").write_text((huge / "config.yaml").read_text().replace("seed: 0\n", f"seed: {10 ** 23}\n", 1))


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
    # every path flag goes through one check (nas.utils.paths) as it is parsed: names the file system takes, and a
    # place that can hold what is written
    "--out name too long": ("nas-search", ["--recipe", ST_TINY, "--out", NAME], "300 bytes long"),
    "--out inner name too long": ("nas-retrain", ["st_topo:mobilenetv2", "--out", f"new/{NAME}/run"], "300 bytes"),
    "--out under /proc": ("nas-search", ["--recipe", ST_TINY, "--out", "/proc/nas-run"], "cannot make a folder in"),
    "--out under a file": ("nas-search", ["--recipe", ST_TINY, "--out", "a_file/run"], "a_file is a file, so it"),
    "--out under /sys": ("nas-retrain", ["st_topo:mobilenetv2", "--out", "/sys/nas-run"], "cannot make a folder in"),
    "--out of retrain under a file": ("nas-retrain", ["st_topo:mobilenetv2", "--out", "a_file/r"], "is a file, so"),
    "--export under /proc": ("nas-derive", ["st_topo:mobilenetv2", "--export", "/proc/m.ts"], "cannot make a folder"),
    "--plot name too long": ("nas-derive", ["st_topo:mobilenetv2", "--plot", NAME + ".png"], "bytes long"),
    "--lut name too long": ("nas-derive", ["st_topo:mobilenetv2", "--lut", NAME], "--lut: the name"),
    "--data name too long": ("nas-search", ["--recipe", ST_TINY, "--data", NAME, "--out", "new"], "--data: the name"),
    "--recipe name too long": ("nas-retrain", ["st_topo:mobilenetv2", "--recipe", NAME], "--recipe: the name"),
    "--resume name too long": ("nas-search", ["--resume", NAME], "--resume: the name"),
    "data.root override name too long": ("nas-search", ["--recipe", ST_TINY, "--out", "new", f"data.root={NAME}"],
                                         "data.root: the name"),
    "val_list override, name too long": ("nas-retrain", ["st_topo:mobilenetv2", "--out", "new", f"data.val_list={NAME}"],
                                       "data.val_list: the name"),
    "--weights name too long": ("nas-derive", ["st_topo:mobilenetv2", "--export", "m.ts", "--weights", NAME],
                                "File name too long"),
    "--init checkpoint name too long": ("nas-retrain", ["st_topo:mobilenetv2", "--init", f"backbone:{NAME}", "--out",
                                                        "new"], "File name too long"),
    "--init pretrained name too long": ("nas-retrain", ["st_topo:mobilenetv2", "--init", f"pretrained:{NAME}", "--out",
                                                        "new"], "File name too long"),
    "nas-profile --out under /proc": ("nas-profile", ["--space", "st_topo", "--out", "/proc/t.json"], "cannot make"),
    # numbers: one table of ranges (nas.config.limits), checked as every config is built
    "negative seed": ("nas-search", ["--recipe", ST_TINY, "--seed", "-5", "--out", "new"], "seed must be in 0.."),
    "seed over 63 bits": ("nas-search", ["--recipe", ST_TINY, "--seed", str(10 ** 23), "--out", "new"],
                          "seed must be in 0.."),
    "stored seed over 63 bits": ("nas-search", ["--resume", "huge_seed_run"], "seed must be in 0.."),
    "trial seeds past 63 bits": ("nas-search", ["--recipe", ST_TINY, "--seed", str(2 ** 63 - 1), "--trials", "2",
                                                "--out", "new"], "seed must be in 0.."),
    "negative retrain seed": ("nas-retrain", ["st_topo:mobilenetv2", "--seed", "-1", "--out", "new"], "seed must be"),
    "negative data seed": ("nas-search", ["--recipe", ST_TINY, "--out", "new", "data.seed=-1"], "data.seed must be"),
    "profile seed over 63 bits": ("nas-profile", ["--space", "st_topo", "--out", "t.json", "--seed", str(2 ** 63)],
                                  "seed must be in"),
    "one class to search for": ("nas-search", ["--recipe", ST_TINY, "--num-classes", "1", "--out", "new"],
                                "num_classes must be in 2.."),
    "one class to derive": ("nas-derive", ["st_topo:mobilenetv2", "--num-classes", "1"], "num_classes must be in 2"),
    "one class to retrain": ("nas-retrain", ["st_topo:mobilenetv2", "--out", "new", "model.num_classes=1"],
                             "model.num_classes must be in 2"),
    "resolution in the millions": ("nas-search", ["--recipe", ST_TINY, "--resolution", "1000000", "--out", "new"],
                                   "above the limit 4,096"),
    "population in the millions": ("nas-search", ["--recipe", ST_TINY, "--population", "5000000", "--out", "new"],
                                   "evolution.population 5000000 is above the limit"),
    "batch in the millions": ("nas-retrain", ["st_topo:mobilenetv2", "--batch-size", "10000000", "--out", "new"],
                              "batch_size 10000000 is above the limit"),
    "frames in the millions": ("nas-search", ["--space", "pv_st", "--frames", "1000000", "--out", "new"],
                               "frames 1000000 is above the limit"),
    "proxy clip side in the millions": ("nas-search", ["--space", "pv_st", "--out", "new", "data.size=1000000"],
                                        "data.size 1000000 is above the limit"),
    "derive resolution in the millions": ("nas-derive", ["st_topo:mobilenetv2", "--resolution", "1000000"],
                                          "above the limit"),
    # the budget rule (nas.search.budget): above the largest member, with a window's lower edge
    "budget above the largest member": ("nas-search", ["--recipe", ST_TINY, "--madds", "1.5G", "--out", "new"],
                                        "is above the largest st_topo model"),
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

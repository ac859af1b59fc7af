"""What the docs' tests share: a package taken from a page's code blocks, made discoverable without pip."""
import configparser
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

# A fenced block whose first line is ``# <path>`` is a file of the page's example package.
FILE_BLOCK = re.compile(r"^```\w*\n# ([\w/.-]+\.(?:py|cfg|yaml))\n(.*?)^```", re.S | re.M)


def package_from_doc(doc: Path, dest: Path) -> Dict[str, str]:
    """Write the files that ``doc``'s code blocks show under ``dest`` (each package with its empty __init__.py).

    Returns the files written, by relative path.
    """
    files = {path: f"# {path}\n{body}" for path, body in FILE_BLOCK.findall(doc.read_text())}
    for path, text in files.items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_text(text)
        if path.endswith(".py"):
            (dest / path).parent.joinpath("__init__.py").touch()
    return files


def write_dist_info(setup_cfg: Path, site: Path) -> None:
    """Write the ``<name>-<version>.dist-info`` pip would install for ``setup_cfg``: METADATA and its entry points."""
    cfg = configparser.ConfigParser()
    cfg.read(setup_cfg)
    name, version = cfg["metadata"]["name"], cfg["metadata"]["version"]
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    groups = cfg["options.entry_points"]
    (info / "entry_points.txt").write_text("".join(f"[{g}]\n{groups[g].strip()}\n\n" for g in groups))


@pytest.fixture
def installed(tmp_path) -> Callable[..., Dict[str, str]]:
    """Return ``install(setup_cfg, *paths)``: an environment where that package looks pip-installed.

    Its dist-info goes to a fresh folder on PYTHONPATH, ahead of ``paths`` (the package's own folder). Subprocesses
    get one torch thread: the machine is shared.
    """

    def install(setup_cfg: Path, *paths: Path) -> Dict[str, str]:
        site = tmp_path / "site"
        write_dist_info(setup_cfg, site)
        entries = [str(site), *map(str, paths), os.environ.get("PYTHONPATH", "")]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in entries if p), "OMP_NUM_THREADS": "1"}

    return install


@pytest.fixture
def install_doc(installed, tmp_path) -> Callable[[Path], Tuple[List[str], Dict[str, str]]]:
    """Return ``install_doc(doc)``: the files of ``doc``'s package and an environment where it is installed."""

    def install(doc: Path) -> Tuple[List[str], Dict[str, str]]:
        pkg = tmp_path / "package"
        files = package_from_doc(doc, pkg)
        return sorted(files), installed(pkg / "setup.cfg", pkg)

    return install


@pytest.fixture
def run_python() -> Callable[..., subprocess.CompletedProcess]:
    """Return ``run(env, *args)``: this Python with ``args`` in ``env``, from the repository root, output captured."""
    root = Path(__file__).resolve().parents[2]

    def run(env: Dict[str, str], *args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, env=env, cwd=root,
                              timeout=600)

    return run

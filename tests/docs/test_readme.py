"""The README's Python block runs and prints what its comments say; README and docs name only paths that exist."""
import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Paths written in backquotes that name a file of this repository (globs and placeholders are left out).
REPO_PATH = re.compile(r"`((?:docs|tools|experiments|recipes|nas|search_spaces|tests)/[\w./-]+)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def python_blocks(page: Path) -> list:
    """Return the ```python blocks of ``page``."""
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


def test_readme_python_block_runs_and_prints_its_comments():
    (block,) = python_blocks(ROOT / "README.md")
    expected = [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.+)$", block, flags=re.M)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})
    assert out.getvalue().splitlines() == expected


def test_readme_is_short_and_has_no_development_history():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    assert "python -m pytest -q\n" in text
    for word in (r"\bstop \d+", r"\bissue \d+", r"today's", r"earlier session"):
        assert not re.search(word, text, flags=re.I), word


def test_docs_index_lists_every_page():
    index = (ROOT / "docs" / "index.md").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.name != "index.md":
            assert f"]({page.name})" in index, page.name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_and_named_paths_exist(page):
    text = page.read_text()
    missing = [t for t in LINK.findall(text) if "://" not in t and not (page.parent / t).exists()]
    missing += [p for p in REPO_PATH.findall(text) if not re.search(r"[*{}<>]|\.\.\.", p)
                and not (ROOT / p.rstrip(".:,")).exists()]
    assert not missing, missing

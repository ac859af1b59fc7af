"""experiments/import_graph.py: arrows, back-up arrows, depth and cycles on a hand-made package, and on nas/."""
from experiments import import_graph


def _package(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_hand_made_package(tmp_path, monkeypatch):
    pkg = _package(tmp_path / "nas", {
        "__init__.py": "from nas.api import load\n",
        "api.py": "from .core import thing\n\ndef load():\n    from nas.search import run\n",
        "errors.py": "",
        "core/__init__.py": "from nas.errors import E\n",
        "search/__init__.py": "import nas\nfrom nas.search import a\n",
        "search/a.py": "from nas.search import b\n",
        "search/b.py": "from . import a\nfrom ..core import thing\n",
    })
    monkeypatch.setattr(import_graph, "LAYERS", [("nas.errors",), ("nas.core",), ("nas.search",), ("nas.api", "nas")])
    rep = import_graph.measure(pkg)
    assert rep["units"] == ["nas", "nas.api", "nas.core", "nas.errors", "nas.search"]
    arrows = {(a["from"], a["to"]): a for a in rep["arrows"]}
    assert set(arrows) == {("nas", "nas.api"), ("nas.api", "nas.core"), ("nas.api", "nas.search"),
                           ("nas.core", "nas.errors"), ("nas.search", "nas"), ("nas.search", "nas.core")}
    assert arrows[("nas.api", "nas.search")]["lazy"] == 1
    assert [(a["from"], a["to"]) for a in rep["back_up"]] == [("nas.search", "nas")]
    assert rep["imports_of_nas_inside_nas"] == 1 and rep["unplaced"] == []
    assert rep["unit_cycles"] == [["nas", "nas.api", "nas.search"]] and rep["unit_cycles_without_root"] == []
    assert ["nas.search.a", "nas.search.b"] in rep["file_cycles_without_root"]
    assert rep["depth_without_root"] == 5  # nas -> api -> search -> core -> errors


def test_every_unit_of_nas_has_a_layer(capsys):
    assert import_graph.main([]) == 0
    assert "unplaced" not in capsys.readouterr().out

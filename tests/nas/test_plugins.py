"""Spaces are found through their plugins only; nas.core never imports the spaces' packages or torch."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nas
from nas.core.space import Space
from nas.plugins import PLUGINS, SpacePlugin, get_plugin, register_plugin

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, *paths: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with ``paths`` prepended to sys.path."""
    prefix = "".join(f"import sys; sys.path.insert(0, {str(p)!r})\n" for p in paths)
    return subprocess.run([sys.executable, "-c", prefix + textwrap.dedent(code)], capture_output=True, text=True)


def test_bundled_spaces_come_from_plugins():
    assert {"st_topo", "pv_st", "pv_st_m"} <= set(nas.list_spaces())
    for name in nas.list_spaces():
        plugin = get_plugin(name)
        assert isinstance(plugin, SpacePlugin) and nas.get_space(name) is plugin.space
        assert plugin.modality == plugin.space.modality
    assert get_plugin("st_topo").default_strategy == "evolution"
    assert get_plugin("pv_st").default_strategy == "differentiable" and get_plugin("pv_st").differentiable


def test_hard_coded_lists_are_gone():
    import search_spaces

    for name in ("SPACE_PACKAGES", "load_spaces", "load_models", "load_plotters"):
        assert not hasattr(search_spaces, name)
    import nas.viz

    assert not hasattr(nas.viz, "PLOTTERS")
    with pytest.raises(ImportError):
        __import__("nas.core.models")


def test_core_never_imports_the_spaces_or_torch():
    core = ROOT / "nas" / "core"
    for path in core.glob("*.py"):
        text = path.read_text()
        assert "search_spaces" not in text, path.name
        assert "import torch" not in text, path.name
    mods = sorted(f"nas.core.{p.stem}" for p in core.glob("*.py") if p.stem != "__init__")
    code = f"""
        import importlib, sys
        for m in {mods!r}:
            importlib.import_module(m)
        print(sorted(k for k in sys.modules if k.startswith("search_spaces") or k == "torch"))
    """
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_cost_and_listing_do_not_import_torch():
    code = """
        import sys, nas
        nas.list_spaces()
        nas.cost("st_topo:mobilenetv2")
        nas.cost("pv_st:tsm", frames=4)
        print("torch" in sys.modules)
    """
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _dist_info(tmp_path: Path, name: str, entry: str) -> Path:
    """Write an installed-looking ``<name>.dist-info`` advertising one ``nas.spaces`` entry point."""
    info = tmp_path / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[nas.spaces]\n{entry}\n")
    return tmp_path


def test_broken_entry_point_is_one_line_naming_it(tmp_path):
    site = _dist_info(tmp_path, "broken_space", "broken = no_such_module_xyz.plugin:PLUGIN")
    out = _python("import nas; nas.list_spaces()", site)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert "cannot load space plugin 'broken'" in last and "no_such_module_xyz" in last


def test_cli_reports_broken_plugin_in_one_line(tmp_path):
    site = _dist_info(tmp_path, "broken_space", "broken = no_such_module_xyz.plugin:PLUGIN")
    env_code = "import sys; from nas.cli.derive import main; sys.exit(main(['st_topo:mobilenetv2']))"
    out = _python(env_code, site)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "'broken'" in out.stderr


class _Tiny(Space):
    name = "tiny_test_space"

    def dims(self):
        return {"a": ("x", "y"), "b": ("p", "q")}


@pytest.fixture
def tiny_plugin():
    """Register a throw-away plugin by hand, and take it out again afterwards."""
    plugin = register_plugin(SpacePlugin(space=_Tiny(), model="nas.nope_module:build", backbone="nas.api:no_such_fn"))
    yield plugin
    PLUGINS._items.pop(plugin.name)


def test_builders_resolve_through_the_plugin_with_one_line_errors(tiny_plugin):
    g = nas.load_genotype("tiny_test_space:x,p")
    with pytest.raises(nas.NasError, match=r"space 'tiny_test_space': cannot load nas.nope_module:build"):
        nas.create_model(g)
    with pytest.raises(nas.NasError, match="cannot load nas.api:no_such_fn"):
        nas.create_backbone(g)
    with pytest.raises(nas.NasError, match="has no supernet"):
        nas.create_supernet("tiny_test_space")
    with pytest.raises(nas.NasError, match="has no cost model"):
        nas.cost(g)
    from nas.viz import plot_genotype

    with pytest.raises(nas.NasError, match="has no plotter"):
        plot_genotype(g, "x.png")


def test_modality_mismatch_is_refused():
    with pytest.raises(nas.NasError, match="modality"):
        register_plugin(SpacePlugin(space=_Tiny(), model="m:f", backbone="m:g", modality="video"))


@pytest.mark.parametrize("name", nas.list_spaces())
def test_every_space_builds_a_backbone_and_model_through_its_plugin(name):
    import torch

    space = nas.get_space(name)
    g = space.cheapest() if name != "st_topo" else space.default()
    backbone = nas.create_backbone(g).eval()
    x = torch.randn(space.target(resolution=32, frames=2 if space.modality == "video" else None).input_shape(2))
    with torch.no_grad():
        pooled, fmap = backbone(x), backbone.forward_features(x)
    assert isinstance(backbone.num_features, int) and pooled.shape == (2, backbone.num_features)
    assert fmap.shape[:2] == (2, backbone.num_features) and fmap.dim() == x.dim()
    assert nas.create_model(g, num_classes=3).eval()(x).shape == (2, 3)

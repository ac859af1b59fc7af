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


def _dist_info(tmp_path: Path, name: str, entry: str, group: str = "nas.spaces") -> Path:
    """Write an installed-looking ``<name>.dist-info`` advertising one entry point of ``group``."""
    info = tmp_path / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{entry}\n")
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


def test_bundled_strategies_and_tasks_come_from_entry_points():
    from importlib import metadata

    from nas.search.strategies import STRATEGIES
    from nas.tasks import TASKS

    for group, registry, listed in (("nas.strategies", STRATEGIES, nas.list_strategies()),
                                    ("nas.tasks", TASKS, nas.list_tasks())):
        eps = {ep.name: ep for ep in metadata.entry_points(group=group)}
        assert listed == sorted(eps)
        for name, ep in eps.items():
            obj = registry.get(name)
            assert (obj if group == "nas.strategies" else type(obj)) is ep.load()
    for name in nas.list_strategies():
        families = STRATEGIES.get(name).families
        assert families == (("bilevel",) if name == "differentiable" else ("one_shot", "tabular"))


def test_no_import_lists_and_no_task_cycle():
    """The task contract imports no task; listing the tasks is what loads them (through their entry points)."""
    code = """
        import sys
        import nas.search.strategies, nas.tasks.base
        before = sorted(m for m in sys.modules if m.startswith(("nas.tasks.", "nas.search.strategies.")))
        import nas
        nas.list_tasks(), nas.list_strategies()
        after = sorted(m for m in sys.modules if m.startswith(("nas.tasks.", "nas.search.strategies.")))
        print(before, "nas.tasks.video" in after, "nas.search.strategies.local_search" in after)
    """
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['nas.tasks.base'] True True"


@pytest.mark.parametrize("group, kind, listing", [("nas.strategies", "strategy", "nas.list_strategies()"),
                                                  ("nas.tasks", "task", "nas.list_tasks()")])
def test_broken_strategy_or_task_entry_point_is_one_line_naming_it(tmp_path, group, kind, listing):
    site = _dist_info(tmp_path / "a", "broken_one", "broken = no_such_module_xyz.mod:Thing", group)
    out = _python(f"import nas; {listing}", site)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert f"cannot load {kind} plugin 'broken'" in last and "no_such_module_xyz.mod:Thing" in last
    # An entry point that loads but names the wrong kind of object is one line too.
    site = _dist_info(tmp_path / "b", "wrong_one", "wrong = nas.api:cost", group)
    out = _python(f"import nas; {listing}", site)
    last = out.stderr.strip().splitlines()[-1]
    assert out.returncode != 0 and f"{kind} entry point 'wrong' (nas.api:cost): is not a" in last


def test_cli_reports_broken_strategy_in_one_line(tmp_path):
    site = _dist_info(tmp_path, "broken_one", "broken = no_such_module_xyz.mod:Thing", "nas.strategies")
    code = "import sys; from nas.cli.search import main; sys.exit(main(['--space', 'st_topo', '--strategy', 'x']))"
    out = _python(code, site)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "'broken'" in out.stderr


def test_a_strategy_registered_by_hand_wins():
    code = """
        from nas.search.strategies import STRATEGIES, list_strategies, register_strategy
        from nas.search.strategies.random_search import RandomSearch

        @register_strategy("evolution")
        class Mine(RandomSearch):
            pass

        assert "evolution" in list_strategies() and STRATEGIES.get("evolution") is Mine
        print("ok")
    """
    out = _python(code)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


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

"""Measure the import structure of the ``nas`` package: units, arrows between them, arrows running back up, cycles.

Definitions (so that two measurements of different trees compare):

* A *file* is one ``.py`` file under ``nas/``, named by its dotted module (``nas.search.run``; a package's
  ``__init__.py`` is the package itself, ``nas.search``).
* A *unit* is a package (a folder with ``__init__.py``, nested ones included, e.g. ``nas.search.strategies``)
  or a top-level module file of ``nas/`` (``nas.api``, ``nas.errors``, ...). Each file belongs to the deepest
  unit that contains it; ``nas/__init__.py`` is the unit ``nas``.
* An *import* is every ``import``/``from ... import`` statement in a file, at module level or inside a function
  (a lazy import is still a dependency; the JSON counts the lazy ones apart). ``from nas import api`` names the
  submodule ``nas.api``; ``from nas import load_genotype`` and ``import nas`` name the package ``nas`` itself.
  Imports of anything outside ``nas`` (torch, ``search_spaces``) are left out.
* An *arrow* is an ordered pair of distinct units (or files) with at least one import from the first to the second.
* A unit's *layer* is its place in ``LAYERS`` below, the intended dependency order of the subpackages, lowest
  first: a unit may import units of its own or a lower layer. An arrow to a higher layer runs *back up*. Units
  missing from ``LAYERS`` are listed as unplaced (add them), never guessed.
* *Depth* is the number of layers of the longest-path layering of the unit graph with each strongly connected
  component collapsed to one node: how many levels the imports really stack.
* A *cycle* is a strongly connected component of more than one node, among units and among files. Every
  ``import nas`` inside the library closes a loop through the root (``nas/__init__.py`` imports ``nas.api``,
  which reaches most units), so depth and cycles are also given with the arrows into the root ``nas`` left out
  (``*_without_root``): the loops the code has besides that convenience.

Usage, from the repository root:

    python -m experiments.import_graph                 # human summary
    python -m experiments.import_graph --json out.json # and the full graph as JSON
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import networkx as nx

from experiments.common import ROOT

# Lowest first. Units in one tuple share a layer.
LAYERS: List[Tuple[str, ...]] = [
    ("nas.errors", "nas.registry", "nas.version"),
    ("nas.core",),
    ("nas.utils",),
    ("nas.plugins", "nas.spaces", "nas.benchmarks"),
    ("nas.optim", "nas.nn"),
    ("nas.latency",),  # latency tables and budgets: config parses a latency budget with it
    ("nas.config",),
    ("nas.data",),
    ("nas.proxies",),  # training-free proxies: networks of the spaces on the embedded data
    ("nas.forgery",),
    ("nas.tasks",),
    ("nas.train",),
    ("nas.search.strategies",),
    ("nas.search", "nas.search.families"),  # the run and its families build on each other
    ("nas.distributed",),
    ("nas.weights", "nas.viz"),  # nas.weights re-exports nas.train.weights
    ("nas.api", "nas"),  # the public face: nas/__init__.py re-exports nas.api
    ("nas.cli",),
]


def files(package: Path) -> Dict[str, Path]:
    """Return ``{dotted module: path}`` of every ``.py`` file under ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def units(modules: Dict[str, Path]) -> Dict[str, str]:
    """Return ``{dotted module: its unit}``: the deepest package holding it, or itself if a top-level module."""
    packages = {m for m, p in modules.items() if p.name == "__init__.py"}
    out = {}
    for m in modules:
        if m in packages or m.count(".") == 1:
            out[m] = m
        else:
            out[m] = max((p for p in packages if m.startswith(p + ".")), key=len)
    return out


def imports(module: str, path: Path, known: Dict[str, Path]) -> Iterator[Tuple[str, bool]]:
    """Yield ``(imported nas module, lazy)`` for every import of ``nas`` code in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    lazy = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
            for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _known_prefix(alias.name, known)
                if target:
                    yield target, id(node) in lazy
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for alias in node.names:
                target = _known_prefix(f"{base}.{alias.name}", known) if base else None
                if target != f"{base}.{alias.name}":
                    target = _known_prefix(base, known) if base else None
                if target:
                    yield target, id(node) in lazy


def _absolute(node: ast.ImportFrom, package: str) -> Optional[str]:
    """Return the absolute module a ``from`` import reads from (relative levels resolved against ``package``)."""
    if not node.level:
        return node.module
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _known_prefix(name: str, known: Dict[str, Path]) -> Optional[str]:
    """Return the longest dotted prefix of ``name`` that is a module of ``nas``, or None."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        if ".".join(parts[:k]) in known:
            return ".".join(parts[:k])
    return None


def layer_of() -> Dict[str, int]:
    """Return ``{unit: layer index}`` from ``LAYERS``."""
    return {u: i for i, group in enumerate(LAYERS) for u in group}


def depth(graph: nx.DiGraph) -> int:
    """Return the number of levels of the longest-path layering of ``graph`` with its cycles collapsed."""
    dag = nx.condensation(graph)
    level: Dict[int, int] = {}
    for node in reversed(list(nx.topological_sort(dag))):
        level[node] = 1 + max((level[s] for s in dag.successors(node)), default=0)
    return max(level.values(), default=0)


def measure(package: Path) -> dict:
    """Return the import structure of ``package`` as a plain dict (the JSON this script writes)."""
    modules = files(package)
    unit = units(modules)
    file_graph, unit_graph = nx.DiGraph(), nx.DiGraph()
    file_graph.add_nodes_from(modules)
    unit_graph.add_nodes_from(set(unit.values()))
    statements, lazy, import_nas = Counter(), Counter(), 0
    for m, path in modules.items():
        for target, is_lazy in imports(m, path, modules):
            import_nas += target == "nas" and m != "nas"
            if target == m:
                continue
            file_graph.add_edge(m, target)
            a, b = unit[m], unit[target]
            if a != b:
                unit_graph.add_edge(a, b)
                statements[(a, b)] += 1
                lazy[(a, b)] += is_lazy
    layers = layer_of()
    back = sorted((a, b) for a, b in unit_graph.edges if a in layers and b in layers and layers[b] > layers[a])
    cycles = lambda g: sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)  # noqa: E731
    rootless_units = unit_graph.copy()
    rootless_units.remove_edges_from([(a, b) for a, b in unit_graph.edges if b == "nas"])
    rootless_files = file_graph.copy()
    rootless_files.remove_edges_from([(a, b) for a, b in file_graph.edges if b == "nas"])
    return {
        "files": len(modules), "file_arrows": file_graph.number_of_edges(),
        "units": sorted(unit_graph.nodes), "unit_arrows": unit_graph.number_of_edges(),
        "depth": depth(unit_graph), "imports_of_nas_inside_nas": import_nas,
        "unplaced": sorted(set(unit_graph.nodes) - set(layers)),
        "back_up": [{"from": a, "to": b, "imports": statements[(a, b)], "lazy": lazy[(a, b)]} for a, b in back],
        "unit_cycles": cycles(unit_graph), "file_cycles": cycles(file_graph),
        "depth_without_root": depth(rootless_units), "unit_cycles_without_root": cycles(rootless_units),
        "file_cycles_without_root": cycles(rootless_files),
        "arrows": [{"from": a, "to": b, "imports": statements[(a, b)], "lazy": lazy[(a, b)]}
                   for a, b in sorted(unit_graph.edges)],
        "layers": [list(g) for g in LAYERS],
    }


def summary(rep: dict) -> str:
    """Return the human summary of ``measure``'s report."""
    lines = [f"{len(rep['units'])} units ({rep['files']} files), {rep['unit_arrows']} arrows between units "
             f"({rep['file_arrows']} between files), depth {rep['depth']} layers; "
             f"{len(rep['back_up'])} arrows back up, {len(rep['unit_cycles'])} unit cycles, "
             f"{len(rep['file_cycles'])} file cycles; {rep['imports_of_nas_inside_nas']} imports of the package "
             "root `nas` from inside it"]
    lines += [f"  back up: {a['from']} -> {a['to']} ({a['imports']} imports, {a['lazy']} lazy)" for a in rep["back_up"]]
    lines += [f"  unit cycle: {' <-> '.join(c)}" for c in rep["unit_cycles"]]
    lines += [f"  file cycle: {' <-> '.join(c)}" for c in rep["file_cycles"]]
    lines.append(f"without the arrows into the root `nas`: depth {rep['depth_without_root']}, "
                 f"{len(rep['unit_cycles_without_root'])} unit cycles, {len(rep['file_cycles_without_root'])} file cycles")
    lines += [f"  unit cycle: {' <-> '.join(c)}" for c in rep["unit_cycles_without_root"]]
    lines += [f"  file cycle: {' <-> '.join(c)}" for c in rep["file_cycles_without_root"]]
    if rep["unplaced"]:
        lines.append(f"  unplaced (add to LAYERS): {', '.join(rep['unplaced'])}")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--package", type=Path, default=ROOT / "nas", help="the package folder (default: nas/)")
    p.add_argument("--json", type=Path, help="also write the whole report here")
    args = p.parse_args(argv)
    if not (args.package / "__init__.py").is_file():
        print(f"error: {str(args.package)[:120]} is not a package folder", file=sys.stderr)
        return 2
    rep = measure(args.package)
    print(summary(rep))
    if args.json:
        args.json.write_text(json.dumps(rep, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

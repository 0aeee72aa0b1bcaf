"""The packages' layering, read from their source with ``ast``: every import counts, at module
level or inside a function (an import moved into a function still runs, it only hides a
cycle from the reader), and so does ``importlib.import_module("...")`` with a literal name.

agents and model are the simulation and never import the experiment engine; experiments'
modules import each other without a cycle; model imports agents only where the model is
assembled (model/market.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "model", "experiments")


def module_name(path: Path) -> str:
    """``experiments/spec.py`` -> ``experiments.spec``; a package's __init__ is the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for package in PACKAGES
           for path in sorted((ROOT / package).rglob("*.py"))}


def imported(name: str, source: str) -> set[str]:
    """The modules the module ``name`` imports in ``source``, absolute and dotted. ``from
    package import module`` names the module; ``from module import thing``, the module."""
    package = name if MODULES.get(name, Path()).name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[:len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found |= {f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module
                      for alias in node.names}
        elif (isinstance(node, ast.Call) and _is_import_module(node.func) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def _is_import_module(func: ast.expr) -> bool:
    return ((isinstance(func, ast.Attribute) and func.attr == "import_module")
            or (isinstance(func, ast.Name) and func.id in ("import_module", "__import__")))


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


IMPORTS = {name: imported(name, path.read_text()) for name, path in MODULES.items()}


def test_every_kind_of_import_is_read():
    source = """
import numpy as np
from experiments.spec import parse_spec
from experiments import runner
from . import designs
from .storage import ResultFolder

def later():
    from experiments.plotting import plot_results
    importlib.import_module("experiments.analyze")
"""
    assert imported("experiments.cli", source) == {
        "numpy", "experiments.spec", "experiments.runner", "experiments.designs",
        "experiments.storage", "experiments.plotting", "experiments.analyze"}
    assert {"agents.users", "model.market", "model.params", "experiments.spec"} <= set(IMPORTS)


def test_the_simulation_never_imports_the_experiment_engine():
    wrong = sorted(f"{name} imports {target}" for name, targets in IMPORTS.items()
                   if in_package(name, "agents") or in_package(name, "model")
                   for target in targets if in_package(target, "experiments"))
    assert not wrong, "agents/ and model/ must not import experiments/: " + "; ".join(wrong)


def test_experiments_modules_import_each_other_without_a_cycle():
    graph = nx.DiGraph()
    for name, targets in IMPORTS.items():
        if in_package(name, "experiments"):
            graph.add_node(name)
            graph.add_edges_from((name, target) for target in targets
                                 if in_package(target, "experiments") and target in MODULES)
    cycles = sorted(" -> ".join([*cycle, cycle[0]]) for cycle in nx.simple_cycles(graph))
    assert not cycles, "import cycles among experiments/ modules: " + "; ".join(cycles)


def test_model_imports_agents_only_in_market():
    wrong = sorted(f"{name} imports {target}" for name, targets in IMPORTS.items()
                   if in_package(name, "model") and name != "model.market"
                   for target in targets if in_package(target, "agents"))
    assert not wrong, "only model/market.py may import agents/: " + "; ".join(wrong)

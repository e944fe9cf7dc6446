"""The package's import graph: a client run loads none of the emulator, no module imports itself
back through others (on import, for type checking, or deferred inside a function: its import
order would matter), none imports the package's public API, and none reaches into another
module's private names."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import harvester

PACKAGE = Path(harvester.__file__).parent


def _emulator_modules_after(code: str) -> list[str]:
    """The `harvester.emulator` modules a fresh interpreter has loaded after running `code`."""
    listing = "print(sorted(m for m in sys.modules if m.startswith('harvester.emulator')))"
    probe = f"{code}\nimport sys\n{listing}"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded = ast.literal_eval(out.strip().splitlines()[-1])
    assert isinstance(loaded, list)
    return loaded


def test_a_harvest_run_loads_none_of_the_emulator() -> None:
    code = "import harvester.workflow.runner, harvester.workflow.cli, harvester.eutils.client"
    assert _emulator_modules_after(code) == []


def test_the_command_line_loads_only_the_serve_flags_not_the_server() -> None:
    loaded = _emulator_modules_after("import harvester.cli; harvester.cli.build_parser()")
    assert "harvester.emulator.cli" in loaded  # the probe did build the serve subcommand
    for machinery in ("server", "app", "dataset", "state", "gatekeeper", "records"):
        assert f"harvester.emulator.{machinery}" not in loaded


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run on import (inside `if TYPE_CHECKING:` and `try:` too), not the
    bodies of functions: an import inside a function is the deliberate way to defer one."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.Try):
            yield from _module_level(node.body + node.orelse)


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    names: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("harvester", *path.relative_to(PACKAGE).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _import_graph(deferred: bool = False) -> dict[str, set[str]]:
    """Module -> the package modules it imports on import or for type checking (and, with
    `deferred`, inside functions), leaving out its own parent packages (a package is imported
    before its modules, so that edge orders nothing)."""
    names = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        deps: set[str] = set()
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree) if deferred else _module_level(tree.body):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    deps.add(child if child in names else node.module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        parents = {name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1)}
        graph[name] = {dep for dep in deps if dep in names} - parents - {name}
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module `start` imports, directly or through others."""
    seen: set[str] = set()
    stack = [start]
    while stack:
        for dep in graph[stack.pop()] - seen:
            seen.add(dep)
            stack.append(dep)
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    reach = {name: _reachable(graph, name) for name in graph}
    cycles = {frozenset(m for m in reach[name] if name in reach[m]) for name in graph}
    return sorted(sorted(c) for c in cycles if c)


def test_no_module_imports_itself_back() -> None:
    graph = _import_graph()
    assert "harvester.emulator.server" in graph["harvester.emulator"]  # type-checking ones count
    assert _cycles(graph) == []


def test_no_module_imports_itself_back_even_through_a_deferred_import() -> None:
    """A deferred import hides a cycle rather than removing it (output.py and table.py once
    imported each other so): the two still cannot be understood one without the other."""
    graph = _import_graph(deferred=True)
    assert "harvester.workflow.table" in graph["harvester.api"]  # deferred ones count
    assert _cycles(graph) == []


def test_no_module_imports_the_package_public_api() -> None:
    """`from harvester import X` loads the public API's front (`harvester/__init__.py`); a
    module needing the version reads `harvester.version`, one needing a module names it."""
    modules = _modules()
    offenders = [
        f"{name}: {alias.name}"
        for name, path in modules.items()
        if name != "harvester"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module == "harvester" and node.level == 0
        for alias in node.names
        if f"harvester.{alias.name}" not in modules
    ]
    assert offenders == []


def _private_names(tree: ast.Module) -> set[str]:
    """The private names a module defines: its functions, classes and attributes (`self._x`)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Name | ast.arg):
            found.add(node.id if isinstance(node, ast.Name) else node.arg)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found.update([node.attr] if node.value.id in ("self", "cls") else [])
    return {name for name in found if name.startswith("_") and not name.startswith("__")}


def test_no_module_reaches_into_another_modules_private_names() -> None:
    """A `_name` is its module's to change: one imported (`from m import _x`) or read off another
    module's object (`obj._x`) elsewhere breaks silently when that module is tidied. Names of
    no module of ours (lxml's `etree._Element`) are left to their own libraries' rules."""
    modules = _modules()
    trees = {name: ast.parse(path.read_text()) for name, path in modules.items()}
    ours = set().union(*(_private_names(tree) for tree in trees.values()))
    offenders = []
    for name, tree in trees.items():
        own = _private_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in modules:
                private = [a.name for a in node.names if a.name.startswith("_")]
                offenders += [f"{name}: from {node.module} import {p}" for p in private]
            elif isinstance(node, ast.Attribute) and node.attr in ours - own:
                offenders.append(f"{name}: {ast.unparse(node)}")
    assert offenders == []

"""The package's import graph: a client run loads none of the emulator, and no module imports
itself back through others on import or for type checking (its import order would matter)."""

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


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports on import or for type checking, leaving out its
    own parent packages (a package is imported before its modules, so that edge orders nothing)."""
    names: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("harvester", *path.relative_to(PACKAGE).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        deps: set[str] = set()
        for node in _module_level(ast.parse(path.read_text()).body):
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


def test_no_module_imports_itself_back() -> None:
    graph = _import_graph()
    assert "harvester.emulator.server" in graph["harvester.emulator"]  # type-checking ones count
    reach = {name: _reachable(graph, name) for name in graph}
    cycles = {frozenset(m for m in reach[name] if name in reach[m]) for name in graph}
    assert [sorted(c) for c in cycles if c] == []

"""The package's shape: modules import downward only, and functions read in a screen.

The import graph counts every import statement, those inside functions included, and imports of
the package itself (``from scalefit import __version__`` is an edge to ``scalefit``); only
imports under ``if TYPE_CHECKING:`` are left out (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scalefit"

LAYERS = [
    [
        "scalefit._version",
        "scalefit._errors",
        "scalefit._progress",
        "scalefit._programs",
        "scalefit._text",
    ],
    ["scalefit.areas"],
    ["scalefit.schedules", "scalefit._curve", "scalefit._metrics", "scalefit.laws"],
    ["scalefit._sweep"],
    ["scalefit._least_squares"],
    ["scalefit._features"],
    ["scalefit._result"],
    ["scalefit._uncertainty", "scalefit._diagnostics"],
    ["scalefit._fit", "scalefit._groups"],
    ["scalefit._predict"],
    ["scalefit._choose", "scalefit._forecast", "scalefit._compare"],
    ["scalefit.io", "scalefit.plot"],
    ["scalefit"],
    ["scalefit.cli"],
]
"""Layers, lowest first (the documentation's architecture page draws them): a module may import
modules of its own layer or of lower ones, never of a higher one. A name stands for a module or a
subpackage with every module in it."""

MAX_LINES = 80
LONGER: dict[str, str] = {}
"""Functions allowed beyond :data:`MAX_LINES` (``"path:name"``), each with the reason."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, importer: str, is_package: bool):
    """The package's modules that ``tree`` imports, outside ``if TYPE_CHECKING:`` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            yield from (m for child in node.orelse for m in _imports(child, importer, is_package))
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importer's package
                package = importer if is_package else importer.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}".rstrip(".")
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in MODULES else base
        yield from _imports(node, importer, is_package)


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = _imports(tree, name, path.name == "__init__.py")
        graph[name] = {m for m in found if m in MODULES and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """A cycle of ``graph`` (its modules in order, the first repeated at the end), or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def layer_of(module: str) -> int:
    for i, layer in enumerate(LAYERS):
        if any(module == m or module.startswith(m + ".") for m in layer if m != "scalefit"):
            return i
    if module == "scalefit":
        return next(i for i, layer in enumerate(LAYERS) if "scalefit" in layer)
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_the_checker_sees_cycles_through_function_level_imports():
    tree = ast.parse("def f():\n    from scalefit import _fit\n")
    assert list(_imports(tree, "scalefit._result", False)) == ["scalefit._fit"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_modules_import_downward_only():
    upward = [
        f"{module} (layer {layer_of(module)}) imports {other} (layer {layer_of(other)})"
        for module, imported in import_graph().items()
        for other in sorted(imported)
        if layer_of(other) > layer_of(module)
    ]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("path", sorted(MODULES.values()), ids=lambda p: module_name(p))
def test_functions_read_in_a_screen(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(PACKAGE.parent).as_posix()
    long = [
        f"{where}:{node.name} is {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_LINES
        and f"{where}:{node.name}" not in LONGER
    ]
    assert not long, "\n".join(long)

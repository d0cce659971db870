"""No import cycles among paperwire's modules, imports inside functions included.

A cycle hidden inside a function still ties two modules together (each needs the
other to work) and breaks the day someone moves the import to the top. The graph
is read from the source with `ast`, so every module counts, loaded or not:
`import a.b` and `from a.b import c` are edges to `a.b` (and to `a.b.c` when that
is a module); imports under `if TYPE_CHECKING:` are left out, as they never run.
`from a import b` where every name is a submodule is an edge to those submodules
alone, like `import a.b`: it needs nothing that a's `__init__` defines (Python
finds a.b in sys.modules even while a is still initialising).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import paperwire

def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package in folder `root`, by dotted name (a package by its own name)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of `modules` that module `name` (at `path`) imports anywhere but under
    `if TYPE_CHECKING:`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            submodules = {f"{base}.{alias.name}" for alias in node.names}
            found.update(submodules if submodules <= modules else {base, *submodules})
    return found & modules - {name}


def _runtime_nodes(tree: ast.AST):
    """Every node of `tree` except those under `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = module_names(root)
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module, as a path that
    starts and ends at its first module in sorted order."""
    return [_path_within(graph, component) for component in components(graph) if len(component) > 1]


def components(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of `graph` (Tarjan 1972)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:  # the graph of one package is small: recursion is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            cut = stack.index(node)
            found.append(set(stack[cut:]))
            del stack[cut:]

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _path_within(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A cycle through the first module of `component`: a breadth-first search back to it."""
    start = min(component)
    came_from = {start: None}
    todo = [start]
    while todo:
        node = todo.pop(0)
        for target in sorted(graph[node] & component):
            if target == start:
                path = [node]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, node, start]
            if target not in came_from:
                came_from[target] = node
                todo.append(target)
    raise AssertionError(f"{sorted(component)} is no cycle")


def test_paperwire_has_no_import_cycles():
    graph = import_graph(Path(paperwire.__file__).parent)
    cycles = [_path_within(graph, c) for c in components(graph) if len(c) > 1]
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_the_graph_has_the_imports_that_run():
    graph = import_graph(Path(paperwire.__file__).parent)
    assert "paperwire.leases" in graph["paperwire.jobs.runner"]  # from paperwire.leases import ...
    assert "paperwire.search.pipeline" in graph["paperwire.jobs.table"]  # from paperwire.search import pipeline
    assert "paperwire.store" not in graph["paperwire.leases"]  # only under TYPE_CHECKING
    # submodules alone: engine needs nothing from search/__init__.py, which imports engine
    assert "paperwire.search" not in graph["paperwire.search.engine"]
    assert "paperwire.search.fusion" in graph["paperwire.search.engine"]


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    return package


@pytest.mark.parametrize("files, expected", [
    ({"a.py": "import pkg.b\n", "b.py": "x = 1\n"}, []),
    # an import inside a function still counts
    ({"a.py": "import pkg.b\n", "b.py": "def f():\n    from pkg import a\n"}, [["pkg.a", "pkg.b", "pkg.a"]]),
    # one under TYPE_CHECKING does not, nor does one under typing.TYPE_CHECKING
    ({"a.py": "import pkg.b\n",
      "b.py": "import typing\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import X\n"
              "if typing.TYPE_CHECKING:\n    import pkg.a\n"}, []),
    # relative imports, three modules round
    ({"a.py": "from .b import f\n", "b.py": "from . import c\n", "c.py": "from .a import g\n"},
     [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]),
    # a package and a module in it that needs what the package defines
    ({"__init__.py": "from pkg.sub import x\n", "sub.py": "from pkg import y\n"}, [["pkg", "pkg.sub", "pkg"]]),
    # ...or only a sibling module, found in sys.modules while the package initialises
    ({"__init__.py": "from pkg.sub import x\n", "sub.py": "from pkg import other\n", "other.py": ""}, []),
    ({"inner/__init__.py": "from ..a import f\n", "a.py": "def f():\n    from pkg.inner import g\n"},
     [["pkg.a", "pkg.inner", "pkg.a"]]),
])
def test_cycles_in_a_small_package(tmp_path, files, expected):
    assert cycles(import_graph(write_package(tmp_path, files))) == expected

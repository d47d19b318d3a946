"""No import circle anywhere in ``src/aivm``.

The module graph is built from the source with ``ast``, without importing anything:

- a node is a module (``aivm.node.rest``); a package is its ``__init__.py`` (``aivm.node``);
- every ``import`` and ``from … import`` statement in a file is an edge, wherever it stands
  (module level, inside a function or a class, under ``try``), except those under
  ``if TYPE_CHECKING:`` (they never run);
- ``import aivm.a.b`` is an edge to ``aivm.a.b``; ``from aivm.a import b`` is an edge to
  ``aivm.a.b`` when that is a module or a package, else to ``aivm.a`` (``b`` is a name
  defined there); relative imports are resolved against the importing module's package;
- importing a module also runs its parent packages' ``__init__``, but that implicit edge is
  not drawn: a package's ``__init__`` may import its own submodules (re-exports). A
  submodule that names its own package (``from aivm.client import X`` inside
  ``aivm/client/x.py``) does draw the edge, and is a circle when the ``__init__`` imports it.

Every strongly connected component of more than one module is a circle; the test lists them
all. Moving an import into a function does not remove its edge: fix the layering instead
(move the shared code down into a module both sides import).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "aivm"


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree``, skipping ``if TYPE_CHECKING:`` bodies."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def imported_modules(path: Path, modules: set[str], src: Path = SRC) -> set[str]:
    """The ``aivm`` modules that ``path`` imports (names in ``modules``)."""
    name = module_name(path, src)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            targets = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in modules else base)
        for target in targets:
            # ``import aivm.a.b.C``-style names that are not modules: nearest module above
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    files = {module_name(p, src): p for p in sorted((src / ROOT).rglob("*.py"))}
    modules = set(files)
    return {name: imported_modules(path, modules, src) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 100, "the source tree was not found"
    found = cycles(graph)
    report = "\n".join(
        " <-> ".join(c) + "\n    " + "\n    ".join(f"{m} -> {sorted(graph[m] & set(c))}" for m in c)
        for c in found
    )
    assert not found, f"import cycles in src/aivm:\n{report}"


def test_checker_finds_a_cycle_through_a_function_import(tmp_path: Path) -> None:
    """A circle closed by an import inside a function, or by ``from pkg import mod``, is found;
    one closed only under ``if TYPE_CHECKING:`` is not."""
    pkg = tmp_path / ROOT / "p"
    pkg.mkdir(parents=True)
    (tmp_path / ROOT / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from aivm.p.a import A\n")
    (pkg / "a.py").write_text("class A:\n    def f(self):\n        from aivm.p import b\n")
    (pkg / "b.py").write_text("from . import a\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from aivm.p.d import D\n"
    )
    (pkg / "d.py").write_text("from aivm.p.c import *\n")
    graph = import_graph(tmp_path)
    assert graph["aivm.p"] == {"aivm.p.a"}
    assert graph["aivm.p.c"] == set()
    assert cycles(graph) == [["aivm.p.a", "aivm.p.b"]]

"""The layering rules of app/, checked on every run from the source with ``ast``.

- no import cycle between modules of app/ (function-local imports count; imports under
  ``if TYPE_CHECKING:`` do not, they never run);
- app/domain and app/db never import app.web or app.realtime;
- app/realtime never imports app.web;
- no module in app/ is over 400 lines.

An import ``from app.x import y`` is an edge to ``app.x.y`` when that is a module, else to ``app.x``.
Importing a submodule also runs its packages' ``__init__`` (app/web/pages/__init__.py imports every
page), so it is an edge to each of those packages too, bar the importer's own (already running).
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
MAX_LINES = 400
# Alembic revisions are frozen history, run by Alembic and never imported: the first one holds the
# whole initial schema and is not split after the fact.
LINE_LIMIT_EXEMPT = {"app.db.migrations.versions.0001_initial_schema"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(APP.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Every module name imported anywhere in ``tree`` (function bodies too), bar TYPE_CHECKING blocks."""
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
            names.append(base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the app modules it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets: set[str] = set()
        for imported in _imported_names(tree, name, path.name == "__init__.py"):
            if imported in modules and imported != name:
                # ``from app.x import y`` lists both app.x.y and app.x: keep the more precise one.
                if any(other.startswith(imported + ".") for other in targets):
                    continue
                targets.add(imported)
        # Drop a package when one of its submodules is the real target...
        precise = {t for t in targets if not any(o.startswith(t + ".") for o in targets)}
        # ...then add the packages whose ``__init__`` that import runs.
        graph[name] = precise | {p for t in precise for p in _packages_run(t, name, modules)}
    return graph


def _packages_run(target: str, importer: str, modules: dict[str, Path]) -> set[str]:
    """The packages above ``target`` whose ``__init__`` importing it runs (not ``importer``'s own)."""
    parts = target.split(".")
    above = (".".join(parts[:i]) for i in range(2, len(parts)))
    return {p for p in above if p in modules and not (importer + ".").startswith(p + ".")}


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _violations(graph: dict[str, set[str]], source: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.startswith(source)
        for target in targets
        if target.startswith(forbidden)
    )


def test_no_import_cycles() -> None:
    cycles = [sorted(c) for c in _cycles(import_graph())]
    assert cycles == []


def test_domain_and_db_never_import_web_or_realtime() -> None:
    graph = import_graph()
    assert _violations(graph, ("app.domain.", "app.db."), ("app.web", "app.realtime")) == []


def test_realtime_never_imports_web() -> None:
    assert _violations(import_graph(), ("app.realtime.",), ("app.web",)) == []


def test_no_module_over_400_lines() -> None:
    long = {
        name: count
        for name, path in _modules().items()
        if name not in LINE_LIMIT_EXEMPT and (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_checker_sees_function_local_imports_and_skips_type_checking() -> None:
    """The rules above are only as good as the graph: pin what it reads."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from app.web import live\n"
        "def f():\n    from app.realtime import hub\n"
        "from . import views\n"
    )
    names = _imported_names(ast.parse(source), "app.domain.dashboard.services", is_package=False)
    assert "app.realtime.hub" in names
    assert "app.domain.dashboard.views" in names
    assert not any(name.startswith("app.web") for name in names)
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    # Importing app.web.pages.executions.view runs app/web/pages/__init__.py and the executions package's.
    modules = {name: Path() for name in ("app.web", "app.web.pages", "app.web.pages.executions")}
    assert _packages_run("app.web.pages.executions.view", "app.web.live", modules) == {
        "app.web.pages",
        "app.web.pages.executions",
    }
    assert "app.web" in _packages_run("app.web.pages.executions.view", "app.asgi", modules)
    assert _packages_run("app.web.pages.executions.view", "app.web.pages.trash.controller", modules) == {
        "app.web.pages.executions"
    }

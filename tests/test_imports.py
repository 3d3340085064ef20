"""The package's import graph is a DAG, read from the source with `ast`.

Every `import` counts, wherever it is written — at module level, inside a function, under
`if TYPE_CHECKING:` — because an import moved into a function hides a cycle rather than
removing it. Edges go to the module named (`from app.x import y` is `app.x.y` when that is
a module, else `app.x`). Importing `app.x.y` also runs `app/x/__init__.py`, but Python has
that package in `sys.modules` before its submodules run, so that implicit edge is not drawn:
a package's `__init__` re-exporting its submodules is no cycle, while a submodule that writes
`from app.x import Name` (getting a name its own `__init__` re-exports) is one, and is caught.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

# (lower, upper): nothing in `lower` may reach `upper`, directly or through other modules.
LAYERS = (
    ("app.llm", "app.evaluation"),  # the LLM answerer is evaluated, it does not evaluate
    ("app.evaluation.scoring", "app.evaluation.runner"),  # the `eval` command sits on the library
    ("app.evaluation.report", "app.evaluation.runner"),
    ("app.evaluation.calibrate", "app.evaluation.runner"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(APP.rglob("*.py"))}


def imported(name: str, path: Path, known: dict[str, Path]) -> dict[str, int]:
    """The app modules `name` imports, each with the line of its first import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from . import x`, `from ..y import z`
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for target in targets:
            if target in known and target != name:
                out.setdefault(target, node.lineno)
    return out


def import_graph() -> dict[str, dict[str, int]]:
    known = modules()
    return {name: imported(name, path, known) for name, path in known.items()}


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle as a path `[a, b, ..., a]`, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(graph):
        if root in state:
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, {}))))
    return None


def reachable(graph: dict[str, dict[str, int]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), {}):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_app_imports_form_no_cycle() -> None:
    graph = import_graph()
    cycle = find_cycle(graph)
    if cycle:
        steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in itertools.pairwise(cycle)]
        pytest.fail("import cycle: " + " ; ".join(steps))


@pytest.mark.parametrize(("lower", "upper"), LAYERS)
def test_lower_layers_do_not_import_upper_ones(lower: str, upper: str) -> None:
    graph = import_graph()
    offenders = {name: sorted(m for m in reachable(graph, name) if within(m, upper)) for name in graph}
    offenders = {name: found for name, found in offenders.items() if found and within(name, lower)}
    assert not offenders, f"{lower} reaches {upper}: {offenders}"


def test_cycle_finder_on_hand_made_graphs() -> None:
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {}}) is None
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1, "c": 1}, "b": {"c": 1}, "c": {}}) is None  # a diamond is fine

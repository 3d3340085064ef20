"""The shape the code keeps (STYLE.md): modules short enough to read in one sitting, functions
short enough to hold in one's head, and no brand of the seed documents named in code — facts
about brands live in documents/catalogue.toml."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
MODULES = sorted(APP.rglob("*.py"))
MAX_LINES = 350
MAX_FUNCTION_LINES = 60
BRANDS = re.compile(r"cartier|harry|winston|卡地亚|海瑞", re.IGNORECASE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(APP)))
def test_module_is_short(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(APP)}: {lines} lines (at most {MAX_LINES})"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(APP)))
def test_functions_are_short(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.relative_to(APP)}: over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"


def _code_without_comments(source: str) -> str:
    """The module's code and strings, less its comments and docstrings."""
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            docstrings.add(first.lineno)
    kept = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT or (tok.type == tokenize.STRING and tok.start[0] in docstrings):
            continue
        kept.append(tok.string)
    return " ".join(kept)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(APP)))
def test_no_brand_is_named_in_code(path: Path) -> None:
    found = BRANDS.findall(_code_without_comments(path.read_text(encoding="utf-8")))
    assert not found, f"{path.relative_to(APP)} names {sorted(set(found))} outside comments: use the catalogue"


def test_the_checks_catch_what_they_look_for() -> None:
    assert BRANDS.findall(_code_without_comments('x = "Cartier"  # fine\n')) == ["Cartier"]
    assert not BRANDS.findall(_code_without_comments('def f():\n    """Cartier."""\n    return 1  # Harry\n'))

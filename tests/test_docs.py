"""The README and docs/ hold together: every relative link and image resolves to a file (and an
anchor to a heading of it), every page in docs/ is reachable from the README, and the README stays
short enough to read in five minutes. Links are what a reader clicks; a moved section must not
leave one dangling."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = (README, *sorted((ROOT / "docs").glob("*.md")))
README_LIMIT = 12 * 1024  # bytes: the newcomer's five minutes

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_SRC = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.IGNORECASE)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text a renderer turns into links: fenced blocks and code spans removed."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    """Every link and image target written in Markdown or as an HTML attribute, in order."""
    body = prose(text)
    return [*_LINK.findall(body), *_HTML_SRC.findall(body)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed, spaces
    to hyphens (repeats of one heading get -1, -2, … in `anchors`)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays
    text = re.sub(r"[`*_]", "", text).strip().lower()
    kept = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors a page's headings make, duplicates numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def is_external(target: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) is not None or target.startswith("//")


def broken(page: Path) -> list[str]:
    """The relative links of `page` that point at no file, or at no heading of their file."""
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if is_external(target):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            problems.append(f"{target}: no file {resolved}")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken(page) == []


def test_readme_is_short() -> None:
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail to docs/ (limit {README_LIMIT})"


def test_every_doc_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(README.read_text(encoding="utf-8"))}
    orphans = [p.name for p in PAGES[1:] if p.resolve() not in linked]
    assert orphans == [], f"docs/ pages the README does not link: {orphans}"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Running several replicas", "running-several-replicas"),
        ("The `make check` loop", "the-make-check-loop"),
        ("Reliability and security", "reliability-and-security"),
        ("Load: 16 clients, p95 (ms)", "load-16-clients-p95-ms"),
        ("模型与训练", "模型与训练"),
    ],
)
def test_slug_follows_github(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_checker_finds_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("# Here\n", encoding="utf-8")
    page.write_text(
        "[ok](there.md#here) [gone](missing.md) [bad anchor](there.md#nowhere) `[code](x.md)`\n"
        "```\n[fenced](y.md)\n```\n![img](pic.png) [web](https://example.com/x)\n",
        encoding="utf-8",
    )
    assert [p.split(":")[0] for p in broken(page)] == ["missing.md", "there.md#nowhere", "pic.png"]

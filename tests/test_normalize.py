"""Normalisation of the seed policies: mojibake, Markdown, banners, nothing lost."""

from __future__ import annotations

import re

import pytest

from app.text import is_cjk
from app.text.normalize import clean_inline, label_of, normalize
from tests.conftest import DOCUMENTS, SEED_IDS

_MARKERS = re.compile(r"^[#*•\-\s]+")
_RULE = re.compile(r"^(\*\s*){3,}$|^(-\s*){3,}$|^(_\s*){3,}$")


def _raw(doc_id: str) -> str:
    return (DOCUMENTS / f"{doc_id}.txt").read_text(encoding="utf-8")


def test_mojibake_is_repaired():
    raw = _raw("cartier-privacy-policy-2024")
    assert "Andr√©" in raw  # the seed really carries the damage
    text = normalize(raw).text
    assert "André-De-Garrini" in text
    assert "√" not in text


def test_http_link_keeps_its_address_in_parentheses():
    text = normalize(_raw("harry-winston-privacy-policy-2015")).text
    assert "instructions (https://tools.google.com/dlpage/gaoptout)" in text


def test_mailto_link_becomes_the_address():
    text = normalize(_raw("harry-winston-privacy-policy-2015")).text
    assert "e-mail us at clientservices@harrywinston.com" in text
    assert "mailto:" not in text


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_no_markdown_left(doc_id):
    text = normalize(_raw(doc_id)).text
    assert "**" not in text
    assert "](" not in text
    assert "mailto:" not in text


@pytest.mark.parametrize(
    ("doc_id", "url_part"),
    [
        ("cartier-us-privacy-policy-2010", "cartier.us/privacy-policy"),
        ("harry-winston-privacy-policy-2015", "harrywinston.com/en/privacy-policy"),
    ],
)
def test_archive_banner_is_dropped_and_its_url_kept(doc_id, url_part):
    raw = _raw(doc_id)
    assert "The following text is extracted" in raw
    norm = normalize(raw)
    assert "The following text is extracted" not in norm.text
    assert "Wayback Machine" not in norm.text
    assert url_part in norm.source_url
    assert norm.source_url.startswith("https://")


def test_document_without_banner_has_no_source_url():
    assert normalize(_raw("cartier-privacy-policy-2024")).source_url == ""


def _expected_lines(raw: str) -> list[str]:
    out = []
    for line in raw.splitlines():
        stripped = line.strip()
        if not stripped or _RULE.match(stripped) or "The following text is extracted" in stripped:
            continue
        cleaned = clean_inline(_MARKERS.sub("", stripped))
        if cleaned:
            out.append(cleaned)
    return out


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_every_raw_line_survives(doc_id):
    import ftfy

    raw = _raw(doc_id)
    text = normalize(raw).text
    fixed = ftfy.fix_text(raw, uncurl_quotes=False, fix_character_width=False)
    missing = [line for line in _expected_lines(fixed) if line not in text]
    assert missing == []


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_blocks_tile_the_text(doc_id):
    norm = normalize(_raw(doc_id))
    assert norm.blocks, "a seed must produce blocks"
    assert "\n".join(b.text(norm.text) for b in norm.blocks) == norm.text
    for block in norm.blocks:
        piece = block.text(norm.text)
        assert piece and piece == piece.strip() and "\n" not in piece


def test_normalize_is_idempotent_on_plain_text():
    text = "First paragraph of plain text.\nSecond paragraph, also plain."
    assert normalize(text).text == text


def test_rules_and_blank_lines_are_dropped():
    norm = normalize("Intro line of the policy here.\n\n* * *\n\n---\nNext line of the policy here.")
    assert norm.text == "Intro line of the policy here.\nNext line of the policy here."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "[instructions](https://tools.google.com/dlpage/gaoptout)",
            "instructions (https://tools.google.com/dlpage/gaoptout)",
        ),
        ("write to [a@b.com](mailto:a@b.com) now", "write to a@b.com now"),
        ("see [https://x.org](https://x.org)", "see https://x.org"),
        ("our [Terms of Use](https://web.archive.org/legal-terms)", "our Terms of Use"),
        ("**bold** and *italic* text", "bold and italic text"),
        ("1\\. escaped   spaces\t here", "1. escaped spaces here"),
    ],
)
def test_clean_inline(line, expected):
    assert clean_inline(line) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Location data: We will collect information about your location to the extent permitted by your "
            "device settings.",
            "Location data",
        ),
        (
            "Right of access: You have the right to request a copy of the personal information we hold about you.",
            "Right of access",
        ),
        ("Cartier accepts the following credit cards: Visa, MasterCard, American Express, and Discover.", ""),
        (
            "访问和更正:除非适用的法律有所禁止或限制,您有权要求查看我们留存的关于您的任何个人信息,或者更正任何不准确之处,"
            "以及更新任何过时的信息。",
            "访问和更正",
        ),
        pytest.param(
            "访问和更正:除非适用的法律有所禁止或限制,您有权要求查看我们留存的关于您的任何个人信息",
            "访问和更正",
        ),
        ("Short: too short a rest.", ""),
        ("lowercase label: the rest of this sentence is long enough to count as a body of text.", ""),
        ("No colon in this sentence at all, just a long stretch of ordinary words and more words.", ""),
    ],
)
def test_label_of(text, expected):
    assert label_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("您的选择", True),
        ("CARTIER SA的注册办公地址为Rue André-De-Garrini 3", True),
        ("中", False),  # one character is not enough
        ("Cross-border transfers", False),
        ("Rue André-De-Garrini 3, 1217 Meyrin", False),
        ("", False),
    ],
)
def test_is_cjk(text, expected):
    assert is_cjk(text) is expected

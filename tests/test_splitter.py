"""Splitting normalised policies into clauses: offsets, coverage, sections, ids."""

from __future__ import annotations

import pytest

from app.splitter import SplitterConfig, split_document, split_sentences
from app.text import CJK
from app.text.normalize import BlockKind, normalize
from tests.conftest import DOCUMENTS, SEED_IDS


def _norm(doc_id: str):
    return normalize((DOCUMENTS / f"{doc_id}.txt").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def split():
    """doc_id -> (Normalized, clauses) with the default configuration."""
    out = {}
    for doc_id in SEED_IDS:
        norm = _norm(doc_id)
        out[doc_id] = (norm, split_document(doc_id, norm))
    return out


def _with_section(clauses, last: str):
    return [c for c in clauses if c.section and c.section[-1] == last]


# --- offsets -------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_clause_offsets_slice_back(split, doc_id):
    norm, clauses = split[doc_id]
    assert clauses
    for c in clauses:
        assert norm.text[c.start : c.end] == c.text
        assert c.doc_id == doc_id


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_sentence_spans_lie_inside_their_clause(split, doc_id):
    norm, clauses = split[doc_id]
    for c in clauses:
        assert c.sentences, c.clause_id
        assert c.sentences[0].start == c.start and c.sentences[-1].end == c.end
        for s in c.sentences:
            assert c.start <= s.start < s.end <= c.end
            piece = norm.text[s.start : s.end]
            assert piece and piece.strip() == piece
        starts = [s.start for s in c.sentences]
        assert starts == sorted(starts)


# --- nothing lost ------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_no_sentence_is_lost(split, doc_id):
    norm, clauses = split[doc_id]
    lost = []
    for block in norm.blocks:
        if block.kind is BlockKind.HEADING:
            continue
        for span in split_sentences(block.text(norm.text), block.start):
            sentence = norm.text[span.start : span.end]
            if not any(sentence in c.text for c in clauses):
                lost.append(sentence)
    assert lost == []


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_every_heading_is_kept_as_section_or_text(split, doc_id):
    norm, clauses = split[doc_id]
    lost = []
    for i, block in enumerate(norm.blocks):
        if block.kind is not BlockKind.HEADING:
            continue
        if i == 0 and block.level == 1:
            continue  # the document's own title (by design not a section; it stays in the text)
        heading = block.text(norm.text)
        if not any(heading in c.section or heading in c.text for c in clauses):
            lost.append(heading)
    assert lost == []


# --- sections ----------------------------------------------------------------------------------


def test_2024_retention_section(split):
    _, clauses = split["cartier-privacy-policy-2024"]
    retaining = _with_section(clauses, "Retaining your personal information")
    assert any("ten years after" in c.text for c in retaining)
    assert all(c.section[0] == "Commitment 2: Protecting Your Personal Information" for c in retaining)


@pytest.mark.parametrize(
    ("last", "outer", "starts_with"),
    [
        ("Right of access", "Commitment 3: Respecting your rights", "You have the right to ask for access"),
        (
            "Location data",
            "Commitment 1: Transparency & Trust",
            "Location data: We will collect information about your location",
        ),
    ],
)
def test_2024_labelled_sections(split, last, outer, starts_with):
    _, clauses = split["cartier-privacy-policy-2024"]
    found = _with_section(clauses, last)
    assert found
    assert any(c.text.startswith(starts_with) for c in found)
    assert all(c.section[0] == outer for c in found)


def test_2024_commitment_is_outer_section(split):
    _, clauses = split["cartier-privacy-policy-2024"]
    outer = [c for c in clauses if c.section[:1] == ("Commitment 2: Protecting Your Personal Information",)]
    assert len(outer) >= 5
    assert any(len(c.section) >= 2 for c in outer)


@pytest.mark.parametrize("section", ["NOTE TO MINORS AND CHILDREN", "JOINT USE OF PERSONAL DATA"])
def test_2010_sections(split, section):
    _, clauses = split["cartier-us-privacy-policy-2010"]
    assert _with_section(clauses, section)


def test_2010_minors_section_content(split):
    _, clauses = split["cartier-us-privacy-policy-2010"]
    minors = _with_section(clauses, "NOTE TO MINORS AND CHILDREN")
    assert any("children under age 13" in c.text for c in minors)


@pytest.mark.parametrize(
    ("section", "lang"),
    [("您的选择", "zh"), ("跨境传输", "zh"), ("Cross-border transfers", "en"), ("Your choices", "en")],
)
def test_china_sections(split, section, lang):
    _, clauses = split["cartier-china-privacy-policy-2023"]
    found = [c for c in clauses if section in c.section]
    assert found
    assert {c.lang for c in found} == {lang}


def test_conditions_of_sale_section(split):
    _, clauses = split["cartier-conditions-of-sale"]
    assert {c.section for c in clauses} == {("7. PAYMENT BY CREDIT CARD",)}
    assert any("Visa, MasterCard, American Express, and Discover" in c.text for c in clauses)


def test_harry_winston_nested_section(split):
    _, clauses = split["harry-winston-privacy-policy-2015"]
    found = _with_section(clauses, "User-Provided Information")
    assert found
    assert all(
        c.section == ("What information is collected on this Website?", "User-Provided Information") for c in found
    )
    assert any("“Personal Information” is information that can be used to identify you" in c.text for c in found)


def test_china_file_has_both_languages_and_lang_matches_text(split):
    _, clauses = split["cartier-china-privacy-policy-2023"]
    langs = {c.lang for c in clauses}
    assert langs == {"zh", "en"}
    for c in clauses:
        has_cjk = bool(CJK.search(c.text))
        if c.lang == "zh":
            assert has_cjk, c.clause_id
        else:
            assert not has_cjk, c.clause_id
    # the Chinese version comes first, then the English one
    first_en = next(i for i, c in enumerate(clauses) if c.lang == "en")
    assert all(c.lang == "en" for c in clauses[first_en:])


def test_china_overseas_receiver_address_keeps_its_chinese_section(split):
    _, clauses = split["cartier-china-privacy-policy-2023"]
    address = next(c for c in clauses if c.lang == "zh" and "50 chemin de la Chênaie" in c.text)
    assert address.section == ("跨境传输",)


def test_china_english_overseas_receiver_address_is_in_the_english_section(split):
    _, clauses = split["cartier-china-privacy-policy-2023"]
    english = [c for c in clauses if c.section == ("Cross-border transfers",)]
    assert any("50 chemin de la Chênaie" in c.text for c in english)


def test_china_chinese_section_b_is_a_section(split):
    _, clauses = split["cartier-china-privacy-policy-2023"]
    assert any(c.section and c.section[-1] == "b. How we will use your personal information" for c in clauses)
    assert any(c.section and c.section[-1] == "b.我们将如何使用您的个人信息" for c in clauses)


@pytest.mark.parametrize(
    "bullet",
    [
        "customizing our Website to your interests and history with us",
        "with our co-sponsor(s) if we obtain your information in connection with a contest",
    ],
)
def test_repeated_bullets_are_indexed_once(split, bullet):
    norm, clauses = split["harry-winston-privacy-policy-2015"]
    assert norm.text.count(bullet) == 2  # the seed repeats it
    assert sum(c.text.count(bullet) for c in clauses) == 1


# --- over-long clauses -------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_over_long_clauses_split_at_sentences(doc_id):
    norm = _norm(doc_id)
    small = split_document(doc_id, norm, SplitterConfig(max_chars=300))
    default = split_document(doc_id, norm)
    assert len(small) >= len(default)
    for c in small:
        assert len(c.text) <= 300 or len(c.sentences) == 1, c.clause_id
        assert norm.text[c.start : c.end] == c.text
        # each part keeps the section of the clause it was cut from
        parent = next(d for d in default if d.start <= c.start and c.end <= d.end)
        assert c.section == parent.section
    # the parts together cover exactly what the default clauses cover
    assert sorted((s.start, s.end) for c in small for s in c.sentences) == sorted(
        (s.start, s.end) for c in default for s in c.sentences
    )


def test_split_actually_happens_with_small_max_chars():
    norm = _norm("cartier-privacy-policy-2024")
    assert max(len(c.text) for c in split_document("d", norm)) > 300
    small = split_document("d", norm, SplitterConfig(max_chars=300))
    assert sum(len(c.text) > 300 for c in small) < sum(len(c.text) > 300 for c in split_document("d", norm))


@pytest.mark.parametrize("bad", [10, 199, 0, -5])
def test_too_small_max_chars_is_refused(bad):
    with pytest.raises(ValueError, match="max_chars"):
        SplitterConfig(max_chars=bad)


def test_non_positive_line_limits_are_refused():
    with pytest.raises(ValueError):
        SplitterConfig(short_line_chars=0)
    with pytest.raises(ValueError):
        SplitterConfig(long_bullet_chars=-1)


# --- ids ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_ids_are_stable_and_unique(doc_id):
    first = [c.clause_id for c in split_document(doc_id, _norm(doc_id))]
    second = [c.clause_id for c in split_document(doc_id, _norm(doc_id))]
    assert first == second
    assert len(set(first)) == len(first)
    assert all(i.startswith(f"{doc_id}:") for i in first)


def _id_map(doc_id: str, raw: str) -> dict[str, tuple[tuple[str, ...], str]]:
    return {c.clause_id: (c.section, c.text) for c in split_document(doc_id, normalize(raw))}


def test_editing_a_sentence_changes_only_that_clause():
    doc_id = "harry-winston-privacy-policy-2015"
    raw = (DOCUMENTS / f"{doc_id}.txt").read_text(encoding="utf-8")
    old = "we will endeavor to notify you as promptly as possible"
    assert raw.count(old) == 1
    before = _id_map(doc_id, raw)
    after = _id_map(doc_id, raw.replace(old, "we will notify you within seventy-two hours"))
    assert before.keys() == after.keys()
    changed = [k for k in before if before[k] != after[k]]
    assert changed == ["harry-winston-privacy-policy-2015:security:3"]


def test_adding_a_paragraph_changes_ids_only_in_that_section():
    doc_id = "harry-winston-privacy-policy-2015"
    raw = (DOCUMENTS / f"{doc_id}.txt").read_text(encoding="utf-8")
    anchor = "If we believe that the security of your Personal Information"
    assert raw.count(anchor) == 1
    new = "We review our security measures every year and train every employee who handles your data.\n\n"
    before = _id_map(doc_id, raw)
    after = _id_map(doc_id, raw.replace(anchor, new + anchor))
    assert len(after) == len(before) + 1
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed
    assert {after.get(k, before.get(k))[0] for k in changed} == {("Security",)}


_TWO_CONTACTS = """# Group privacy notice

## Europe

### Contact us

Write to our European data protection officer at the address printed on your invoice, please.

## United States

### Contact us

Call our client relations centre in New York on any weekday between nine and five, please.
"""


def test_same_named_sections_get_distinct_ids():
    clauses = split_document("d", normalize(_TWO_CONTACTS))
    assert [c.section for c in clauses] == [("Europe", "Contact us"), ("United States", "Contact us")]
    assert len({c.clause_id for c in clauses}) == 2


def test_editing_one_section_does_not_renumber_a_same_named_section():
    before = _id_map("d", _TWO_CONTACTS)
    edited = _TWO_CONTACTS.replace(
        "invoice, please.\n",
        "invoice, please.\n\nOr use the web form on our European site, which we answer within a week.\n",
    )
    after = _id_map("d", edited)
    us_before = {k for k, v in before.items() if v[0][0] == "United States"}
    us_after = {k for k, v in after.items() if v[0][0] == "United States"}
    assert us_before == us_after


# --- sentences ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One sentence. Another one here.", ["One sentence.", "Another one here."]),
        ("We use e.g. cookies. Then more.", ["We use e.g. cookies.", "Then more."]),
        ("Cartier S. A. has offices. It sells.", ["Cartier S. A. has offices.", "It sells."]),
        ("Registered in the U.S. Our office is here.", ["Registered in the U.S. Our office is here."]),
        ("我们收集信息。我们使用信息!", ["我们收集信息。", "我们使用信息!"]),
        ("No end punctuation", ["No end punctuation"]),
    ],
)
def test_split_sentences(text, expected):
    spans = split_sentences(text)
    assert [text[s.start : s.end] for s in spans] == expected


def test_split_sentences_offset_is_applied():
    spans = split_sentences("A first one. A second one.", offset=100)
    assert [(s.start, s.end) for s in spans] == [(100, 112), (113, 126)]

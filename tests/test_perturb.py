"""The robustness block's perturbations (app.evaluation.perturb) against a hand-built catalogue:
pure and deterministic, so every expected question below is written out and checked by hand."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import pytest

from app.catalog import Catalog
from app.evaluation.dataset import EvalItem
from app.evaluation.metrics import Source
from app.evaluation.perturb import (
    PERTURBATIONS,
    Conversation,
    followup,
    neighbours,
    other_scopes,
    plain,
    policy_scope,
    slip,
    strip_scope,
    typos,
)
from app.evaluation.robustness import perturbed
from app.records import DocumentMeta

ACME = "acme-privacy-2024"
ACME_OLD = "acme-privacy-2019"
ACME_CHINA = "acme-china-privacy-2023"
NOVA = "nova-privacy-2015"

# Two brands; Acme has a superseded version and a regional China policy (first in Chinese);
# Nova is named "Nova Jewels" too, and its region is the US.
CATALOG = Catalog(
    {
        m.doc_id: m
        for m in (
            DocumentMeta(ACME, brand="Acme", languages=("en",), effective_date="2024-03-01", aliases=("艾克美",)),
            DocumentMeta(ACME_OLD, brand="Acme", languages=("en",), effective_date="2019-05-01", superseded_by=ACME),
            DocumentMeta(
                ACME_CHINA,
                brand="Acme",
                languages=("zh", "en"),
                effective_date="2023-11-01",
                aliases=("艾克美",),
                region_names=("China", "mainland", "中国"),
                regional=True,
            ),
            DocumentMeta(
                NOVA,
                brand="Nova",
                languages=("en",),
                effective_date="2015-06-01",
                aliases=("Nova Jewels",),
                region_names=("US", "United States", "美国"),
            ),
        )
    }
)


def item(
    question: str, doc_ids: Sequence[str] = (ACME,), lang: str = "en", iid: str = "q1", **filters: str
) -> EvalItem:
    return EvalItem(
        id=iid,
        question=question,
        lang=lang,
        persona="customer",
        answerable=bool(doc_ids),
        filters=dict(filters),
        sources=tuple(Source(d, "some quote") for d in doc_ids),
        needs_all=False,
        answer_facts=(),
        kind="test",
        split="unit",
    )


class ScriptedRng(random.Random):
    """A Random whose choices are scripted: ``choice`` and ``randrange`` take the next index."""

    def __init__(self, picks: Sequence[int]) -> None:
        super().__init__(0)
        self.picks = list(picks)

    def choice(self, seq):  # type: ignore[override]
        return seq[self.picks.pop(0)]

    def randrange(self, start, stop=None, step=1):  # type: ignore[override]
        return start + self.picks.pop(0)


# -- typos ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("letter", "expected"),
    [
        ("s", ("a", "d", "e", "w", "x", "z")),  # row neighbours, two above, two below
        ("q", ("a", "w")),  # a corner
        ("p", ("l", "o")),
        ("m", ("j", "k", "n")),  # bottom row: nothing below
        ("1", ()),
    ],
)
def test_neighbours(letter: str, expected: tuple[str, ...]) -> None:
    assert neighbours(letter) == expected


@pytest.mark.parametrize(
    ("word", "picks", "expected"),
    [
        ("data", [0, 1], "daat"),  # swap; the spots are [1, 2] (a≠t, t≠a): index 1 swaps "t" and "a"
        ("data", [0, 0], "dtaa"),  # swap at spot 1: "a" and "t"
        ("data", [1, 1], "daa"),  # drop: position 1 + 1 = 2 ("t")
        ("data", [2, 0], "daata"),  # double: position 1 ("a")
        ("keep", [3, 2, 0], "keel"),  # neighbour at position 3 ("p"): ("l", "o")[0]
        ("keep", [3, 0, 3], "kwep"),  # neighbour at position 1 ("e"): ("d", "r", "s", "w")[3]
        ("eeee", [0, 0], "eeeee"),  # nothing to swap: a doubled letter instead
    ],
)
def test_slip(word: str, picks: list[int], expected: str) -> None:
    assert slip(word, ScriptedRng(picks)) == expected


@pytest.mark.parametrize(
    ("question", "iid", "expected"),
    [
        # 4 eligible words ("long", "does", "keep", "data") → round(4 / 3) = 1 slip: "es" swapped
        ("How long does Acme keep my data?", "q1", "How long dose Acme keep my data?"),
        # the e-mail, the number, capitalised words and the brand are never eligible: of "write",
        # "within", "days", "about" one slips ("within" drops its last letter)
        ("Can I write to privacy@acme.com within 30 days about Nova Jewels?", "q2",
         "Can I write to privacy@acme.com withi 30 days about Nova Jewels?"),
        # 8 eligible words → 3 slips: a doubled "o", "an" swapped, "s" → its neighbour "w"
        ("would the company share these records with partners overseas", "q3",
         "woould the compnay share these records with partners overweas"),
        # Chinese characters are untouched; the Latin word inside may slip (a doubled "e")
        ("艾克美会把cookie数据保存多久？", "q4", "艾克美会把cookiee数据保存多久？"),
        # nothing eligible: the question comes back as it was
        ("艾克美会保存多久？", "q5", "艾克美会保存多久？"),
        # "US" and "GDPR" have capitals; of "site" and "ready" one slips ("t" dropped)
        ("Is the US site GDPR-ready?", "q6", "Is the US sie GDPR-ready?"),
    ],
)  # fmt: skip
def test_typos(question: str, iid: str, expected: str) -> None:
    assert typos(item(question, iid=iid), CATALOG) == expected


def test_typos_is_seeded_by_item_id() -> None:
    question = "would the company share these records with partners overseas"
    assert typos(item(question, iid="a"), CATALOG) == typos(item(question, iid="a"), CATALOG)
    assert typos(item(question, iid="a"), CATALOG, seed=1) != typos(item(question, iid="a"), CATALOG)


PROTECTED_QUESTIONS = (
    "Does Acme keep my e-mail privacy@acme.com after 2019 or for 730 days?",
    "Please forward my details from https://acme.example/privacy to the mainland office of Acme",
    "would nova jewels transfer my information to united states servers for 12 months",
    "how does the china policy handle customer requests within 15 working days",
    "艾克美中国政策下，support@acme.cn 会在30天内回复吗？会删除cookies吗？",
)


@pytest.mark.parametrize("question", PROTECTED_QUESTIONS)
@pytest.mark.parametrize("iid", ["a", "b", "c", "d", "e"])
def test_typos_never_touch_numbers_emails_or_names(question: str, iid: str) -> None:
    out = typos(item(question, iid=iid), CATALOG)
    assert out != question or not re.search(r"[a-z]{4}", question)
    protected = r"\S+@\S+|https?://\S+|\d+|nova jewels|united states|mainland|china|Acme|艾克美|中国|[\u4e00-\u9fff]+"
    assert re.findall(protected, out) == re.findall(protected, question)
    assert len(out.split()) == len(question.split())  # a slip stays inside its word


# -- plain ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How long does Acme keep my data?", "how long does acme keep my data"),
        ("Don't you sell it — or do you?!", "dont you sell it or do you"),
        ("Is data sent to the U.S.?", "is data sent to the us"),
        ("Write to Privacy@Acme.com, within 1,000 or 3.5 days.", "write to privacy@acme.com within 1,000 or 3.5 days"),
        ("艾克美会把“个人信息”保存多久？请说明。", "艾克美会把个人信息保存多久请说明"),
        ("  several   spaces\tand\nlines  ", "several spaces and lines"),
    ],
)
def test_plain(question: str, expected: str) -> None:
    assert plain(item(question), CATALOG) == expected


# -- followup -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc_id", "zh", "scope", "others"),
    [
        (ACME, False, "Acme", ["Nova", "Nova Jewels"]),  # named by its brand: another brand
        (ACME, True, "艾克美", ["中国", "美国"]),  # no other brand has a Chinese name: regions
        (NOVA, False, "Nova", ["Acme"]),
        (ACME_CHINA, False, "China", ["US", "United States"]),  # regional: its region; another region
        (ACME_CHINA, True, "中国", ["美国"]),
        (ACME_OLD, False, "2019", ["China", "Nova", "Nova Jewels", "US", "United States", "mainland"]),
    ],
)
def test_policy_scope_and_other_scopes(doc_id: str, zh: bool, scope: str, others: list[str]) -> None:
    assert policy_scope(CATALOG, doc_id, zh) == scope
    assert other_scopes(CATALOG, doc_id, zh) == others


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How long does Acme keep my data?", "How long does keep my data?"),
        ("Under the 2019 US policy, may Acme's site share data?", "Under the policy, may site share data?"),
        ("Can you tell us if Nova Jewels sells data (2019 policy)?", "Can you tell us if sells data (policy)?"),
        ("艾克美中国政策会保存多久？", "政策会保存多久？"),
    ],
)
def test_strip_scope(question: str, expected: str) -> None:
    words = CATALOG.brand_names | CATALOG.region_names
    assert strip_scope(question, words) == expected


@pytest.mark.parametrize(
    ("question", "doc_ids", "lang", "filters", "expected"),
    [
        ("How long does Acme keep my data?", (ACME,), "en", {},
         Conversation("How long does keep my data? (Nova)", "and for Acme?")),
        ("Does the China policy allow transfers abroad?", (ACME_CHINA,), "en", {},
         Conversation("Does the policy allow transfers abroad? (US)", "and for China?")),
        ("What did the 2019 policy say about cookies?", (ACME_OLD,), "en", {},
         Conversation("What did the policy say about cookies? (Nova)", "and for 2019?")),
        ("中国政策允许跨境传输吗？", (ACME_CHINA,), "zh", {},
         Conversation("政策允许跨境传输吗？（美国）", "那中国呢？")),
        ("艾克美会保存多久？", (ACME,), "zh", {}, Conversation("会保存多久？（中国）", "那艾克美呢？")),
        # kept clean: a doc_id filter; two gold policies; unanswerable; a policy the catalogue lacks
        ("Is the 2019 policy still valid?", ("other-policy",), "en", {}, None),
        ("How long is data kept?", (ACME,), "en", {"doc_id": ACME}, None),
        ("Do Acme and Nova differ?", (ACME, NOVA), "en", {}, None),
        ("What are your opening hours?", (), "en", {}, None),
    ],
)  # fmt: skip
def test_followup(question: str, doc_ids: tuple[str, ...], lang: str, filters: dict, expected) -> None:
    assert followup(item(question, doc_ids, lang, **filters), CATALOG) == expected


def test_followup_goes_through_the_chat_rule() -> None:
    asked, how = perturbed(item("How long does Acme keep my data?"), "followup", CATALOG)
    assert how in ("rewritten", "not rewritten")
    if how == "rewritten":  # the rule swaps the bracketed scope for the new one
        assert "Acme" in asked.question and "Nova" not in asked.question
    else:
        assert asked.question == "and for Acme?"
    clean, how = perturbed(item("How long is data kept?", doc_id=ACME), "followup", CATALOG)
    assert (clean.question, how) == ("How long is data kept?", "clean")


def _turns(kind: str, question: str) -> list[str]:
    """What a perturbation itself writes (both turns of a follow-up), before the chat's rule."""
    asked = PERTURBATIONS[kind](item(question, (ACME,), "zh" if "艾" in question else "en"), CATALOG)
    if isinstance(asked, Conversation):
        return [asked.first, asked.second]
    return [question if asked is None else asked]


@pytest.mark.parametrize("kind", list(PERTURBATIONS))
@pytest.mark.parametrize("question", PROTECTED_QUESTIONS)
def test_every_kind_keeps_numbers_and_emails(kind: str, question: str) -> None:
    """Numbers and e-mails survive every kind (the follow-up drops a year: it is a scope)."""
    turns = _turns(kind, question)
    for kept in re.findall(r"[A-Za-z0-9.+-]+@[\w.]+\w|(?<!\d)\d+(?!\d)", question):
        if kind == "followup" and re.fullmatch(r"(?:19|20)\d\d", kept):
            continue
        assert kept.lower() in turns[0].lower(), (kind, kept, turns)

"""The assistant's rules, one component at a time, on a two-policy corpus indexed with the fake
embedder (no model; fast): which policies a question is scoped to, which sentences are chosen,
when the assistant declines, which contact it offers, and which settings win."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.abstain import AbstentionPolicy, unknown_entity
from app.answer import Evidence
from app.assistant import Assistant, AssistantConfig
from app.choose import Chooser, LearnedChooser, substantive
from app.errors import InputError
from app.evaluation.choosers import CosineChooser, RulesChooser
from app.index import build_index, load_index
from app.query import plan
from app.records import Clause, Filters, Span
from app.selection import ANSWER_FEATURES, SENTENCE_FEATURES, Logistic, Selector
from app.settings import KNOBS, Settings, settings_table
from app.snapshot import IndexSnapshot
from app.stages import Chosen, Lookup

NOVA = """Nova Privacy Notice
Last updated: May 2024

## How long we keep your information
We keep your order history for five years after your last purchase.
Marketing preferences are kept until you change them.

## Contact us
Write to privacy@nova.example or call +44 20 7946 0000.
"""
NOVA_2019 = """Nova Privacy Notice
Last updated: June 2019

## Retention
We keep your information for as long as necessary.
"""
NOVA_CN = """Nova 隐私政策
更新日期：2023年1月

## 联系我们
请发送邮件至 privacy-cn@nova.example 联系我们。
"""
CATALOGUE = """
[nova-2024]
title = "Nova Privacy Notice"
brand = "Nova"
region = "Worldwide"
languages = ["en"]
effective_date = "2024-05"

[nova-2019]
title = "Nova Privacy Notice"
brand = "Nova"
region = "Worldwide"
languages = ["en"]
effective_date = "2019-06"
superseded_by = "nova-2024"

[nova-china-2023]
title = "Nova China Privacy Policy"
brand = "Nova"
region = "China"
languages = ["zh"]
effective_date = "2023-01"
region_names = ["China", "中国"]
regional = true
"""


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> IndexSnapshot:
    from tests.conftest import FakeEmbedder

    docs = tmp_path_factory.mktemp("rules-docs")
    for doc_id, text in (("nova-2024", NOVA), ("nova-2019", NOVA_2019), ("nova-china-2023", NOVA_CN)):
        (docs / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    (docs / "catalogue.toml").write_text(CATALOGUE, encoding="utf-8")
    index = tmp_path_factory.mktemp("rules-index") / "index"
    build_index(docs, index, FakeEmbedder())
    return IndexSnapshot(load_index(index))


# -- scope: which policies a question is answered from -------------------------------------------


@pytest.mark.parametrize(
    ("filters", "named", "lang", "expected"),
    [
        (Filters(), None, "en", {"nova-2024"}),  # current, not regional
        (Filters(), None, "zh", {"nova-2024", "nova-china-2023"}),  # no broad policy is in Chinese
        (Filters(doc_id="nova-2019"), None, "en", {"nova-2019"}),  # a filter may pick an old version
        (Filters(doc_id="nova-2019", brand="Other"), None, "en", set()),  # every given field must match
        (Filters(), frozenset({"nova-2019"}), "en", {"nova-2019"}),  # the question named it
        (Filters(region="china"), None, "en", {"nova-china-2023"}),  # region: a substring, any case
        (Filters(brand="nova"), None, "en", {"nova-2024", "nova-china-2023"}),  # current ones of the brand
        (Filters(brand="Other"), frozenset({"nova-2024"}), "en", set()),
    ],
)
def test_scope(snapshot: IndexSnapshot, filters: Filters, named: frozenset[str] | None, lang: str, expected: set[str]):
    assert snapshot.catalog.scope(filters, named, lang) == expected


def test_the_scope_is_what_retrieval_searches(snapshot: IndexSnapshot) -> None:
    from app.retrieve import Request
    from tests.conftest import FakeEmbedder

    query = plan("How long do you keep my order history?", snapshot.catalog, explicit_doc=False)
    request = Request(query.text, query, Filters(), 10, lambda lang: (1.0, 1.0, 1.0))
    found = snapshot.retriever.retrieve(request, FakeEmbedder().embed_query)
    assert found.docs == {"nova-2024"} and found.hits
    assert {h.clause.doc_id for h in found.hits} == {"nova-2024"}
    assert "five years" in found.hits[0].clause.text


# -- choosing sentences ------------------------------------------------------------------------


def _evidence(*scored: tuple[str, float]) -> list[Evidence]:
    """Evidence for hand-written sentences, one clause each."""
    out = []
    for i, (text, score) in enumerate(scored):
        clause = Clause("d", f"d:s:{i}", ("s",), text, "en", 0, len(text), (Span(0, len(text)),))
        out.append(Evidence(clause, 0, len(text), score))
    return out


def _flat(features: tuple[str, ...]) -> Logistic:
    n = len(features)
    return Logistic(features, (0.0,) * n, 0.0, (0.0,) * n, (1.0,) * n)


_SELECTOR = Selector({"*": _flat(SENTENCE_FEATURES)}, {"*": _flat(ANSWER_FEATURES)}, support=0.7)
LONG_A = "We keep your order history for five years."
LONG_B = "Marketing preferences are kept until you change them."
LONG_C = "Newsletter subscriptions end when you unsubscribe."


@pytest.mark.parametrize(
    ("chooser", "scored", "expected"),
    [
        (RulesChooser(), [(LONG_A, 0.9), (LONG_B, 0.8), (LONG_C, 0.75)], [LONG_A, LONG_B]),  # at most two
        (RulesChooser(), [(LONG_A, 0.9), (LONG_B, 0.7)], [LONG_A]),  # 0.7 < 0.8 × 0.9: not close enough
        (RulesChooser(), [(LONG_A, 0.9), (LONG_A, 0.9), (LONG_B, 0.85)], [LONG_A, LONG_B]),  # a repeat is skipped
        (RulesChooser(), [("Yes.", 0.95), (LONG_A, 0.9)], [LONG_A]),  # too short to say anything
        (RulesChooser(), [("Yes.", 0.95)], ["Yes."]),  # unless it is all there is
        (RulesChooser(), [("Call 020 7946", 0.95)], ["Call 020 7946"]),  # a contact line is substantive
        (CosineChooser(), [(LONG_A, 0.9), (LONG_B, 0.89)], [LONG_A]),  # the plain baseline cites one
        (RulesChooser(), [], []),
        # The learned chooser: its own fitted share (here 0.7), probabilities, no length rule.
        (LearnedChooser(_SELECTOR), [(LONG_A, 0.9), (LONG_B, 0.65)], [LONG_A, LONG_B]),
        (LearnedChooser(_SELECTOR), [("Yes.", 0.9), (LONG_B, 0.6)], ["Yes."]),
        (LearnedChooser(_SELECTOR, max_citations=1), [(LONG_A, 0.9), (LONG_B, 0.89)], [LONG_A]),
    ],
)
def test_select(chooser: Chooser, scored: list[tuple[str, float]], expected: list[str]) -> None:
    assert [e.text for e in chooser.select(_evidence(*scored), "en")] == expected


@pytest.mark.parametrize(
    ("sentence", "lang", "expected"),
    [("Yes.", "en", False), (LONG_A, "en", True), ("保存五年。", "zh", False), ("我们保存您的订单五年。", "zh", True),
     ("a@b.c", "en", True)],
)  # fmt: skip
def test_substantive(sentence: str, lang: str, expected: bool) -> None:
    assert substantive(sentence, lang) is expected


# -- declining ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "evidence", "confidence", "expected"),
    [
        ("How long do you keep my order history?", [(LONG_A, 0.9)], 0.9, ""),
        ("How long do you keep my order history?", [], 0.0, "no evidence"),
        ("How long do you keep my order history?", [(LONG_A, 0.9)], 0.1, "weak evidence"),
        ("What are the opening hours of the boutique?", [(LONG_A, 0.9)], 0.9, "off-topic"),
        ("What are your opening hours, and do you keep my data?", [(LONG_A, 0.9)], 0.9, ""),  # a privacy cue
        ("Do you share my data with Zorblax?", [(LONG_A, 0.9)], 0.9, "unknown term 'zorblax'"),
        ("Do you share my data with Nva?", [(LONG_A, 0.9)], 0.9, ""),  # one typo from "Nova": known
        ("How many days do you keep marketing preferences?", [(LONG_B, 0.9)], 0.9, "no figure given"),
        ("How many years do you keep my order history?", [(LONG_A, 0.9)], 0.9, ""),  # "five" is a figure
    ],
)
def test_abstention(snapshot: IndexSnapshot, question: str, evidence, confidence: float, expected: str) -> None:
    policy = AbstentionPolicy(lambda lang: 0.5)
    found = _lookup(snapshot, question)
    assert policy.reason(found, Chosen(_evidence(*evidence), [], confidence)) == expected


def test_the_plain_baseline_declines_only_without_evidence(snapshot: IndexSnapshot) -> None:
    found = _lookup(snapshot, "What are the opening hours of the boutique?")
    policy = AbstentionPolicy(CosineChooser().weak_below)
    assert policy.reason(found, Chosen(_evidence((LONG_A, 0.1)), [], 0.1)) == ""
    assert policy.reason(found, Chosen([], [], 0.0)) == "no evidence"


def _lookup(snapshot: IndexSnapshot, question: str) -> Lookup:
    """The question looked up in the two-policy corpus, with the fake embedder."""
    from app.retrieve import Request
    from tests.conftest import FakeEmbedder

    query = plan(question, snapshot.catalog, explicit_doc=False)
    request = Request(query.text, query, Filters(), 10, lambda lang: (1.0, 1.0, 1.0))
    found = snapshot.retriever.retrieve(request, FakeEmbedder().embed_query)
    return Lookup(question, snapshot, Filters(), query, found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Do you use PayPal?", "paypal"), ("Hi, I'm Zorblax, do you keep my data?", ""), ("What about Nova?", "")],
)
def test_unknown_entity(snapshot: IndexSnapshot, text: str, expected: str) -> None:
    assert unknown_entity(text, snapshot) == expected


# -- the contact offered -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "filters", "named", "top", "expected"),
    [
        ("en", Filters(), [], None, "privacy@nova.example, +44 20 7946 0000"),
        ("zh", Filters(), [], None, "privacy-cn@nova.example"),  # a policy in the question's language first
        ("zh", Filters(doc_id="nova-2024"), [], None, "privacy-cn@nova.example"),
        ("en", Filters(), ["nova-china-2023"], None, "privacy@nova.example, +44 20 7946 0000"),
        ("en", Filters(), [], "nova-2019", "privacy@nova.example, +44 20 7946 0000"),  # its brand's current one
    ],
)
def test_contact(snapshot: IndexSnapshot, lang: str, filters: Filters, named: list[str], top: str | None, expected):
    assert snapshot.contacts.for_question(lang, filters, named, top) == expected


# -- settings: flag > environment > TOML file > default --------------------------------------------


@pytest.mark.parametrize(
    ("flags", "env", "toml", "expected"),
    [
        ({}, {}, "", 2000),
        ({}, {}, "[limits]\nmax_question_chars = 300\n", 300),
        ({}, {"PRIVACY_ASSISTANT_MAX_QUESTION_CHARS": "400"}, "[limits]\nmax_question_chars = 300\n", 400),
        ({"max_question_chars": 500}, {"PRIVACY_ASSISTANT_MAX_QUESTION_CHARS": "400"}, "", 500),
    ],
)
def test_settings_precedence(tmp_path: Path, flags: dict, env: dict, toml: str, expected: int) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(toml, encoding="utf-8")
    settings = Settings.load(flags, env, config=config)
    assert settings.max_question_chars == expected
    assert AssistantConfig.from_settings(settings).max_question_chars == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PRIVACY_ASSISTANT_PORT": "http"}, "PRIVACY_ASSISTANT_PORT='http': port must be a whole number 1–65,535"),
        ({"PRIVACY_ASSISTANT_LLM_SYSTEM_ROLE": "maybe"}, "llm_system_role must be 1/true/yes or 0/false/no"),
        ({"PRIVACY_ASSISTANT_AGENT_PASSWORD": ""}, ""),  # empty: not given
        ({"PRIVACY_ASSISTANT_LLM_API_KEY": "x", "PRIVACY_ASSISTANT_LLM_TIMEOUT": "-1"}, "llm_timeout must be"),
    ],
)
def test_a_bad_setting_names_itself(env: dict[str, str], message: str) -> None:
    if not message:
        assert Settings.load(environ=env).agent_password == ""
        return
    with pytest.raises(InputError) as caught:
        Settings.load(environ=env)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_secret_is_not_echoed(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text('[llm]\ntimeout = "sekrit"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"\[llm\] timeout='sekrit'"):
        Settings.load(environ={}, config=config)
    assert all(value != "sekrit" for _, value, _ in Settings(llm_api_key="sekrit").describe())


def test_every_knob_is_a_field_and_in_the_settings_doc() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text(encoding="utf-8")
    assert settings_table() in doc, "docs/settings.md's table is stale: paste app.settings.settings_table()"
    assert len({k.env for k in KNOBS}) == len(KNOBS) == len({k.toml for k in KNOBS})


def test_an_assistant_on_the_fake_embedder_answers_from_its_scope(snapshot: IndexSnapshot, tmp_path: Path) -> None:
    from tests.conftest import FakeEmbedder

    assistant = Assistant(FakeEmbedder(), Path(snapshot.index.path).parent.parent, chooser=RulesChooser())
    answer = assistant.ask("How long do you keep my order history?")
    assert not answer.abstained and "five years" in answer.answer
    assert {c.doc_id for c in answer.citations} == {"nova-2024"}
    old = assistant.ask("How long did the 2019 policy keep my information?")
    assert {r.doc_id for r in old.retrieved} == {"nova-2019"}


def test_an_unreachable_database_is_one_line_naming_the_setting() -> None:
    from app.pgstate import DatabaseError, connect

    with pytest.raises(DatabaseError) as caught:
        connect("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1", timeout_s=2)
    assert str(caught.value).startswith("database_url: cannot use the database") and "\n" not in str(caught.value)

"""Grounded answers on the real seeds and the real model: contract shape, exact quotes,
markers, filters, abstention, versions, Chinese; and the `ask` command line."""

from __future__ import annotations

import json

import pytest

from app.answer import markers
from app.errors import InputError
from tests.helpers import run_cli

pytestmark = pytest.mark.slow

QUESTIONS = [
    "How long do you keep my data?",
    "do you sell my data",
    "How do I delete my account?",
    "Will my card details be shared with anyone?",
    "我的个人信息会被传到国外吗?",
    "Do you use cookies for advertising?",
    "how old do i have to be to use the site",
]
OFF_TOPIC = [
    "Can I pay with PayPal?",
    "What are your boutique opening hours?",
    "How much is a Love bracelet?",
    "What is your return policy for rings?",
    "Do you use Hotjar session recording?",
]


@pytest.fixture(scope="module")
def assistant(embedder, seed_index):
    from app.assistant import Assistant

    return Assistant(embedder, seed_index)


@pytest.fixture(scope="module")
def documents(assistant):
    return {d: doc.text for d, doc in assistant.snapshot().index.documents.items()}


@pytest.mark.parametrize("question", QUESTIONS + OFF_TOPIC)
def test_answer_follows_the_contract(assistant, documents, question):
    answer = assistant.ask(question, qid="q1").to_json()
    for key, kind in [
        ("id", str), ("question", str), ("answer", str), ("abstained", bool),
        ("citations", list), ("retrieved", list), ("latency_ms", float),
    ]:  # fmt: skip
        assert isinstance(answer[key], kind), key
    assert answer["id"] == "q1"
    assert answer["answer"].strip()
    assert len(answer["retrieved"]) >= 10
    scores = [r["score"] for r in answer["retrieved"]]
    assert scores == sorted(scores, reverse=True)
    for r in answer["retrieved"]:
        assert set(r) >= {"doc_id", "clause_id", "section", "text", "score"}
        assert r["text"] in documents[r["doc_id"]]
    for c in answer["citations"]:
        assert set(c) >= {"n", "doc_id", "clause_id", "section", "quote", "start", "end", "score"}
        # every quote is the document's normalised text at [start:end], verbatim
        assert documents[c["doc_id"]][c["start"] : c["end"]] == c["quote"]
    # no marker without a citation, no citation without a marker
    assert sorted(set(markers(answer["answer"]))) == [c["n"] for c in answer["citations"]]
    if answer["abstained"]:
        assert answer["citations"] == []


def test_retention_answer_cites_the_ten_years_clause(assistant):
    answer = assistant.ask("How long do you keep my data?")
    assert not answer.abstained
    lead = answer.citations[0]
    assert lead.doc_id == "cartier-privacy-policy-2024"
    assert "ten years after" in lead.quote
    assert lead.section.endswith("Retaining your personal information")
    assert "ten years after" in answer.answer


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_abstain_with_a_contact(assistant, question):
    answer = assistant.ask(question)
    assert answer.abstained, answer.answer
    assert not answer.citations
    assert "don't cover" in answer.answer
    assert "@" in answer.contact and answer.contact in answer.answer


def test_paypal_points_to_the_cartier_contact(assistant):
    answer = assistant.ask("Can I pay with PayPal?")
    assert answer.abstained
    assert "contact.na@clientrelations.cartier.com" in answer.answer


def test_chinese_question_is_answered_in_chinese_from_the_chinese_clause(assistant):
    answer = assistant.ask("我的个人信息会被传到国外吗?")
    assert answer.lang == "zh"
    assert not answer.abstained, answer.answer
    lead = answer.citations[0]
    assert answer.answer.startswith(lead.quote[:10])  # the answer first
    assert answer.answer.splitlines()[-1].startswith("来源：《卡地亚中国隐私政策》")
    assert lead.doc_id == "cartier-china-privacy-policy-2023"
    assert "跨境传输" in lead.section or "境外" in lead.quote
    assert all(r.doc_id == "cartier-china-privacy-policy-2023" for r in answer.retrieved)


def test_chinese_abstention_is_in_chinese_with_the_china_contact(assistant):
    answer = assistant.ask("卡地亚手表多少钱?")
    assert answer.abstained
    assert "customerservice.cn@cartier.com" in answer.answer


@pytest.mark.parametrize(
    "doc_id", ["harry-winston-privacy-policy-2015", "cartier-us-privacy-policy-2010", "cartier-conditions-of-sale"]
)
def test_doc_id_filter_is_respected(assistant, doc_id):
    answer = assistant.ask("How is my personal information protected?", {"doc_id": doc_id})
    assert {r.doc_id for r in answer.retrieved} == {doc_id}
    assert all(c.doc_id == doc_id for c in answer.citations)


def test_brand_and_language_filters_are_respected(assistant):
    answer = assistant.ask("Do you share my data?", {"brand": "Harry Winston"})
    assert {r.doc_id for r in answer.retrieved} == {"harry-winston-privacy-policy-2015"}
    answer = assistant.ask("Do you share my data?", {"lang": "zh"})
    assert {r.doc_id for r in answer.retrieved} == {"cartier-china-privacy-policy-2023"}


def test_unknown_filter_and_unknown_document_are_input_errors(assistant):
    with pytest.raises(InputError, match="unknown document 'nope'"):
        assistant.ask("x?", {"doc_id": "nope"})
    with pytest.raises(InputError, match="unknown field 'colour'"):
        assistant.ask("x?", {"colour": "red"})


@pytest.mark.parametrize(
    "question",
    ["What do you do about children's data?", "Do you share my data with third parties?", "Are phone calls recorded?"],
)
def test_superseded_policy_is_not_cited_for_unscoped_questions(assistant, question):
    answer = assistant.ask(question)
    assert all(c.doc_id != "cartier-us-privacy-policy-2010" for c in answer.citations)
    assert all(r.doc_id != "cartier-us-privacy-policy-2010" for r in answer.retrieved)


def test_naming_the_year_reaches_the_superseded_policy(assistant):
    answer = assistant.ask("What did the 2010 policy say about telephone calls?")
    assert not answer.abstained
    assert answer.citations[0].doc_id == "cartier-us-privacy-policy-2010"
    assert "recorded" in answer.citations[0].quote


def test_comparison_cites_each_document_and_says_which_says_what(assistant):
    answer = assistant.ask("How does the 2010 policy differ from 2024 on children?")
    cited = {c.doc_id for c in answer.citations}
    assert cited == {"cartier-us-privacy-policy-2010", "cartier-privacy-policy-2024"}
    assert "Cartier US Online Privacy Policy" in answer.answer and "Cartier Privacy Policy" in answer.answer


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x01", "x" * 2001])
def test_bad_questions_are_input_errors(assistant, bad):
    with pytest.raises(InputError, match="question is"):
        assistant.ask(bad)


def test_cli_batch_answers_every_line_in_order(seed_index, tmp_path):
    batch = tmp_path / "batch.jsonl"
    lines = [
        {"id": "a", "question": "How long do you keep my data?"},
        {"id": "b", "question": "Can I pay with PayPal?", "answerable": False},
        {"id": "c", "question": "Are calls recorded?", "filters": {"doc_id": "cartier-us-privacy-policy-2010"}},
    ]
    batch.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    run = run_cli("--index", str(seed_index), "ask", "--batch", str(batch), "--json")
    assert run.returncode == 0, run.stderr
    answers = [json.loads(line) for line in run.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["a", "b", "c"]
    assert answers[1]["abstained"] is True
    assert {r["doc_id"] for r in answers[2]["retrieved"]} == {"cartier-us-privacy-policy-2010"}
    assert all(a["latency_ms"] > 0 for a in answers)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "question is empty"),
        (["ask", "hi", "--doc-id", "nope"], "unknown document 'nope'"),
        (["ask", "x" * 5000], "over the 2,000-character limit"),
        (["ask"], "QUESTION"),
        (["ask", "--batch", "/nonexistent.jsonl"], "/nonexistent.jsonl"),
    ],
)
def test_cli_input_errors_are_one_line_exit_2(seed_index, args, message):
    run = run_cli("--index", str(seed_index), *args)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]


def test_cli_bad_batch_line_names_the_line_and_field(seed_index, tmp_path):
    batch = tmp_path / "b.jsonl"
    batch.write_text('{"id": "a", "question": "ok?"}\n{"id": "b"}\n', encoding="utf-8")
    run = run_cli("--index", str(seed_index), "ask", "--batch", str(batch), "--json")
    assert run.returncode == 2
    assert f"{batch}:2: field 'question'" in run.stderr
    assert len(run.stdout.splitlines()) == 1  # the good line before it was answered


def test_batch_files_with_a_bom_a_folder_or_deep_nesting(tmp_path):
    from app.cli import read_batch

    bom = tmp_path / "bom.jsonl"
    bom.write_bytes('\ufeff{"id": "a", "question": "Do you sell my data?"}\n'.encode())
    assert [item["id"] for item in read_batch(bom)] == ["a"]
    with pytest.raises(InputError, match="is a folder"):
        list(read_batch(tmp_path))
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"id": "a", "question": "q", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"deep\.jsonl:1: JSON nested too deeply"):
        list(read_batch(deep))


def test_cli_without_an_index_says_to_ingest(tmp_path):
    run = run_cli("--index", str(tmp_path / "none"), "ask", "hello?")
    assert run.returncode == 2
    assert "run `privacy-assistant ingest` first" in run.stderr


def test_question_length_limit_is_configuration():
    from app.assistant import AssistantConfig
    from app.settings import Settings

    def config(env: dict[str, str]) -> AssistantConfig:
        return AssistantConfig.from_settings(Settings.load(environ=env))

    assert config({}).max_question_chars == 2000
    assert config({"PRIVACY_ASSISTANT_MAX_QUESTION_CHARS": "500"}).max_question_chars == 500
    with pytest.raises(InputError, match="PRIVACY_ASSISTANT_MAX_QUESTION_CHARS"):
        config({"PRIVACY_ASSISTANT_MAX_QUESTION_CHARS": "lots"})


def test_a_question_with_typos_is_answered_as_if_spelt_right_and_says_so(assistant):
    clean = assistant.ask("How long do you keep my email address?")
    typed = assistant.ask("how lnog do you keep my emial adress")
    assert typed.corrected == "how long do you keep my email address"
    assert typed.question == "how lnog do you keep my emial adress"  # the record keeps what was typed
    assert [c.quote for c in typed.citations] == [c.quote for c in clean.citations]
    assert clean.corrected == ""


def test_names_are_never_corrected(assistant):
    answer = assistant.ask("Do you share my purchase data with Salesforce?")
    assert answer.corrected == ""


@pytest.mark.parametrize("noise", ["1111111", "1 " * 900, "😀😀😀", "a" * 50, "zzzz qqqq xxxx", "??!!"])
def test_a_question_without_words_gets_the_polite_referral(assistant, noise):
    answer = assistant.ask(noise)
    assert answer.abstained and not answer.citations
    assert answer.abstain_reason == "no words"


def test_keyboard_noise_of_the_maximum_length_is_referred(assistant):
    import random
    import string

    rng = random.Random(7)
    noise = "".join(rng.choice(string.ascii_letters + " ") for _ in range(1990))
    assert assistant.ask(noise).abstained


@pytest.mark.parametrize(("question", "reply"), [
    ("my data?", "What would you like to know about your personal information?"),
    ("我的信息？", "请问您想了解个人信息的哪一方面？"),
])  # fmt: skip
def test_a_vague_question_gets_a_question_back_with_topics(assistant, question, reply):
    answer = assistant.ask(question)
    assert answer.abstained and not answer.citations
    assert reply in answer.answer
    assert 3 <= len(answer.clarify) <= 5
    picked = assistant.ask(answer.clarify[0].question)  # a topic button asks a real question
    assert not picked.abstained and picked.citations

"""The web app's pure parts (rendering, follow-ups, configuration, login) and, with the
real index, the server's routes."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.answer import Answer, Choice, Citation, Lead, Retrieved
from app.records import Clause, DocumentMeta
from app.settings import Settings
from app.web import Credentials, LoginGuard, load_config
from app.web.letter import Letter, draft_citations, draft_warnings, email_text, render_draft_warnings
from app.web.render import (
    anchor_id,
    clarify_options,
    format_date,
    highlight,
    policy_choices,
    render_agent_answer,
    render_customer_reply,
    render_document,
    render_sources,
    render_user_message,
    retrieval_rows,
)

DOC = (
    "Intro line.\n"
    "Retaining your personal information\n"
    "We keep data for ten years after the contract <ends>. Then we delete it & forget.\n"
    "Outro."
)
CLAUSE_START = DOC.index("We keep")
CLAUSE = Clause(
    doc_id="acme-2024",
    clause_id="acme-2024:retaining:1",
    section=("Commitments", "Retaining your personal information"),
    text=DOC[CLAUSE_START : DOC.index("\nOutro")],
    lang="en",
    start=CLAUSE_START,
    end=DOC.index("\nOutro"),
)
QUOTE = "We keep data for ten years after the contract <ends>."
Q_START = DOC.index(QUOTE)
CITATION = Citation(
    1, "acme-2024", CLAUSE.clause_id, CLAUSE.section_title, QUOTE, Q_START, Q_START + len(QUOTE), 0.7123
)
METAS = {
    "acme-2024": DocumentMeta("acme-2024", "Acme <Privacy> Policy", "Acme", "Global", ("en",), "2024-09"),
    "acme-2010": DocumentMeta("acme-2010", "Acme US Policy", "Acme", "US", ("en",), "2010-03",
                              superseded_by="acme-2024"),
    "acme-cn": DocumentMeta("acme-cn", "Acme China 隐私政策", "Acme", "China", ("zh", "en"), "2023-12"),
}


def _answer(**kw: object) -> Answer:
    fields: dict[str, object] = {
        "id": "q",
        "question": "How long do you keep my data?",
        "answer": "According to the Acme <Privacy> Policy:\n" + QUOTE + " [1]",
        "abstained": False,
        "citations": (CITATION,),
        "retrieved": (Retrieved("acme-2024", CLAUSE.clause_id, CLAUSE.section_title, CLAUSE.text, 0.7123),),
        "latency_ms": 12.0,
    }
    fields.update(kw)
    return Answer(**fields)  # type: ignore[arg-type]


def _text(fragment: str) -> str:
    """What a browser shows for an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


# -- escaping ---------------------------------------------------------------------------------


def test_user_message_is_escaped() -> None:
    out = render_user_message("<script>alert(1)</script>\nsecond line")
    assert "<script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line" in out


def test_customer_reply_escapes_document_and_answer_text() -> None:
    out = render_customer_reply(_answer(answer='<img src=x onerror="alert(1)"> [1]'), METAS, "en")
    assert "<img" not in out and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in out
    assert "Acme &lt;Privacy&gt; Policy" in out  # the title, in the citation summary
    assert "<mark>We keep data for ten years after the contract &lt;ends&gt;.</mark>" in out


def test_customer_reply_has_expandable_citations_and_no_internals() -> None:
    out = render_customer_reply(_answer(), METAS, "en")
    assert out.count("<details") == 1 and '<blockquote class="pa-clause"><mark>' in out
    summary = re.search(r"<summary>(.*?)</summary>", out)
    assert summary and _text(summary.group(1)) == (
        "[1] Acme <Privacy> Policy · Commitments › Retaining your personal information · September 2024"
    )
    assert CLAUSE.clause_id not in out and "0.71" not in out and "score" not in out
    assert "\n" not in out  # one HTML block: the chat's Markdown leaves it alone


def test_customer_source_shows_the_sentence_inside_its_clause_with_the_policy_page() -> None:
    metas = {**METAS, "acme-2024": replace(METAS["acme-2024"], public_url="https://acme.example/privacy")}
    out = render_customer_reply(_answer(), metas, "en", clause_of={CLAUSE.clause_id: CLAUSE}.get)
    body = re.search(r'<blockquote class="pa-clause">(.*?)</blockquote>', out)
    assert body and _text(body.group(1)) == CLAUSE.text  # the clause, not the answer again
    assert [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", out)] == [QUOTE]
    assert "Section: Commitments › Retaining your personal information" in _text(out)
    assert '<a href="https://acme.example/privacy" target="_blank" rel="noopener noreferrer">' in out


def test_customer_reply_shows_the_lead_only_for_an_answer() -> None:
    lead = Lead("ten years after the contract", 1, 0, 28, 0.9)
    out = render_customer_reply(_answer(lead=lead), METAS, "en")
    assert "In short: ten years after the contract [1]" in _text(out)
    assert out.index("pa-lead") < out.index("pa-answer")
    abstained = _answer(lead=lead, abstained=True, citations=())
    assert "In short" not in render_customer_reply(abstained, METAS, "en")


def test_customer_reply_in_chinese_with_card_warning() -> None:
    out = render_customer_reply(_answer(lang="zh"), METAS, "zh", card_warning=True)
    assert "来源" in out and "Sources" not in out
    assert "请不要在聊天中发送银行卡号" in out
    assert "2024年9月" in out and "September" not in out and "Section" not in out
    assert out.index("pa-warning") < out.index("pa-answer")  # the warning comes first


def test_customer_reply_for_an_abstention_shows_the_contact() -> None:
    answer = _answer(answer="The privacy notices don't cover this.", abstained=True, citations=(),
                     contact="privacy@acme.example, +1 800 555 0100")
    out = render_customer_reply(answer, METAS, "en")
    assert "Contact client relations: privacy@acme.example, +1 800 555 0100" in _text(out)
    assert "<details" not in out


def test_superseded_source_is_labelled_for_customers() -> None:
    old = Citation(1, "acme-2010", "acme-2010:x:1", "Retention", "Old text.", 0, 9, 0.5)
    out = render_customer_reply(_answer(citations=(old,)), METAS, "en")
    assert "archived version" in out


def test_agent_answer_links_markers_to_sources() -> None:
    out = render_agent_answer(_answer())
    assert '<a class="pa-ref" href="#pa-src-1">[1]</a>' in out
    assert "&lt;ends&gt;" in out


# -- highlighting at exact offsets --------------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "expected"), [
    (0, 3, "<mark>a&lt;b</mark>&amp;c"),
    (1, 2, "a<mark>&lt;</mark>b&amp;c"),
    (3, 99, "a&lt;b<mark>&amp;c</mark>"),
    (-5, 0, "<mark></mark>a&lt;b&amp;c"),
])  # fmt: skip
def test_highlight(start: int, end: int, expected: str) -> None:
    assert highlight("a<b&c", start, end) == expected


def test_sources_panel_highlights_the_quote_inside_its_clause() -> None:
    out = render_sources(_answer(), METAS, {CLAUSE.clause_id: CLAUSE}.get)
    marked = re.findall(r"<mark>(.*?)</mark>", out)
    assert [html.unescape(m) for m in marked] == [DOC[CITATION.start : CITATION.end]]
    clause_html = re.search(r'<div class="pa-clause">(.*?)</div>', out)
    assert clause_html and _text(clause_html.group(1)) == CLAUSE.text  # the whole clause, nothing else
    assert "Acme &lt;Privacy&gt; Policy" in out and "version September 2024" in out
    assert "§ Commitments › Retaining your personal information" in out
    assert 'id="pa-src-1"' in out


def test_sources_panel_without_the_clause_shows_the_quote() -> None:
    out = render_sources(_answer(), METAS, lambda _: None)
    assert html.unescape(re.findall(r"<mark>(.*?)</mark>", out)[0]) == QUOTE


def test_document_view_marks_the_quote_and_anchors_the_clause() -> None:
    out = render_document(DOC, METAS["acme-2024"], CLAUSE, CITATION)
    body = re.search(r'<div class="pa-doc" tabindex="0">(.*)</div>$', out, re.S)
    assert body and _text(body.group(1)) == DOC  # the whole text, in order
    assert html.unescape(re.findall(r"<mark>(.*?)</mark>", out)[0]) == QUOTE
    anchor = anchor_id(CLAUSE.clause_id)
    assert anchor == "clause-acme-2024-retaining-1"
    target = re.search(rf'<span id="{anchor}" class="pa-target">(.*?)</span>', out, re.S)
    assert target and _text(target.group(1)) == CLAUSE.text
    assert f'href="#{anchor}"' in out


# -- plain text and tables ----------------------------------------------------------------------


LETTER = Letter("Dear client,", "Kind regards,\nClient Relations", "尊敬的客户：", "此致\n敬礼\n客户关系部")
PUBLIC = {**METAS, "acme-2024": replace(METAS["acme-2024"], public_url="https://acme.example/privacy")}


def test_email_draft_is_a_letter_without_markers_or_framing() -> None:
    answer = _answer(answer=QUOTE + " [1]\nSource: Acme <Privacy> Policy (September 2024), “Retaining” — https://x")
    assert email_text(answer, PUBLIC, LETTER) == (
        "Dear client,\n"
        "\n"
        "We keep data for ten years after the contract <ends>.\n"
        "\n"
        "Quoted from:\n"
        "- Acme <Privacy> Policy (September 2024), section “Retaining your personal information”: "
        "https://acme.example/privacy\n"
        "\n"
        "Kind regards,\n"
        "Client Relations"
    )
    older = email_text(_answer(), PUBLIC, LETTER)  # the older framing: "According to the …:" above the quote
    assert "According to" not in older and "[1]" not in older and older.count(QUOTE) == 1


def test_email_draft_in_chinese_follows_the_answer_language() -> None:
    answer = _answer(answer="我们保存十年。[1]\n来源：《艾克米》（2024年9月）“保留”部分", lang="zh")
    text = email_text(answer, PUBLIC, LETTER)
    assert text.startswith("尊敬的客户：\n\n我们保存十年。\n\n引用自：\n- 《Acme <Privacy> Policy》（2024年9月）")
    assert text.endswith("：https://acme.example/privacy\n\n此致\n敬礼\n客户关系部")
    assert "[1]" not in text and "来源" not in text


def test_email_draft_keeps_one_brand_unless_the_question_names_two() -> None:
    metas = {**PUBLIC, "other-2020": DocumentMeta("other-2020", "Other Policy", "Other", "Global", ("en",), "2020-01",
                                                  aliases=("OtherCo",))}  # fmt: skip
    other = Citation(2, "other-2020", "other-2020:x:1", "Sale", "Other sells nothing.", 0, 20, 0.6)
    text = "Acme <Privacy> Policy (September 2024): We keep data. [1]\nOther Policy (2020): Other sells nothing. [2]"
    mixed = _answer(answer=text, citations=(CITATION, other))
    draft = email_text(mixed, metas, LETTER)
    assert "We keep data." in draft and "Other" not in draft  # the best citation's brand only
    both = replace(mixed, question="Do Acme and OtherCo keep data?")
    assert "Other sells nothing." in email_text(both, metas, LETTER)
    assert [c.n for c in draft_citations(both, metas)] == [1, 2]


def test_superseded_policy_warning_is_beside_the_draft_never_in_it() -> None:
    old = Citation(1, "acme-2010", "acme-2010:x:1", "Retention", "Old text.", 0, 9, 0.5)
    answer = _answer(answer="Old text. [1]", citations=(old,))
    assert "WARNING" not in email_text(answer, METAS, LETTER) and "superseded" not in email_text(answer, METAS, LETTER)
    assert draft_warnings(answer, METAS) == [
        "Acme US Policy is superseded by the Acme <Privacy> Policy; check the current policy before sending."
    ]
    box = render_draft_warnings(answer, METAS)
    assert 'role="alert"' in box and "Acme &lt;Privacy&gt; Policy" in box
    assert render_draft_warnings(_answer(), METAS) == ""


def test_abstention_draft_carries_the_contact() -> None:
    answer = _answer(
        answer="The privacy notices don't cover this.", abstained=True, citations=(), contact="x@acme.example"
    )
    assert email_text(answer, METAS, LETTER) == (
        "Dear client,\n\nThe privacy notices don't cover this.\nContact client relations: x@acme.example\n\n"
        "Kind regards,\nClient Relations"
    )


def test_draft_greeting_and_sign_off_are_settings() -> None:
    settings = Settings.load(environ={"PRIVACY_ASSISTANT_DRAFT_SIGNOFF": "Best,\\nThe Privacy Team"})
    assert Letter.from_settings(settings).parts("en") == ("Dear client,", "Best,\nThe Privacy Team")
    assert Letter.from_settings(Settings()).parts("zh") == ("尊敬的客户：", "此致\n敬礼\n客户关系部")
    assert load_config({}).letter == Letter.from_settings(Settings())


# -- a clarifying question ---------------------------------------------------------------------


def test_clarifying_reply_offers_its_choices_as_options() -> None:
    choices = (
        Choice("How long you keep it", "How long do you keep my data?"),
        Choice("Deleting it", "How do I delete it?"),
    )
    answer = _answer(answer="What would you like to know?", abstained=True, citations=(), contact="x@acme.example",
                     clarify=choices)  # fmt: skip
    assert clarify_options(answer) == [
        {"label": "How long you keep it", "value": "How long do you keep my data?"},
        {"label": "Deleting it", "value": "How do I delete it?"},
    ]
    out = render_customer_reply(answer, METAS, "en")
    assert "What would you like to know?" in _text(out) and "Contact" not in out  # asked back, not referred on
    assert clarify_options(_answer()) == [] and clarify_options(None) == []


def test_retrieval_rows() -> None:
    assert retrieval_rows(_answer(), METAS) == [
        [1, "0.71", "Acme <Privacy> Policy", "Commitments › Retaining your personal information", CLAUSE.clause_id]
    ]


def test_policy_choices() -> None:
    assert policy_choices(METAS, include_superseded=False) == [  # customers: brand — region
        ("Acme — Global", "acme-2024"),
        ("Acme — China", "acme-cn"),
    ]
    labelled = {**METAS, "acme-cn": replace(METAS["acme-cn"], label="Acme — China", label_zh="艾克米 — 中国")}
    assert ("Acme — China · 艾克米 — 中国", "acme-cn") in policy_choices(labelled, include_superseded=False)
    agent = policy_choices(METAS, include_superseded=True)
    assert [v for _, v in agent] == ["acme-2024", "acme-cn", "acme-2010"]  # current first
    assert agent[-1][0] == "Acme US Policy — Acme · US · March 2010 (superseded)"


@pytest.mark.parametrize(("iso", "lang", "shown"), [
    ("2024-09", "en", "September 2024"),
    ("2015-07-07", "en", "7 July 2015"),
    ("2023-12", "zh", "2023年12月"),
    ("2010", "en", "2010"),
    ("", "en", ""),
    ("soon", "en", "soon"),
])  # fmt: skip
def test_format_date(iso: str, lang: str, shown: str) -> None:
    assert format_date(iso, lang) == shown


# -- configuration and login ------------------------------------------------------------------


def test_credentials_from_environment() -> None:
    config = load_config(
        {
            "PRIVACY_ASSISTANT_AGENT_USER": "ana",
            "PRIVACY_ASSISTANT_AGENT_PASSWORD": "pw",
            "PRIVACY_ASSISTANT_FEEDBACK_DB": "/tmp/x.sqlite3",
        }
    )
    assert config.credentials == Credentials("ana", "pw")
    assert config.feedback_db == Path("/tmp/x.sqlite3")
    assert "pw" not in repr(config)


def test_credentials_from_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "web.toml"
    path.write_text('[agent]\nuser = "bo"\npassword = "secret"\n[feedback]\ndb = "fb.db"\n', encoding="utf-8")
    config = load_config({"PRIVACY_ASSISTANT_CONFIG": str(path)})
    assert config.credentials == Credentials("bo", "secret") and config.feedback_db == Path("fb.db")


def test_no_credentials_means_no_agent_console() -> None:
    assert load_config({}).credentials is None
    assert load_config({"PRIVACY_ASSISTANT_AGENT_USER": "ana"}).credentials is None  # never a default password
    assert load_config({}).feedback_db == Path("feedback.sqlite3")


def test_unreadable_config_is_an_input_error(tmp_path: Path) -> None:
    from app.errors import InputError

    with pytest.raises(InputError, match="cannot be read"):
        load_config({"PRIVACY_ASSISTANT_CONFIG": str(tmp_path / "missing.toml")})
    bad = tmp_path / "bad.toml"
    bad.write_text("[agent\n", encoding="utf-8")
    with pytest.raises(InputError, match="invalid TOML"):
        load_config({"PRIVACY_ASSISTANT_CONFIG": str(bad)})


def test_login_guard_locks_a_user_name_after_repeated_failures() -> None:
    now = [0.0]
    guard = LoginGuard(Credentials("ana", "right"), max_failures=3, window_s=60, clock=lambda: now[0])
    here = "10.0.0.1"
    assert guard.check(here, "ana", "right").ok
    assert not any(guard.check(here, "ana", "wrong").ok for _ in range(3))
    assert not guard.check(here, "ana", "right").ok  # locked, even with the right password
    now[0] = 61.0
    assert guard.check(here, "ana", "right").ok
    assert not guard.check(here, "bob", "right").ok


def test_importing_the_web_app_loads_nothing_heavy() -> None:
    code = "import sys, app.web; print(sorted(m for m in ('gradio', 'torch', 'fastapi') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- the server, on the real index --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("with_agent", [True, False])
def test_server_routes(seed_index: Path, tmp_path: Path, with_agent: bool) -> None:
    from fastapi.testclient import TestClient

    from app.assistant import Assistant
    from app.settings import Settings
    from app.web import WebConfig, build_server

    credentials = Credentials("ana", "pw-123") if with_agent else None
    app = build_server(
        Assistant.from_settings(Settings.load({"index": seed_index})), WebConfig(credentials, tmp_path / "fb.sqlite3")
    )
    with TestClient(app) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert "fonts.googleapis" not in page.text
        agent = client.get("/agent/")
        if with_agent:
            assert client.get("/agent", follow_redirects=False).headers["location"] == "/agent/"
            assert client.get("/agent/config").status_code == 401
            assert client.post("/agent/login", data={"username": "ana", "password": "no"}).status_code == 400
            assert client.post("/agent/login", data={"username": "ana", "password": "pw-123"}).status_code == 200
            assert client.get("/agent/config").status_code == 200
        else:
            assert "agent console is disabled" in agent.text
        assert client.get("/config").status_code == 200  # the customer chat needs no login
        health = client.get("/healthz")  # for a load balancer: the index is loaded, the database is SQLite
        assert health.status_code == 200 and health.json()["database"] == "sqlite"
        assert health.json()["index"]["clauses"] > 300


def test_a_corrected_question_is_shown_before_the_reply() -> None:
    en = render_customer_reply(_answer(corrected="how long do you keep my <email>"), METAS, "en")
    assert "Showing results for “how long do you keep my &lt;email&gt;”" in en
    assert "Showing results for" not in render_customer_reply(_answer(), METAS, "en")
    zh = render_customer_reply(_answer(corrected="cookies 是什么"), METAS, "zh")
    assert "以下是这个问题的结果：“cookies 是什么”" in zh
    assert "Showing results for “x”" in render_agent_answer(_answer(corrected="x"))

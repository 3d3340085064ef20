"""Each policy's channels, read from its own text, and the "how do I…" questions that get them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.catalog import Catalog
from app.contacts import (
    ChannelRules,
    ContactDirectory,
    RightsRules,
    addresses,
    channel_line,
    contact_channels,
    contact_clauses,
    exercise_request,
)
from app.documents import load_documents
from app.errors import InputError
from app.records import Clause
from app.splitter import split_document

DOCUMENTS = Path(__file__).resolve().parents[1] / "documents"


@pytest.mark.parametrize(("question", "right"), [
    ("How do I delete my data?", "delete"),
    ("how can I have my account closed and my information erased", "delete"),
    ("I want to close my account", "delete"),
    ("How can I get a copy of the personal information you hold about me?", "access"),
    ("Where do I send a request to access my data?", "access"),
    ("How do I correct my address?", "correct"),
    ("How can I update my personal information?", "correct"),
    ("How do I unsubscribe from your newsletter?", "opt_out"),
    ("How can I opt out of the sale of my information?", "opt_out"),
    ("how do I stop receiving marketing e-mails", "opt_out"),
    ("How do I withdraw my consent?", "withdraw"),
    ("How do I withdraw consent and have my data deleted?", "withdraw"),  # the first right named
    ("Who do I complain to about how you use my data?", "complain"),
    ("How do I file a complaint?", "complain"),
    ("如何删除我的个人信息？", "delete"),
    ("我怎么注销账户", "delete"),
    ("怎样获取我的个人信息副本？", "access"),
    ("如何更正我的个人信息？", "correct"),
    ("怎么取消订阅营销邮件？", "opt_out"),
    ("我想撤回同意，怎么办？", "withdraw"),
    ("如何投诉？", "complain"),
    # not asking how to exercise a right
    ("Do you delete my data after a year?", None),
    ("What rights do I have?", None),
    ("How long do you keep my data?", None),
    ("How do you protect my data?", None),
    ("How can I contact you about privacy?", None),
    ("How do I delete cookies from my browser?", None),
    ("How do I know my data was deleted?", None),
    ("你们会删除我的数据吗？", None),
    ("我有哪些权利？", None),
])  # fmt: skip
def test_exercise_request(question: str, right: str | None) -> None:
    assert exercise_request(question) == right


def test_channel_line_in_the_answer_language() -> None:
    assert (
        channel_line(["a@x.example", "+1 555 0100"], "en") == "To make this request, contact: a@x.example; +1 555 0100"
    )
    assert channel_line(["a@x.example", "+1 555 0100"], "zh") == "如需提出请求，请联系：a@x.example；+1 555 0100"
    assert channel_line([], "en") == ""


@pytest.mark.parametrize(("text", "expected"), [
    ("Write to us at:\nAcme Ltd\n12 High Street\nLondon\nTel: +44 20 7946 0000", ["Acme Ltd, 12 High Street, London"]),
    ("Or write to: Acme Inc., 5 Main Street, Springfield, IL 62701.",
     ["Acme Inc., 5 Main Street, Springfield, IL 62701"]),
    ("send your request to: a@acme.example, Acme, Inc.,Privacy Officer, 5 Main Street, Springfield, IL 62701, or call.",
     ["Acme, Inc.,Privacy Officer, 5 Main Street, Springfield, IL 62701"]),
    ("write to us at Acme, 5 Main Street, Springfield, IL 62701 and include the words “Request”.",
     ["Acme, 5 Main Street, Springfield, IL 62701"]),
    # no street: a company name, a date, a figure in prose
    ("Acme Ltd\nAcme\nTel: +44 20 7946 0000", []),
    ("Effective Date: July 7th 2015", []),
    ("We will respond within 15 days of your request.", []),
])  # fmt: skip
def test_addresses(text: str, expected: list[str]) -> None:
    assert addresses(text) == expected


def test_contact_channels_by_kind_e_mail_phone_web_postal() -> None:
    text = "Acme Ltd\n12 High Street\nLondon\nCall +44 20 7946 0000, see https://acme.example/form or a@acme.example"
    assert contact_channels(text) == (
        "a@acme.example",
        "+44 20 7946 0000",
        "https://acme.example/form",
        "Acme Ltd, 12 High Street, London",
    )


def _clause(n: int, section: tuple[str, ...], text: str, lang: str = "zh") -> Clause:
    return Clause("acme", f"acme:{n}", section, text, lang, n * 100, n * 100 + len(text))


def test_the_contact_section_keeps_the_block_the_splitter_cut_into_headings() -> None:
    document = (
        _clause(1, ("联系我们",), "如有疑问，请通过下列方式与我们联系:\n某某有限公司"),
        _clause(2, ("某某",), "电话:+86 400 000 0000"),
        _clause(3, ("某某", "邮件地址"), "邮件地址:a@acme.example"),
        _clause(4, ("Privacy Policy",), "Last updated: 2023", "en"),
    )
    assert contact_clauses(document, "zh") == list(document[:3])
    # a section that announces nothing does not take the short lines after it
    plain = replace(document[0], text="请联系我们。")
    assert contact_clauses((plain, *document[1:]), "zh") == [plain]


@pytest.fixture(scope="module")
def directory() -> ContactDirectory:
    docs = load_documents(DOCUMENTS)
    clauses = [c for doc, norm in docs for c in split_document(doc.doc_id, norm)]
    return ContactDirectory(clauses, Catalog({doc.doc_id: doc.meta for doc, _ in docs}))


C24 = (
    "contact.na@clientrelations.cartier.com",
    "+1 800 CARTIER (From USA)",
    "Cartier North America, Branch of Richemont North America, 645 Fifth Avenue, 8th Floor, New York, NY 10022",
)
C10 = (
    "Cartier North America, Branch of Richemont North America C/O Data Protection, 645 Fifth Avenue, 5th Floor, "
    "New York, NY 10022",
)
CN = ("customerservice.cn@cartier.com", "+86 400 885 6618")
HW = (
    "clientservices@harrywinston.com",
    "1-800-988-4110",
    "Harry Winston, 1330 Avenue of the americas new york, ny 10019 u.s.a",
)
HW_OPT_OUT = (
    "clientservices@harrywinston.com",
    "(212) 315-7900",
    "Harry Winston, Inc.,Privacy Officer, 718 Fifth Avenue, New York, NY 10019",
)


# Checked by hand against the documents: 2024's "Contact us" (inside "Commitment 3: Respecting
# your rights"); 2010's "YOUR RIGHTS › Or write to" (the phone the archive lost is not invented);
# China's 联系我们 / "Contact us" (no postal address, only the company name); Harry Winston's
# "Contact us" (its "Your Access Rights" points there), and "Opt In and Opt Out" for opting out.
@pytest.mark.parametrize(("doc_id", "lang", "right", "expected"), [
    ("cartier-privacy-policy-2024", "en", None, C24),
    ("cartier-privacy-policy-2024", "en", "delete", C24),
    ("cartier-privacy-policy-2024", "en", "opt_out", C24),
    ("cartier-privacy-policy-2024", "zh", None, C24),  # written in English only
    ("cartier-us-privacy-policy-2010", "en", None, C10),
    ("cartier-us-privacy-policy-2010", "en", "access", C10),
    ("cartier-china-privacy-policy-2023", "zh", None, CN),
    ("cartier-china-privacy-policy-2023", "en", None, CN),
    ("cartier-china-privacy-policy-2023", "zh", "withdraw", CN),
    ("harry-winston-privacy-policy-2015", "en", None, HW),
    ("harry-winston-privacy-policy-2015", "en", "delete", HW),
    ("harry-winston-privacy-policy-2015", "en", "opt_out", HW_OPT_OUT),
    ("cartier-conditions-of-sale", "en", None, ()),
    ("no-such-policy", "en", None, ()),
])  # fmt: skip
def test_channels_for_every_seed_policy(
    directory: ContactDirectory, doc_id: str, lang: str, right: str | None, expected: tuple[str, ...]
) -> None:
    found = directory.channels_for(doc_id, lang, right)
    assert found == expected
    text = "\n".join(c.text for c in directory.documents.get(doc_id, ()))
    assert all(piece in text for channel in found for piece in channel.split(", "))  # verbatim


def test_request_line_only_for_a_how_question(directory: ContactDirectory) -> None:
    line = directory.request_line("如何删除我的个人信息？", "cartier-china-privacy-policy-2023", "zh")
    assert line == "如需提出请求，请联系：customerservice.cn@cartier.com；+86 400 885 6618"
    assert directory.request_line("Do you delete my data?", "cartier-china-privacy-policy-2023", "en") == ""


def test_contact_sections_of_the_seeds(directory: ContactDirectory) -> None:
    assert directory.sections == {
        ("cartier-privacy-policy-2024", "en"): "contact.na@clientrelations.cartier.com, +1 800 CARTIER (From USA)",
        ("cartier-china-privacy-policy-2023", "zh"): "customerservice.cn@cartier.com, +86 400 885 6618",
        ("cartier-china-privacy-policy-2023", "en"): "customerservice.cn@cartier.com, +86 400 885 6618",
        ("harry-winston-privacy-policy-2015", "en"): "clientservices@harrywinston.com, 1-800-988-4110",
    }


def test_bad_rule_files_name_themselves(tmp_path: Path) -> None:
    bad = tmp_path / "rights.toml"
    bad.write_text("how = '('\nunless = ''\n[rights.x]\nwords = 'a'\nsections = 'b'\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"rights\.toml: bad pattern"):
        RightsRules.load(bad)
    bad.write_text("how = 'x'\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a rights file"):
        RightsRules.load(bad)
    other = tmp_path / "channels.toml"
    other.write_text("[sections]\ncontact = 'x'\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a channels file"):
        ChannelRules.load(other)
    custom = RightsRules.load(DOCUMENTS.parent / "app" / "data" / "rights.toml")
    assert exercise_request("How do I delete my data?", custom) == "delete"

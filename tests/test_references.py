"""Cited sentences that point elsewhere ("below", "here", "上述方式") carry their target, and a
sentence that announces a block (an address, a list) carries the block."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.catalog import Catalog
from app.contacts import ContactDirectory
from app.documents import load_documents
from app.records import Clause, DocumentMeta, Span
from app.references import (
    Reference,
    channels,
    complete_span,
    contact_sections,
    pointer,
    reference_lines,
    resolve,
    resolve_all,
)
from app.splitter import split_document
from app.text.normalize import clean_inline

DOCUMENTS = Path(__file__).resolve().parents[1] / "documents"


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Please contact us using the details set out below.", ("contact", "forward")),
    ('Contact us as described in the section headed "Contact us" below.', ("contact", "forward")),
    ("Write to our e-mail address above to opt out.", ("contact", "back")),
    ("您可以通过上述相同方式撤回同意。", ("contact", "back")),
    ("You can also request cancelation of your account by the same channel.", ("contact", "back")),
    ("您可以通过以下方式联系我们。", ("contact", "forward")),
    ("(联络地址和电话请见下方)", ("contact", "forward")),
    ("You can opt out by clicking here.", ("link", "page")),
    ("Please visit [link] to learn more.", ("link", "page")),
    # the pointer is about something other than the channel it gives
    ("Contact us by email: a@acme.example or write to us at the address below.", ("contact", "forward")),
    # it gives its own channel, or points at nothing
    ("Please contact us below at privacy@acme.example.", None),
    ("Click here (https://acme.example/optout) to opt out.", None),
    ("We keep your data for ten years.", None),
    ("The table below lists the categories.", None),
    ("We will only keep your information as long as necessary to serve the purposes laid out above.", None),
    ("we use the term Cartier to refer to the head office of CARTIER SA at the registered address above", None),
    ("我们使用“卡地亚”一词来指位于上述注册地址的CARTIER SA 总部。", None),
])  # fmt: skip
def test_pointer(sentence: str, expected: tuple[str, str] | None) -> None:
    assert pointer(sentence) == expected


def test_channels_in_order_once() -> None:
    text = "Mail privacy@acme.example or call +1 212 555 0100; see https://acme.example/privacy. privacy@acme.example"
    assert channels(text) == ["privacy@acme.example", "+1 212 555 0100", "https://acme.example/privacy"]


def _clause(text: str, start: int = 100, section: tuple[str, ...] = ("Your rights",)) -> Clause:
    return Clause("acme", f"acme:{'/'.join(section)}:{start}", section, text, "en", start, start + len(text))


META = DocumentMeta("acme", "Acme Policy", public_url="https://acme.example/privacy")


def test_a_forward_pointer_takes_the_channels_after_it_in_its_clause() -> None:
    text = "To exercise your rights, write to us at the address below. Acme, privacy@acme.example."
    clause = _clause(text)
    end = 100 + text.index(" Acme")
    ref = resolve(1, 100, end, clause, META, contact_section="dpo@acme.example")
    assert ref == Reference(1, "contact", "privacy@acme.example")


def test_a_backward_pointer_takes_the_channels_before_it() -> None:
    text = "联系邮箱：privacy@acme.example。您可以通过上述相同方式撤回同意。"
    clause = _clause(text, 0)
    start = text.index("您可以")
    assert resolve(2, start, len(text), clause, META, "") == Reference(2, "contact", "privacy@acme.example")


def test_without_a_channel_nearby_the_contact_section_answers() -> None:
    text = "Please contact us using the details set out below."
    ref = resolve(1, 0, len(text), _clause(text, 0), META, contact_section="dpo@acme.example, +1 800 555 0100")
    assert ref == Reference(1, "contact", "dpo@acme.example, +1 800 555 0100")


def test_without_any_channel_the_policy_page_answers_and_nothing_without_one() -> None:
    text = "Please contact us using the details set out below."
    assert resolve(1, 0, len(text), _clause(text, 0), META, "") == Reference(1, "page", META.public_url)
    assert resolve(1, 0, len(text), _clause(text, 0), DocumentMeta("acme"), "") is None


def test_a_lost_link_becomes_the_policy_page_and_nothing_without_one() -> None:
    text = "You can opt out by clicking here."
    assert resolve(1, 0, len(text), _clause(text, 0), META, "") == Reference(1, "link", META.public_url)
    assert resolve(1, 0, len(text), _clause(text, 0), DocumentMeta("acme"), "") is None


def test_a_pointer_reaches_the_next_clauses_of_its_section_and_the_section_it_names() -> None:
    first = _clause("Please see below the address and contact number.", 0, ("Transfers",))
    block = _clause("Receiver:\nAcme SA\n50 chemin de la Gare\n1200 Geneva\nTel: +41 22 555 0000", 60, ("Transfers",))
    named = _clause("Opt out by following the instructions in the Marketing Choices section above.", 200, ("Sharing",))
    choices = _clause("Write to us at optout@acme.example.", 300, ("Marketing Choices",))
    contact = _clause("Questions? e-mail dpo@acme.example.", 400, ("Contact us",))
    document = (first, block, named, choices, contact)
    ref = resolve(1, 0, first.end, first, META, "", document)
    assert ref == Reference(1, "contact", "+41 22 555 0000; Acme SA, 50 chemin de la Gare, 1200 Geneva")
    assert resolve(2, 200, named.end, named, META, "", document) == Reference(2, "contact", "optout@acme.example")
    # a named section without a channel is not replaced by another one
    nothing = _clause("As described in the section headed “Sharing” above, please contact us.", 500, ("Rights",))
    assert resolve(3, 500, nothing.end, nothing, META, "", (*document, nothing)) is None


def test_reference_lines_group_citations_by_target_in_the_answer_language() -> None:
    refs = [
        Reference(1, "contact", "a@x.example"),
        Reference(2, "contact", "a@x.example"),
        Reference(2, "link", "https://x"),
        Reference(3, "page", "https://x"),
    ]
    assert reference_lines(refs, "en") == [
        "Contact details given in the policy: a@x.example [1][2]",
        "The link is on the policy's page: https://x [2]",
        "The contact details are on the policy's page: https://x [3]",
    ]
    assert reference_lines(refs[:1], "zh") == ["政策中给出的联系方式：a@x.example [1]"]


def test_contact_sections_list_e_mails_then_phones() -> None:
    contact = Clause(
        "acme", "acme:contact:1", ("Contact us",), "Call +1 212 555 0100 or write to dpo@acme.example.", "en", 0, 50
    )
    other = _clause("Nothing here: info@acme.example")
    assert contact_sections([contact, other]) == {("acme", "en"): "dpo@acme.example, +1 212 555 0100"}


def test_template_link_placeholders_are_cleaned_at_ingest() -> None:
    cleaned = clean_inline("please visit website_url_lnk and website_url_lnk More")
    assert cleaned == "please visit [link] and [link] More"


# -- completing a citation with the block its sentence announces -------------------------------


def _sentence_clause(text: str) -> Clause:
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append(Span(10 + pos, 10 + pos + len(line)))
        pos += len(line) + 1
    return Clause("acme", "acme:x:1", ("X",), text, "en", 10, 10 + len(text), tuple(spans))


@pytest.mark.parametrize(("text", "carried"), [
    ("Write to us at:\nAcme Ltd\n1 Main Street\nTel. 555-0100-22", "\nAcme Ltd\n1 Main Street\nTel. 555-0100-22"),
    ("The data we hold include:\nyour name;\nyour address.", "\nyour name;\nyour address."),
    ("我们的联系方式如下：\n电话：400 885 6618", "\n电话：400 885 6618"),
    ("Our purposes are as follows\nsales\nservice", "\nsales\nservice"),
    # a blank line, or a new announcement, ends the block
    ("Write to us at:\nAcme Ltd\n\nLater text.", "\nAcme Ltd"),
    ("Cookies fall into two groups:\nessential\nOther kinds are:\nads", "\nessential"),
    # nothing is announced, or nothing follows in the clause
    ("We keep your data.\nSales records are kept longer.", ""),
    ("Please read the following policy carefully before you use the site and its services today.\nNext.", ""),
    ("Cartier will use your Personal Information:", ""),
])  # fmt: skip
def test_complete_span_carries_the_announced_block(text: str, carried: str) -> None:
    clause = _sentence_clause(text)
    first = clause.sentences[0]
    assert clause.slice(first.end, complete_span(clause, first.start, first.end)) == carried


def test_complete_span_caps_the_block() -> None:
    clause = _sentence_clause("Items:\n" + "\n".join(f"item {i}" for i in range(20)))
    first = clause.sentences[0]
    assert clause.slice(first.end, complete_span(clause, first.start, first.end)).count("\n") == 8
    long_item = _sentence_clause("Items:\n" + "x" * 700)
    s = long_item.sentences[0]
    assert complete_span(long_item, s.start, s.end) == s.end


# -- every such sentence of the seed policies ---------------------------------------------------


@pytest.fixture(scope="module")
def seeds() -> tuple[ContactDirectory, Catalog]:
    docs = load_documents(DOCUMENTS)
    clauses = [c for doc, norm in docs for c in split_document(doc.doc_id, norm)]
    catalog = Catalog({doc.doc_id: doc.meta for doc, _ in docs})
    return ContactDirectory(clauses, catalog), catalog


def _find(directory: ContactDirectory, doc_id: str, words: str) -> tuple[Clause, Span]:
    for clause in directory.documents[doc_id]:
        for span in clause.sentences:
            if words in clause.slice(span.start, span.end):
                return clause, span
    raise AssertionError(f"{words!r} is not a sentence of {doc_id}")


CN, C24, C10, HW = (
    "cartier-china-privacy-policy-2023",
    "cartier-privacy-policy-2024",
    "cartier-us-privacy-policy-2010",
    "harry-winston-privacy-policy-2015",
)
HW_ADDRESS = "Harry Winston, 1330 Avenue of the americas new york, ny 10019 u.s.a"
C24_ALL = (
    "contact.na@clientrelations.cartier.com; +1 800 CARTIER (From USA); "
    "Cartier North America, Branch of Richemont North America, 645 Fifth Avenue, 8th Floor, New York, NY 10022"
)
C10_ADDRESS = (
    "Cartier North America, Branch of Richemont North America C/O Data Protection, 645 Fifth Avenue, 5th Floor, "
    "New York, NY 10022"
)
RECEIVER_LINES = [
    "Richemont International SA",
    "50 chemin de la Chênaie",
    "CP 30, 1293 Bellevue",
    "Geneva",
    "Switzerland",
]
CN_CONTACT = "customerservice.cn@cartier.com; +86 400 885 6618"
RECEIVER = "+41 (0) 22 721 3500; " + ", ".join(RECEIVER_LINES)
HW_OPT_OUT = (
    "clientservices@harrywinston.com; (212) 315-7900; "
    "Harry Winston, Inc.,Privacy Officer, 718 Fifth Avenue, New York, NY 10019"
)
RECEIVER_LINES = [
    "Richemont International SA",
    "50 chemin de la Chênaie",
    "CP 30, 1293 Bellevue",
    "Geneva",
    "Switzerland",
]
HW_CONTACT = f"clientservices@harrywinston.com; 1-800-988-4110; {HW_ADDRESS}"
C24_MAIL = ("contact", "contact.na@clientrelations.cartier.com")
CN_MAIL = ("contact", "customerservice.cn@cartier.com")


@pytest.mark.parametrize(("doc_id", "words", "expected"), [
    # Cartier worldwide (2024)
    (C24, "please write to us at the address listed below", ("contact", C24_ALL)),
    (C24, "please contact us using the details set out below", ("contact", C24_ALL)),
    (C24, "withdraw your consent at any time by e-mailing the address below", C24_MAIL),
    (C24, "object to such use of your e-mail address at any time", C24_MAIL),
    (C24, "please send an e-mail message to our e-mail address below", C24_MAIL),
    (C24, "please contact us as described in the section headed \"Contact us\" below", ("contact", C24_ALL)),
    (C24, "You may appeal our decision", ("contact", C24_ALL)),
    (C24, "please contact us at the address provided below", ("contact", C24_ALL)),
    (C24, "You can opt out of cookie-based selling/sharing by clicking here", ("link", "https://www.cartier.com/")),
    (C24, "for the purposes specified above", None),
    (C24, "as described in the section headed \"Sharing your personal information\" above", None),
    (C24, "as set forth above in 'Commitment 3: Respecting your rights'", None),
    (C24, "You can find out more about how we use cookies and related technologies below", None),
    (C24, "You have the right to opt out of this disclosure of your personal information, as described below", None),
    # Cartier United States (2010)
    (C10, "or write to us at the address below providing official documents", ("contact", C10_ADDRESS)),
    (C10, "For any request concerning Personal Information", ("contact", C10_ADDRESS)),
    (C10, "please refer to the Company Information above", None),
    (C10, "notify Cartier at the following e-mail address", None),
    # Cartier China (2023), English text
    (CN, "please see below the address and contact number", ("contact", RECEIVER)),
    (CN, "please write to us at the email address listed below", CN_MAIL),
    (CN, "You may unsubscribe from e-mail marketing communications at any time", CN_MAIL),
    (CN, "or the method described in the section headed “Contact Us” in this Privacy Policy", ("contact", CN_CONTACT)),
    (CN, "please contact us at the address provided below", ("contact", CN_CONTACT)),
    (CN, "You can also request cancelation of your account by the same channel", ("contact", CN_CONTACT)),
    (CN, "registered address above", None),
    (CN, "the purposes laid out above", None),
    (CN, "Providing us with personal information laid out above is voluntary", None),
    (CN, "(please see the “Your choices” section below", None),
    (CN, "described in the section headed “How to control or delete cookies” above", None),
    # Cartier China (2023), Chinese text
    (CN, "联络地址和电话请见下方", ("contact", RECEIVER)),
    (CN, "您可以通过上述相同方式注销您的账户", ("contact", CN_CONTACT)),
    (CN, "本隐私政策“联系我们”章节联络我们以删除您的个人信息", ("contact", CN_CONTACT)),
    (CN, "如果您想行使上述任何权利,请发送电子邮件至下面标题为“联系我们”章节中所列的地址", CN_MAIL),
    (CN, "请通过下面的地址联系我们", ("contact", CN_CONTACT)),
    (CN, "请通过下列方式与我们联系", ("contact", CN_CONTACT)),
    (CN, "位于上述注册地址", None),
    (CN, "直至上述目的达成", None),
    (CN, "为上述目的所需", None),
    (CN, "使用上面标题为“如何管理或删除Cookies”章节中描述的第三方网站", None),
    # Harry Winston (2015)
    (HW, "by contacting us using the “Contact US” information below", ("contact", HW_CONTACT)),
    (HW, "in the Right to Opt In and Opt Out section above", ("contact", HW_OPT_OUT)),
    (HW, "in the Opt-in and Opt-out section above", ("contact", HW_OPT_OUT)),
    (HW, "you may contact us at:", None),  # the address lines follow it in its citation
    (HW, "click here. (http://www.allaboutcookies.org/)", None),
    (HW, "which are further described below", None),
    (HW, "To perform the above functions", None),
])  # fmt: skip
def test_seed_pointers_resolve_to_the_policy_s_own_channels(
    seeds: tuple[ContactDirectory, Catalog], doc_id: str, words: str, expected: tuple[str, str] | None
) -> None:
    directory, catalog = seeds
    clause, span = _find(directory, doc_id, words)
    [ref] = resolve_all([(1, span.start, span.end, clause)], catalog, directory.sections, directory.documents) or [None]
    assert (ref.kind, ref.target) == expected if ref else expected is None
    if ref and ref.kind == "contact":  # every channel is verbatim in the policy
        text = "\n".join(c.text for c in directory.documents[doc_id])
        assert all(piece in text for part in ref.target.split("; ") for piece in part.split(", "))


@pytest.mark.parametrize(("doc_id", "words", "carried"), [
    (HW, "you may contact us at:", ["Harry Winston", "1330 Avenue of the americas new york, ny 10019 u.s.a",
                                    "phone. 1-800-988-4110"]),
    (CN, "please contact us at:", ["Richemont Commercial Company Limited", "Cartier", "Tel: +86 400 885 6618",
                                   "Email address: customerservice.cn@cartier.com"]),
    (CN, "Overseas Data Receiver:", [*RECEIVER_LINES, "Tel: +41 (0) 22 721 3500"]),
    (CN, "境外接收方:", [*RECEIVER_LINES, "电话:+41 (0) 22 721 3500"]),
    (CN, "请通过下列方式与我们联系:", ["历峰商业有限公司"]),
    (CN, "满意度调查等:", ["管理您的账户以及卡地亚内部的账目和记录;", "验证您的年龄为14周岁或以上;",
                     "处理您的查询和请求;", "发送服务相关通讯,包括公告和行政管理等消息,例如订单确认;"]),
    (C10, "credit checks and fraud prevention:", ["1. Your name and address;", "2. Your credit card information;",
                                               "3. The identification of the creations you have ordered; and",
                                               "4. The price paid for the creations you have ordered."]),
    (HW, "to perform the following business functions:", [
        "processing and fulfilling your transactions", "enabling users to use our Website and its features",
        "administering the Website and your account with us", "responding to your requests, questions, and concerns",
        "market research", "developing new features and offerings"]),
    # the block is in the next clauses, or the sentence carries its list itself
    (C10, "For any request concerning Personal Information", []),
    (C24, "please write to us at the address listed below", []),
    ("cartier-conditions-of-sale", "Cartier accepts the following credit cards:", []),
])  # fmt: skip
def test_seed_sentences_that_announce_a_block_carry_it(
    seeds: tuple[ContactDirectory, Catalog], doc_id: str, words: str, carried: list[str]
) -> None:
    clause, span = _find(seeds[0], doc_id, words)
    assert clause.slice(span.end, complete_span(clause, span.start, span.end)) == "".join("\n" + x for x in carried)


def test_a_pointer_to_the_contact_section_resolves_without_the_document() -> None:
    text = "您可以通过本隐私政策“联系我们”章节联络我们以删除您的个人信息。"
    clause = Clause("acme", "acme:x:1", ("您的选择",), text, "zh", 0, len(text))
    assert resolve(1, 0, len(text), clause, META, "a@acme.example") == Reference(1, "contact", "a@acme.example")

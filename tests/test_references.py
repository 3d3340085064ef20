"""Cited sentences that point elsewhere ("below", "here", "上述方式") carry their target."""

from __future__ import annotations

import pytest

from app.normalize import clean_inline
from app.records import Clause, DocumentMeta
from app.references import Reference, channels, contact_sections, pointer, reference_lines, resolve


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Please contact us using the details set out below.", ("contact", "forward")),
    ('Contact us as described in the section headed "Contact us" below.', ("contact", "forward")),
    ("Write to our e-mail address above to opt out.", ("contact", "back")),
    ("您可以通过上述相同方式撤回同意。", ("contact", "back")),
    ("您可以通过以下方式联系我们。", ("contact", "forward")),
    ("You can opt out by clicking here.", ("link", "page")),
    ("Please visit [link] to learn more.", ("link", "page")),
    # it gives its own channel, or points at nothing
    ("Please contact us below at privacy@acme.example.", None),
    ("Click here (https://acme.example/optout) to opt out.", None),
    ("We keep your data for ten years.", None),
    ("The table below lists the categories.", None),
])  # fmt: skip
def test_pointer(sentence: str, expected: tuple[str, str] | None) -> None:
    assert pointer(sentence) == expected


def test_channels_in_order_once() -> None:
    text = "Mail privacy@acme.example or call +1 212 555 0100; see https://acme.example/privacy. privacy@acme.example"
    assert channels(text) == ["privacy@acme.example", "+1 212 555 0100", "https://acme.example/privacy"]


def _clause(text: str, start: int = 100) -> Clause:
    return Clause("acme", "acme:rights:1", ("Your rights",), text, "en", start, start + len(text))


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


def test_a_lost_link_becomes_the_policy_page_and_nothing_without_one() -> None:
    text = "You can opt out by clicking here."
    assert resolve(1, 0, len(text), _clause(text, 0), META, "") == Reference(1, "link", META.public_url)
    assert resolve(1, 0, len(text), _clause(text, 0), DocumentMeta("acme"), "") is None


def test_reference_lines_group_citations_by_target_in_the_answer_language() -> None:
    refs = [
        Reference(1, "contact", "a@x.example"),
        Reference(2, "contact", "a@x.example"),
        Reference(2, "link", "https://x"),
    ]
    assert reference_lines(refs, "en") == [
        "Contact details given in the policy: a@x.example [1][2]",
        "The link is on the policy's page: https://x [2]",
    ]
    assert reference_lines(refs[:1], "zh") == ["政策中给出的联系方式：a@x.example [1]"]


def test_contact_sections_list_e_mails_then_phones() -> None:
    contact = Clause("acme", "acme:contact:1", ("Contact us",), "Call +1 212 555 0100 or write to dpo@acme.example.",
                     "en", 0, 50)
    other = _clause("Nothing here: info@acme.example")
    assert contact_sections([contact, other]) == {("acme", "en"): "dpo@acme.example, +1 212 555 0100"}


def test_template_link_placeholders_are_cleaned_at_ingest() -> None:
    cleaned = clean_inline("please visit website_url_lnk and website_url_lnk More")
    assert cleaned == "please visit [link] and [link] More"

"""Redaction of what users type: every listed secret goes, no policy sentence is touched."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from app.redact import CARD, EMAIL, ID, PHONE, PLACEHOLDERS, Redaction, luhn_valid, normalised_view, redact

# (what a customer might type, the kind that must be found, the secret that must vanish)
SECRETS = [
    ("my card is 4111 1111 1111 1111 thanks", CARD, "4111 1111 1111 1111"),
    ("card 4111-1111-1111-1111", CARD, "4111-1111-1111-1111"),
    ("4111111111111111", CARD, "4111111111111111"),
    ("amex 3782 822463 10005 was charged", CARD, "3782 822463 10005"),
    ("Mastercard 5555555555554444.", CARD, "5555555555554444"),
    ("visa 4012888888881881, exp 12/27", CARD, "4012888888881881"),
    ("Discover 6011 1111 1111 1117", CARD, "6011 1111 1111 1117"),
    ("UnionPay 6200000000000005", CARD, "6200000000000005"),
    ("13-digit visa 4222222222222", CARD, "4222222222222"),
    ("我的银行卡号是6222021234567890128请帮我查", CARD, "6222021234567890128"),
    ("write to jane.doe@example.com please", EMAIL, "jane.doe@example.com"),
    ("Email: J.Smith+orders@mail.co.uk", EMAIL, "J.Smith+orders@mail.co.uk"),
    ("我的邮箱是wang_li88@qq.com", EMAIL, "wang_li88@qq.com"),
    ("call me on +1 (212) 555-0187", PHONE, "+1 (212) 555-0187"),
    ("my number is (212) 555-0187", PHONE, "(212) 555-0187"),
    ("phone 212-555-0187", PHONE, "212-555-0187"),
    ("phone 212.555.0187", PHONE, "212.555.0187"),
    ("ring 555-0187 after six", PHONE, "555-0187"),
    ("+44 20 7946 0958 is my office", PHONE, "+44 20 7946 0958"),
    ("+33 1 42 68 53 00", PHONE, "+33 1 42 68 53 00"),
    ("+86 138 0013 8000", PHONE, "+86 138 0013 8000"),
    ("手机13800138000", PHONE, "13800138000"),
    ("我的电话是 138-0013-8000", PHONE, "138-0013-8000"),
    ("座机 010-6552 9988", PHONE, "010-6552 9988"),
    ("call 1-800-555-0199", PHONE, "1-800-555-0199"),
    ("my SSN is 123-45-6789", ID, "123-45-6789"),
    ("ssn 078 05 1120", ID, "078 05 1120"),
    ("身份证号110101199003074514", ID, "110101199003074514"),
    ("ID 11010519491231002X please", ID, "11010519491231002X"),
    ("passport number: E12345678", ID, "E12345678"),
    ("护照号码:G12345678", ID, "G12345678"),
]

# Sentences from the policies (and ordinary questions): nothing in them is personal data.
UNTOUCHED = [
    "We do not knowingly collect personal information from children under age 13.",
    "Information relating to a contract with you will be kept for the lifetime of the contract and up to ten years.",
    "California Civil Code Section 1798.83 permits users who are California residents to request certain information.",
    "You may make a request twice in a 12-month period.",
    "Cartier Privacy Policy, last updated September 2024.",
    "This policy was last revised in March 2010.",
    "Effective July 7th 2015.",
    "Under the CCPA (Cal. Civ. Code § 1798.100 et seq.) you have the right to know.",
    "We will respond within 45 days, and may extend that by another 45 days.",
    "我们将在15天内处理您的请求。",
    "如果您未满14周岁,请不要使用本平台。",
    "Payment by credit card: your three- or four- digit security code (CVV2/CVC2/CID).",
    "Which policy applied between 2010-2024?",
    "The policy dated 2023-12-01 replaced the 2010 version.",
    "How long do you keep my data?",
    "Do you sell my personal information to third parties?",
    "Call +1 800 CARTIER for client relations.",
    "Section 7. Payment by credit card",
    "Article 5.2 of the regulation",
]


@pytest.mark.parametrize(("text", "kind", "secret"), SECRETS)
def test_every_secret_is_redacted(text: str, kind: str, secret: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert kind in result.kinds
    assert PLACEHOLDERS[kind] in result.text


@pytest.mark.parametrize("sentence", UNTOUCHED)
def test_policy_sentences_are_untouched(sentence: str) -> None:
    result = redact(sentence)
    assert result.text == sentence
    assert result.kinds == ()


def test_corpus_rates() -> None:
    """The whole corpus at once: 100% of secrets found, 0 false redactions."""
    found = sum(secret not in redact(text).text for text, _, secret in SECRETS)
    false = sum(redact(s).text != s for s in UNTOUCHED)
    assert (found, false) == (len(SECRETS), 0)


def test_rest_of_the_message_is_kept() -> None:
    result = redact("My card 4111 1111 1111 1111 was charged twice, can you delete it? Mail me at a@b.com")
    assert result.text == "My card [card number] was charged twice, can you delete it? Mail me at [e-mail]"
    assert result.kinds == (EMAIL, CARD)
    assert result.had_card and result.changed


def test_a_long_number_failing_luhn_is_not_called_a_card() -> None:
    result = redact("order 4111 1111 1111 1112")
    assert CARD not in result.kinds
    assert result.text == "order [id number]"  # still redacted: a mistyped card, an account number


def test_redaction_is_idempotent() -> None:
    once = redact("card 4111111111111111, call +1 212 555 0187, mail x@y.org, SSN 123-45-6789").text
    assert redact(once).text == once
    assert redact(once).kinds == ()


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True), ("0", True), ("12a4", False)],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


# -- every format and script: a generated corpus (issue: separators, invisible characters, full-width digits) --

CARDS = ("4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "4012888888881881",
         "6222021234567890128", "4000056655665556", "5200828282828210")  # fmt: skip
SEPARATORS = (" ", ".", "/", "  ", "\t", "\u00a0", "\u2009", "\u202f", "\u3000", "\u200b", ",", " - ", "-", " / ",
              "\u2002", "\u2060", "·")  # fmt: skip


def _grouped(number: str, sep: str) -> str:
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _corpus() -> list[tuple[str, str]]:
    """(secret as typed, kind) — at least 200 of them."""
    out = [(_grouped(c, sep), CARD) for c in CARDS for sep in SEPARATORS]
    out += [("cardno" + c, CARD) for c in CARDS] + [(_fullwidth(_grouped(c, " ")), CARD) for c in CARDS]
    emails = (
        "josé@example.com", "bob＠example.com", "用户@例子.广告", "bob[at]example.com", "bob (at) example (dot) com",
        "Zoë.Müller+vip@post.example.de", "wang_li88@qq.com", "ＡＢＣ＠ｅｘａｍｐｌｅ．ｃｏｍ", "x.y@sub.domain.co.uk",
        "alice [at] example [dot] org", "Ünal@bücher.example", "李雷@邮件.中国", "o'brien@example.ie",
    )  # fmt: skip
    out += [(e, EMAIL) for e in emails]
    phones = ("+1 (212) 555-0187", "+44\u00a020\u00a07946\u00a00958", "+33 1 42 68 53 00", "+86 138 1234 5678",
              "+86\u3000138\u30001234\u30005678", "138-0013-8000", "(212)\u2009555-0187", "+49 30 901820",
              "０１０－６５５２ ９９８８", "+1.212.555.0187")  # fmt: skip
    out += [(p, PHONE) for p in phones]
    ibans = ("DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606", "NL91ABNA0417164300")
    for iban in ibans:
        out += [(iban, ID), (_grouped(iban, " "), ID), (_grouped(iban, "\u00a0"), ID), (iban.lower(), ID)]
    ids = (
        "110105 19491231 002X", "11010519491231002X", "110105-19491231-002X", "110101199003074514",
        "123-45-6789", "E12345678", "G1234567", "QQ 12 34 56 C", "AB123456D", "passport number: X1234567",
    )  # fmt: skip
    out += [(i, ID) for i in ids]
    return out


TEMPLATES = ("my details: {} thanks", "我的信息是{}，请删除", "pls delete acct {} asap!!")


def _core(text: str) -> str:
    """The secret's letters and digits, in NFKC, without separators (what must not survive)."""
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKC", text) if c.isalnum()).lower()


def test_the_generated_corpus_is_large() -> None:
    assert len(set(_corpus())) >= 200


@pytest.mark.parametrize(("secret", "kind"), _corpus())
def test_every_format_and_script_is_redacted(secret: str, kind: str) -> None:
    for template in TEMPLATES:
        result = redact(template.format(secret))
        core = _core(secret.removeprefix("passport number: "))
        assert core not in _core(result.text), (template.format(secret), result.text)
        assert kind in result.kinds or (kind == PHONE and result.kinds), result
        if kind == PHONE:
            assert CARD not in result.kinds  # "+86 138 1234 5678" is no card: no card warning
        if template.isascii():  # the rest of the message stays (a Chinese address glued to Chinese text
            assert template.split("{}")[0].strip()[:4] in result.text  # cannot be told from it: both go)


def test_the_corpus_never_reaches_sqlite_the_log_or_the_csv(tmp_path, caplog) -> None:
    import logging
    import sqlite3

    from app.feedback import FeedbackStore

    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    secrets = [s for s, _ in _corpus()]
    with caplog.at_level(logging.INFO):
        for secret in secrets:
            text = TEMPLATES[0].format(secret)
            store.log_message(view="customer", question=text, answer="a", clause_ids=[], abstained=False)
            store.add(view="customer", question=text, answer="a", clause_ids=[], rating=1, comment=f"re: {secret}")
    with sqlite3.connect(tmp_path / "feedback.sqlite3") as conn:
        rows = [*conn.execute("SELECT * FROM messages"), *conn.execute("SELECT * FROM feedback")]
    stored = " ".join(str(v) for row in rows for v in row)
    exported = store.export_csv(tmp_path / "feedback.csv")
    logged = caplog.text
    for secret in secrets:
        core = _core(secret.removeprefix("passport number: "))
        for where, text in (("sqlite", stored), ("csv", exported), ("log", logged)):
            assert core not in _core(text), (where, secret)


def test_no_seed_policy_sentence_without_contact_details_is_changed() -> None:
    import re
    from pathlib import Path

    from app.documents import load_documents
    from app.splitter import split_document

    documents = Path(__file__).resolve().parents[1] / "documents"
    contact = re.compile(r"@|\d[\d\s().-]{6,}\d|\bat\b.*\bdot\b")
    checked = 0
    for doc, norm in load_documents(documents):
        for clause in split_document(doc.doc_id, norm):
            for span in clause.sentences:
                sentence = clause.text[span.start - clause.start : span.end - clause.start]
                if contact.search(sentence):
                    continue
                checked += 1
                assert redact(sentence).text == sentence, sentence
    assert checked > 500


# -- issue 22: the second round's shapes, in several scripts (tests/data/redaction/corpus.jsonl) --

CORPUS_FILE = Path(__file__).resolve().parent / "data" / "redaction" / "corpus.jsonl"
KINDS = {"card": CARD, "email": EMAIL, "phone": PHONE, "id": ID}


def _rows() -> list[dict[str, str]]:
    with CORPUS_FILE.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _digits_and_letters(text: str) -> str:
    """What must not survive of a secret: its letters and digits, NFKC, any script's digits as ASCII."""
    out = []
    for c in unicodedata.normalize("NFKC", text):
        if c.isdigit() and unicodedata.decimal(c, None) is not None:
            out.append(str(unicodedata.decimal(c)))
        elif c.isalnum():
            out.append(c.lower())
    return "".join(out)


SECRET_ROWS = [r for r in _rows() if r["kind"] != "none"]
PLAIN_ROWS = [r for r in _rows() if r["kind"] == "none"]


def test_the_corpus_covers_every_kind_and_many_scripts() -> None:
    assert {r["kind"] for r in SECRET_ROWS} == set(KINDS)
    assert {r["script"] for r in SECRET_ROWS} >= {"latin", "cyrillic", "chinese", "japanese", "arabic", "fullwidth"}
    assert all(r["secret"] in r["text"] for r in SECRET_ROWS)


@pytest.mark.parametrize("row", SECRET_ROWS, ids=lambda r: f"{r['kind']}-{r['script']}-{r['secret'][:24]}")
def test_every_corpus_secret_disappears(row: dict[str, str]) -> None:
    result = redact(row["text"])
    assert _digits_and_letters(row["secret"]) not in _digits_and_letters(result.text), result.text
    assert KINDS[row["kind"]] in result.kinds, result
    if row["kind"] == PHONE:
        assert CARD not in result.kinds


@pytest.mark.parametrize("row", PLAIN_ROWS, ids=lambda r: r["text"][:32])
def test_ordinary_text_in_the_corpus_is_untouched(row: dict[str, str]) -> None:
    result = redact(row["text"])
    assert (result.text, result.kinds) == (row["text"], ())


@pytest.mark.parametrize("row", SECRET_ROWS + PLAIN_ROWS, ids=lambda r: r["text"][:32])
def test_redaction_of_the_corpus_is_idempotent(row: dict[str, str]) -> None:
    once = redact(row["text"]).text
    assert redact(once) == Redaction(once)


def test_a_second_pass_finds_nothing_new() -> None:
    """On random digits, separators, letters and odd characters: a placeholder stands for what it
    replaced, so redacting the redacted text changes nothing."""
    import random

    rng = random.Random(22)
    alphabet = "0123456789" * 4 + " -./,~+()@#'\"\n\t:;=•aZxDE٤４\u0301\u200b。．＠рф中"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 120)))
        once = redact(text).text
        assert redact(once).text == once, text


def test_a_phone_glued_to_a_word_keeps_its_earlier_groups() -> None:
    assert redact("call 212 555 0187 1234x now").text == "call [phone] 1234x now"


def test_warm_up_loads_what_redaction_needs() -> None:
    from app.redact import warm_up

    warm_up()
    assert redact("+44 20 7946 0958").text == "[phone]"


def test_two_ibans_in_a_row_are_both_found() -> None:
    result = redact("DE89 3704 0044 0532 0130 00 GB82 WEST 1234 5698 7654 32 ok")
    assert result.text == "[id number] [id number] ok"
    assert redact("accounts DE89370400440532013000,GB82WEST12345698765432").text == "accounts [id number],[id number]"


def _reference_cards(groups: list[str]) -> list[tuple[int, int]]:
    """The first round's search (every pair of groups, digits re-joined, python-stdnum's Luhn):
    cubic, so only for short inputs; from each start the longest card wins. Spans in the text
    "x " + " ".join(groups)."""
    from stdnum import luhn

    starts = [2 + sum(len(g) + 1 for g in groups[:k]) for k in range(len(groups))]
    cards, i = [], 0
    while i < len(groups):
        for j in range(len(groups) - 1, i - 1, -1):
            digits = "".join(groups[i : j + 1])
            if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
                cards.append((starts[i], starts[j] + len(groups[j])))
                i = j
                break
        i += 1
    return cards


def test_the_card_scan_agrees_with_the_first_rounds_search() -> None:
    """The scan keeps Luhn sums as prefix sums and tries only ends 13–19 digits away; on blocks
    of four it must find exactly what the old search over every pair of groups found."""
    import random

    from app.redact_numbers import card_spans

    rng = random.Random(22)
    for _ in range(300):
        number = "".join(rng.choice("0123456789") for _ in range(rng.randint(13, 40)))
        groups = [number[i : i + 4] for i in range(0, len(number), 4)]
        text = "x " + " ".join(groups) + " y"
        assert card_spans(text) == _reference_cards(groups), text


VIEWED = ["a\u200bb 4111 1111 1111 1111", "ﬁle ＠ 4111 1111 1111 1111", "e\u0301 ٤١١١ ١١١١ ١١١١ ١١١١"]


@pytest.mark.parametrize("text", VIEWED)
def test_the_view_maps_back_onto_the_original(text: str) -> None:
    view, origin = normalised_view(text)
    assert len(origin) == len(view) and origin == sorted(origin) and origin[-1] == len(text) - 1
    assert redact(text).text.endswith("[card number]")


# -- issue 22: linear time. The old pair search took 12.7 s for "1 " × 1,000 (cubic). --

ADVERSARIAL = ("1 ", "1-", "1 1-1.1/1,1~1 -- 1....1 • 1+1#1=1'1\\1;1\n    ", "11 ", "111 ", "4111 ", "1", "+1 ",
               "(12) ", "a@", "a.a@b.", '"a', "DE89 3704 0044 0532 0130 00 ", "DE00 AAAA ", "passport number   ",
               "４１１１　", "2024-01-15 ", "+4420794609581234567890 ", "212-555-0187, ",
               "e\u0301@x\u0301.")  # fmt: skip


def _seconds(length: int) -> float:
    import timeit

    texts = [(unit * (length // len(unit) + 1))[:length] for unit in ADVERSARIAL]
    return min(timeit.repeat(lambda: [redact(t) for t in texts], number=1, repeat=5))


def test_redaction_time_grows_linearly_with_the_input() -> None:
    """Four times the input, at most ~6 times the time (linear: 4; the old code: ~64). A ratio,
    not an absolute time: the figures are bench/redact.py's."""
    _seconds(1000)  # warm-up: lazy imports, phonenumbers' metadata, the view's table
    ratios = []
    for _ in range(3):  # the best of three: a busy machine only ever makes one side slower
        ratios.append(_seconds(4000) / _seconds(1000))
        if ratios[-1] <= 6:
            break
    assert min(ratios) <= 6, ratios

"""Spelling correction of questions: plain typos are fixed, nothing that is not a plain typo is touched."""

from __future__ import annotations

import random
import string

import pytest

from app.redact import PLACEHOLDERS
from app.spelling import MAX_LOOKUPS, Correction, SpellCorrector, load_shorthand
from tests.conftest import DOCUMENTS

# A miniature "corpus" of clause texts: the corrector's own vocabulary in these tests.
CLAUSES = [
    "We keep your email address for as long as we need it, then delete it.",
    "You may delete your account and opt-out of marketing cookies at any time.",
    "Our privacy policy explains your rights under the GDPR and the CCPA.",
    "We share data with service providers such as Salesforce and Hotjar for clickstream analytics.",
]
BRANDS = ["Maison Orlane", "Castellé"]  # stand-ins for the catalogue's brand names the caller passes


@pytest.fixture(scope="module")
def corrector() -> SpellCorrector:
    return SpellCorrector.from_texts(CLAUSES)


# (typed, expected): hand-checked
FIXED = [
    ("how lnog u keep my emial adress", "how long you keep my email address"),
    ("delte my acount", "delete my account"),
    ("privcy polcy", "privacy policy"),
    ("Delte my acount, pls!", "Delete my account, please!"),  # capital at the start kept
    ("Hw do I opt-otu of cookeis?", "How do I opt-out of cookies?"),
    ("what  is ur   polcy?!", "what  is your   policy?!"),  # spacing and punctuation kept
    ("Is my emial shared? Wat abt my adress?", "Is my email shared? What about my address?"),
    ("my emial是什么", "my email是什么"),  # Latin words inside Chinese text
    ("can I delte my acount's data", "can I delete my account's data"),  # possessive
    ("(Privcy) polcy", "(Privacy) policy"),
    ("do you use clikstream analytcs", "do you use clickstream analytics"),  # corpus-only words
]


@pytest.mark.parametrize(("typed", "expected"), FIXED)
def test_typos_are_fixed(corrector: SpellCorrector, typed: str, expected: str) -> None:
    result = corrector.correct(typed)
    assert result.text == expected
    assert result.changed


def test_fixes_list_each_word_in_order(corrector: SpellCorrector) -> None:
    result = corrector.correct("Delte my acount, pls")
    assert result == Correction(
        "Delete my account, please", True, (("Delte", "Delete"), ("acount", "account"), ("pls", "please"))
    )


UNTOUCHED = [
    "see https://www.exmaple.com/privcy-polcy",
    "www.exmaple.com/polcy",
    "exmaple.com and the U.S. and e.g. this",
    "I paid 250 dollars on 12/03/2024 for order A12345B",
    "my ref is abc123def or 3dayz",  # words glued to digits
    "Do you share my data with Salesforce or Hotjar or Paymetrik?",  # names mid-sentence
    "What does CCPA say about US residents? And LGPD?",
    "我想删除我的账户",
    "我的邮箱地址是什么？",
    "Ты удалишь мои данные?",
    "Supprimez mes données personnelles, café, résumé",  # non-English Latin letters: left alone
    "do you accept cookies and opt-out requests under GDPR",
    "what do you do with my personal information",
    "a an to of is it be me my no",
    "iPhone eBoutique WeChat",  # mixed case
    "I didn't say that, it's what they're doing",  # contractions
    "",
    "   ",
]


@pytest.mark.parametrize("text", UNTOUCHED)
def test_untouched(corrector: SpellCorrector, text: str) -> None:
    assert corrector.correct(text) == Correction(text, False, ())


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("write to jane.doe@exmaple.com about my acount", "write to jane.doe@exmaple.com about my account"),
        ("see https://exmaple.com/polcy for the polcy", "see https://exmaple.com/polcy for the policy"),
        ("my refrence is abc123def", "my reference is abc123def"),
    ],
)
def test_kept_spans_beside_fixed_words(corrector: SpellCorrector, typed: str, expected: str) -> None:
    assert corrector.correct(typed).text == expected


@pytest.mark.parametrize("placeholder", [*sorted(PLACEHOLDERS.values()), "[email]", "[card number]"])
def test_redaction_placeholders_untouched(corrector: SpellCorrector, placeholder: str) -> None:
    text = f"I gave you {placeholder} and my acount"
    assert corrector.correct(text).text == f"I gave you {placeholder} and my account"


def test_protected_words_untouched(corrector: SpellCorrector) -> None:
    text = "orlane privcy polcy. Castelle adress"
    assert corrector.correct(text).text == "online privacy policy. Castle address"  # what protection prevents
    # accents folded: customers type "Castelle" for "Castellé"
    assert corrector.correct(text, protected=BRANDS).text == "orlane privacy policy. Castelle address"
    assert corrector.correct("Orlane polcy", protected=["orlane"]).text == "Orlane policy"


def test_capitalised_word_mid_sentence_is_a_name(corrector: SpellCorrector) -> None:
    assert corrector.correct("we use Hotjr").changed is False
    assert corrector.correct("we use hotjr").text == "we use hotjar"
    assert corrector.correct("Hotjr. Polcy").text == "Hotjar. Policy"  # sentence starts


def test_all_caps_short_words_and_digits_skipped(corrector: SpellCorrector) -> None:
    assert corrector.correct("PRIVCY POLCY").changed is False  # shouting is read as acronyms
    assert corrector.correct("ab cd ef").changed is False
    assert corrector.correct("polcy2 2polcy polcy_v2").changed is False


def test_shorthand_comes_from_the_data_file() -> None:
    shorthand = load_shorthand()
    for short, full in {"u": "you", "ur": "your", "pls": "please", "abt": "about", "plz": "please",
                        "wat": "what", "hw": "how"}.items():
        assert shorthand[short] == full
    custom = SpellCorrector.from_texts(CLAUSES, shorthand={"k": "okay"})
    assert custom.correct("k u").text == "okay u"


class CountingCorrector(SpellCorrector):
    """Counts dictionary lookups: the cost that grows with the input."""

    lookups = 0

    def suggest(self, word: str) -> str | None:
        self.lookups += 1
        return super().suggest(word)


def test_noise_is_bounded_by_lookups() -> None:
    rng = random.Random(21)
    noise = "".join(rng.choice(string.ascii_letters + string.digits + "    .,!?@") for _ in range(2000))
    counting = CountingCorrector.from_texts(CLAUSES)
    result = counting.correct(noise)
    assert 0 < counting.lookups <= MAX_LOOKUPS
    assert len(result.text) >= len(noise) - 10 * len(result.fixes)


def test_lookups_only_for_unknown_words() -> None:
    counting = CountingCorrector.from_texts(CLAUSES)
    counting.correct("how long do you keep my email address and cookies under GDPR, Salesforce")
    assert counting.lookups == 0
    counting.correct("delte my acount")
    assert counting.lookups == 2


def test_corpus_words_win_ties() -> None:
    # "analytcs" is one edit from the corpus word "analytics", missing from the English list
    plain = SpellCorrector.from_texts([])
    assert plain.correct("analytcs").text != "analytics"
    assert SpellCorrector.from_texts(CLAUSES).correct("analytcs").text == "analytics"


@pytest.mark.slow
def test_seed_corpus_vocabulary() -> None:
    """Built from the real seed documents' clause texts, as the index holds them."""
    from app.documents import load_documents
    from app.splitter import split_document

    texts = [c.text for doc, norm in load_documents(DOCUMENTS) for c in split_document(doc.doc_id, norm)]
    seed = SpellCorrector.from_texts(texts)
    # words of the policies that general English lacks
    assert seed.correct("cybersecurty").text == "cybersecurity"
    assert seed.correct("clikstream data").text == "clickstream data"
    assert seed.correct("do u anonymse my data").text == "do you anonymize my data"
    assert seed.correct("how lnog do you keep my emial adress").text == "how long do you keep my email address"
    assert seed.correct("Do you use WeChat or Richemont?").changed is False

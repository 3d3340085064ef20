"""The regular expressions that more than one rule relies on, each written once.

A phone number, an e-mail address, the end of a sentence, a figure: when two modules need to
recognise the same thing they import it from here, so that a fix reaches both. Where two jobs
need different patterns for the same thing, both live here, side by side, with the reason:

- A policy's channels (``EMAIL``, ``PHONE``, ``URL``) are quoted verbatim to customers, so they
  match what a policy prints, vanity numbers ("+1 877 PRIVACY") included.
- What a customer types (``EMAIL_TYPED``, ``PHONE_TYPED``) is redacted before it is stored: those
  patterns lean towards matching, accept any script, and cannot backtrack without bound
  (possessive quantifiers), because any client may send any text (app/redact.py).
"""

from __future__ import annotations

import re

from app.text.words import WORDS

# -- figures and markers ---------------------------------------------------------------------

# A year a question or a catalogue date names (1900–2099), not part of a longer number.
YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# A citation marker of an answer: "[2]".
MARKER = re.compile(r"\[(\d+)\]")
# A number word that states a fact ("thirty days"): a reply's sentence must find it in its source.
NUMBER_WORD = re.compile(
    r"\b(?:" + "|".join(w for w in WORDS.numbers if w not in WORDS.ambiguous_numbers) + r")\b", re.IGNORECASE
)
# A Chinese count of something ("三年", "十五天").
ZH_COUNT = re.compile(f"[{WORDS.zh_numerals}]+(?=[年个月天日周岁])")
# Any figure, in digits or words, English or Chinese: does a sentence give a number at all?
FIGURE = re.compile(
    r"\d|\b(?:" + "|".join((*WORDS.numbers, *WORDS.frequency)) + r")\b|[" + WORDS.zh_numerals + "]", re.IGNORECASE
)

# -- sentence ends -----------------------------------------------------------------------------

_STOPS = ".!?"
_ZH_STOPS = "。！？"
# In a policy: a full stop, "!" or "?" (and closing quotes or brackets) before a space and what
# starts a sentence (a capital or a digit, perhaps after an opening quote).
SENTENCE_END = re.compile(f"[{_STOPS}]" + r"[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
# In Chinese: a full-width or half-width stop, and the closing quotes after it.
ZH_SENTENCE_END = re.compile(f"[{_ZH_STOPS}!?][”’」』)]*")
# In a model's reply: the gap after a stop (a Chinese stop needs none).
SENTENCE_BREAK = re.compile(f"(?<=[{_STOPS}{_ZH_STOPS}])" + r"[\"'”’)]*\s+" + f"|(?<=[{_ZH_STOPS}])")
# A sentence that ends inside a text and another that starts: the text is prose, not a line.
SENTENCE_INSIDE = re.compile(f"[{_STOPS}]" + r"\s+[A-Z]|" + f"[{_ZH_STOPS}]" + r"\S")

# -- a policy's channels -----------------------------------------------------------------------

# An e-mail address as a policy writes it.
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A web address with its scheme, less the punctuation that ends the sentence around it.
URL = re.compile(r"https?://[^\s)<>\"'，。；]+[^\s)<>\"'，。；.,;:]")
# A web address in prose, with or without its scheme ("www.example.com/privacy"): a fact a
# model's reply states and its source must hold verbatim.
WEB_ADDRESS = re.compile(r"(?:https?://|www\.)[^\s<>\"'\])]+", re.IGNORECASE)
# A phone number as a policy prints it: digits with separators, or a vanity number.
PHONE = re.compile(r"(?:\+|\()?\d[\d ()./-]{6,}\d|\+?\d{1,3}[ -]\d{3}[ -][A-Z]{4,}(?: \([^)]*\))?")

# -- what a customer types (redaction) ---------------------------------------------------------

# E-mail: a plain or quoted local part ("john doe"@…), domain labels in any script separated by
# "." or the ideographic full stop (the full-width one is "." after NFKC), and a top-level
# domain of letters of one kind: ASCII ("com", "xn--p1ai") or not ("рф", "中国", "みんな").
_LOCAL = r"(?:[\"“][^\"“”@ ][^\"“”@]{0,63}[\"”]|(?<![\w.%+'-])[\w.%+'-]++)"
_TLD = r"(?:xn--[A-Za-z0-9-]++|[A-Za-z]{2,}+|[^\W\d_\x00-\x7f]{2,}+)"
EMAIL_TYPED = re.compile(_LOCAL + r"@(?:[\w-]++[.。])+" + _TLD)
# "bob[at]example.com", "bob (at) example (dot) com"
EMAIL_SPELLED = re.compile(
    r"(?i)(?<![\w.%+-])[\w.%+-]++ *+[\[(] *+at *+[\])] *+[\w-]++(?: *+(?:\.|[\[(] *+dot *+[\])]) *+[A-Za-z0-9-]++)++"
)

# A phone number with at least seven digits: "+" and a country code, then groups of any size
# ("+33 1 42 68 53 00", "+44 (0) 20 …"); or a national number: one run of digits, or groups
# of which all but the first have two digits or more ("8 (495) 123-45-67", "212/555/0187"),
# with one separator between groups or several spaces. Redaction then checks each candidate's
# length against phonenumbers' metadata (app/redact_numbers.py).
_SEVEN_DIGITS = r"(?=(?:[ ()\-./~,]{0,8}+[0-9]){7})"
_ANY_GROUP = r"(?:\([0-9]{1,5}\) ?)?[0-9]++"
_LONG_GROUP = r"(?:\([0-9]{1,5}\) ?)?[0-9]{2,}+"
_SEP = r"(?: {1,4}+| ?[-./~] ?|,|(?=\())"  # or none before a bracket: "+44(0)20"
_INTERNATIONAL = r"\+ ?" + _SEVEN_DIGITS + _ANY_GROUP + r"(?:" + _SEP + _ANY_GROUP + r")*+"
_NATIONAL = (
    _SEVEN_DIGITS + r"(?:[0-9]{7,}+|\([0-9]{1,5}\) ?[0-9]{2,}+(?:" + _SEP + _LONG_GROUP + r")*+"
    r"|[0-9]{1,5}+(?:" + _SEP + _LONG_GROUP + r")++)"
)
# No start right after a digit and a separator: that is the tail of a longer dotted or hyphenated
# number whose head is no phone ("10.0.19045.3803", "ISBN 978-3-16-148410-0"). A placeholder's
# "]" counts as the digit it replaced, so that a second pass finds nothing new.
PHONE_TYPED = re.compile(r"(?<![0-9A-Za-z+\]])(?<![0-9\]][-.,/~])(?:" + _INTERNATIONAL + "|" + _NATIONAL + ")")

"""When not to answer: no evidence, a question off the topic of privacy, one about a thing no
policy mentions, one asking for a figure the evidence lacks, or too little confidence."""

from __future__ import annotations

import re

from app.answer import Evidence
from app.lexical import tokenize
from app.query import QueryPlan, has_synonyms, rules
from app.snapshot import IndexSnapshot, deletions
from app.text import CJK_CHARS, is_cjk

# A name: capitalised inside the question ("PayPal", "AWS", "Hotjar"), not its first word.
_NAME = re.compile(r"(?<=[\w,;:?!)] )([A-Z][\w-]*[A-Za-z])")
# Chatty words customers use that no policy contains; their absence proves nothing.
_CASUAL = frozenset(
    tokenize(
        "stuff thing things guys like actually basically really gonna wanna yeah okay ok lol btw asap anyway "
        "tell know want wonder wondering curious quick question somebody someone something sure exactly"
    )
)
# A question has words: two letters in a row, or a Chinese character.
_WORDS = re.compile(r"[^\W\d_]{2}|[" + CJK_CHARS + "]")
_SELF_NAME = re.compile(r"\b(?:I'm|I am|my name is|this is|regards|thanks)\s*,?\s*[A-Z][a-z]+")


class AbstentionPolicy:
    """Why not to answer a question, or "" to answer it.

    ``threshold``: the confidence under which the evidence is too weak; ``rules``: the
    off-topic, unknown-name and missing-figure referrals; ``never_weak``: the plain-cosine
    baseline, which abstains only when there is no evidence at all."""

    def __init__(self, threshold: float | dict[str, float], rules: bool = True, never_weak: bool = False) -> None:
        self.threshold = threshold
        self.rules = rules
        self.never_weak = never_weak

    def reason(
        self, text: str, snapshot: IndexSnapshot, query: QueryPlan, evidence: list[Evidence], confidence: float
    ) -> str:
        if not evidence:
            return "no evidence"
        if not _WORDS.search(text):
            return "no words"  # digits, emoji, punctuation: nothing to answer
        if self.never_weak:
            return ""
        if self.rules:
            if query.off_topic:
                return "off-topic"
            if unknown := unknown_entity(text, snapshot):
                return f"unknown term {unknown!r}"
            if query.needs_number and not any(rules().cues["number"].search(e.text) for e in evidence):
                return "no figure given"
        threshold = self.threshold if isinstance(self.threshold, float) else self.threshold[query.lang]
        return "weak evidence" if confidence < threshold else ""


def unknown_entity(text: str, snapshot: IndexSnapshot) -> str:
    """A thing the question asks about that no policy mentions ("PayPal", "AWS", "bug
    bounty"): a word absent from every document that is not a misspelling of one."""
    vocab = snapshot.retriever.lexical.vocab
    for word in _NAME.findall(_SELF_NAME.sub(" ", text)):
        token = (tokenize(word) or [""])[0]
        if not token or token in vocab or token in _CASUAL or len(token) < 3 or has_synonyms(token):
            continue
        if is_cjk(token) or not token.isalpha():
            continue  # Chinese segmentation and numbers make poor evidence of absence
        if not deletions(token) & snapshot.near_vocab:
            return token
    return ""

"""When not to answer: no evidence, a question off the topic of privacy, one about a thing no
policy mentions, one asking for a figure the evidence lacks, or too little confidence."""

from __future__ import annotations

import re

from app.answer import Evidence
from app.decision import DecisionModel, IntentScores, Signals
from app.lexical import tokenize
from app.query import QueryPlan, has_synonyms, rules
from app.snapshot import IndexSnapshot, deletions
from app.text import CJK_CHARS, is_cjk

# A name: capitalised inside the question ("PayPal", "AWS", "Hotjar"), not its first word.
_NAME = re.compile(r"(?<=[\w,;:?!)] )([A-Z][\w-]*[A-Za-z])")
# A question has words: two letters in a row, or a Chinese character.
_WORDS = re.compile(r"[^\W\d_]{2}|[" + CJK_CHARS + "]")
_SELF_NAME = re.compile(r"\b(?:I'm|I am|my name is|this is|regards|thanks)\s*,?\s*[A-Z][a-z]+")


class AbstentionPolicy:
    """Why not to answer a question, or "" to answer it.

    ``decision``: the learned model that weighs every signal (app/decision.py); without one,
    ``threshold`` (the confidence under which the evidence is too weak) and ``rules`` (the
    off-topic, unknown-name and missing-figure referrals) decide, as before it was fitted;
    ``never_weak``: the plain-cosine baseline, which abstains only when there is no evidence."""

    def __init__(
        self,
        threshold: float | dict[str, float],
        rules: bool = True,
        never_weak: bool = False,
        decision: DecisionModel | None = None,
    ) -> None:
        self.threshold = threshold
        self.rules = rules
        self.never_weak = never_weak
        self.decision = decision

    def signals(
        self,
        text: str,
        snapshot: IndexSnapshot,
        query: QueryPlan,
        evidence: list[Evidence],
        confidence: float,
        intent: IntentScores | None = None,
    ) -> Signals:
        """What the decision weighs for this question and its chosen sentences."""
        cues = rules().cues
        return Signals(
            p_answerable=confidence,
            intent=intent,
            shopping_cue=bool(cues["shopping"].search(text)),
            privacy_cue=bool(cues["privacy"].search(text)),
            unknown_name=unknown_entity(text, snapshot),
            no_figure=query.needs_number and not any(cues["number"].search(e.text) for e in evidence),
        )

    def reason(
        self,
        text: str,
        snapshot: IndexSnapshot,
        query: QueryPlan,
        evidence: list[Evidence],
        confidence: float,
        intent: IntentScores | None = None,
        signals: Signals | None = None,
    ) -> str:
        """``signals``: those of ``self.signals`` for the same arguments, when already computed."""
        if not evidence:
            return "no evidence"
        if not _WORDS.search(text):
            return "no words"  # digits, emoji, punctuation: nothing to answer
        if self.never_weak:
            return ""
        signals = signals or self.signals(text, snapshot, query, evidence, confidence, intent)
        decision = self.decision
        if decision is not None and (intent is not None or not decision.needs_intent):
            return "" if decision.probability(signals) >= decision.threshold else signals.refusal()
        if self.rules:
            if query.off_topic:
                return "off-topic"
            if signals.unknown_name:
                return f"unknown term {signals.unknown_name!r}"
            if signals.no_figure:
                return "no figure given"
        threshold = self.threshold if isinstance(self.threshold, float) else self.threshold[query.lang]
        return "weak evidence" if confidence < threshold else ""


def unknown_entity(text: str, snapshot: IndexSnapshot) -> str:
    """A thing the question asks about that no policy mentions ("PayPal", "AWS", "bug
    bounty"): a word absent from every document that is not a misspelling of one."""
    vocab = snapshot.retriever.lexical.vocab
    for word in _NAME.findall(_SELF_NAME.sub(" ", text)):
        token = (tokenize(word) or [""])[0]
        if not token or token in vocab or token in rules().casual or len(token) < 3 or has_synonyms(token):
            continue
        if is_cjk(token) or not token.isalpha():
            continue  # Chinese segmentation and numbers make poor evidence of absence
        if not deletions(token) & snapshot.near_vocab:
            return token
    return ""

"""When not to answer: no evidence, a question off the topic of privacy, one about a thing no
policy mentions, one asking for a figure the evidence lacks, or too little confidence."""

from __future__ import annotations

import re
from collections.abc import Callable

from app.decision import DecisionModel, IntentScores, Signals
from app.query import has_synonyms, rules
from app.snapshot import IndexSnapshot, deletions
from app.stages import Chosen, Lookup
from app.text import CJK_CHARS, is_cjk
from app.text.lexical import tokenize
from app.text.patterns import FIGURE

# A name: capitalised inside the question ("PayPal", "AWS", "Hotjar"), not its first word.
_NAME = re.compile(r"(?<=[\w,;:?!)] )([A-Z][\w-]*[A-Za-z])")
# A question has words: two letters in a row, or a Chinese character.
_WORDS = re.compile(r"[^\W\d_]{2}|[" + CJK_CHARS + "]")
_SELF_NAME = re.compile(r"\b(?:I'm|I am|my name is|this is|regards|thanks)\s*,?\s*[A-Z][a-z]+")


class AbstentionPolicy:
    """Why not to answer a question, or "" to answer it.

    ``decision``: the learned model that weighs every signal (app/decision.py); without one,
    ``weak_below`` (the chooser's confidence under which the evidence is too weak; None: never
    too weak, the plain-cosine baseline) and ``rules`` (the off-topic, unknown-name and
    missing-figure referrals) decide, as before it was fitted."""

    def __init__(
        self,
        weak_below: Callable[[str], float | None],
        rules: bool = True,
        decision: DecisionModel | None = None,
    ) -> None:
        self.weak_below = weak_below
        self.rules = rules
        self.decision = decision

    def signals(self, lookup: Lookup, chosen: Chosen, intent: IntentScores | None = None) -> Signals:
        """What the decision weighs for this question and its chosen sentences."""
        cues = rules().cues
        text = lookup.text
        return Signals(
            p_answerable=chosen.confidence,
            intent=intent,
            shopping_cue=bool(cues["shopping"].search(text)),
            privacy_cue=bool(cues["privacy"].search(text)),
            unknown_name=unknown_entity(text, lookup.snapshot),
            no_figure=lookup.query.needs_number and not any(FIGURE.search(e.text) for e in chosen.evidence),
        )

    def reason(
        self, lookup: Lookup, chosen: Chosen, intent: IntentScores | None = None, signals: Signals | None = None
    ) -> str:
        """``signals``: those of ``self.signals`` for the same arguments, when already computed."""
        if not chosen.evidence:
            return "no evidence"
        if not _WORDS.search(lookup.text):
            return "no words"  # digits, emoji, punctuation: nothing to answer
        threshold = self.weak_below(lookup.query.lang)
        if threshold is None:
            return ""
        signals = signals or self.signals(lookup, chosen, intent)
        decision = self.decision
        if decision is not None and (intent is not None or not decision.needs_intent):
            return "" if decision.probability(signals) >= decision.threshold else signals.refusal()
        if self.rules:
            if lookup.query.off_topic:
                return "off-topic"
            if signals.unknown_name:
                return f"unknown term {signals.unknown_name!r}"
            if signals.no_figure:
                return "no figure given"
        return "weak evidence" if chosen.confidence < threshold else ""


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

"""The answer's short lead: the part of the cited sentence that answers, found by the reader.

`Reader` wraps the extractive QA model trained by `privacy-assistant train reader`
(models/privacy-reader). Given a question and the cited sentence it returns a span of that
sentence, so the lead is always a verbatim quote, never an invention, and a probability;
`find` returns it only at or above the threshold chosen when the model was trained (on
held-out validation policies). A span that would drop a negation just before it ("we do
**not** sell …") is widened to include it.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.answer import Lead
from app.errors import InputError
from app.text import is_cjk

log = logging.getLogger(__name__)

# Where `train reader` writes and where the app looks. No reader ships: the one trained here did
# not reach the bar for showing leads (README, "Models and training"); train one to try it.
READER_DIR = Path(__file__).resolve().parents[1] / "models" / "privacy-reader"
MAX_SPAN_TOKENS = 40
_NEGATION = re.compile(r"\b(?:not|never|no|nor|neither|without|cannot|n't)\b|不|没有|无|未|非", re.IGNORECASE)
_AUXILIARY = re.compile(
    r"\b(?:do|does|did|will|would|can|could|may|might|shall|should|must|is|are|was|were|have|has|had)\s+$", re.I
)
_LEFT_TRIM = " \t,;:.)]”\"'—-，；：。、）"
_RIGHT_TRIM = " \t,;:([“\"'—-，；：、（"


@dataclass(frozen=True)
class Span:
    text: str
    start: int  # character offsets in the sentence
    end: int
    probability: float


class Reader:
    """The QA model on CPU, loaded offline from ``folder``; thread-safe."""

    def __init__(self, folder: Path, threshold: float | None = None) -> None:
        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        if not (folder / "config.json").is_file():
            raise InputError(f"{folder}: no reader model here (`privacy-assistant train reader` makes one)")
        self.folder = folder
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.model = AutoModelForQuestionAnswering.from_pretrained(
            str(folder), local_files_only=True, dtype=torch.float32
        ).eval()
        if threshold is None:
            record = json.loads((folder / "training.json").read_text(encoding="utf-8"))
            threshold = float(record["threshold"])
        self.threshold = threshold
        self._lock = threading.Lock()

    def span(self, question: str, sentence: str) -> Span | None:
        """The most probable answer span of ``sentence`` (None when there is no proper part of
        it: a span of one word, or nearly the whole sentence)."""
        import torch

        enc = self.tokenizer(
            question, sentence, truncation="only_second", max_length=256, return_offsets_mapping=True,
            return_tensors="pt",
        )  # fmt: skip
        offsets = enc.pop("offset_mapping")[0].tolist()
        with self._lock, torch.inference_mode():
            out = self.model(**enc)
        seq = enc.sequence_ids(0)
        context = [j for j, s in enumerate(seq) if s == 1]
        if not context:
            return None
        start_lp = torch.log_softmax(out.start_logits[0], -1).tolist()
        end_lp = torch.log_softmax(out.end_logits[0], -1).tolist()
        best = (-1e9, 0, 0)
        for a in sorted(context, key=lambda j: -start_lp[j])[:20]:
            for b in sorted(context, key=lambda j: -end_lp[j])[:20]:
                if a <= b < a + MAX_SPAN_TOKENS and start_lp[a] + end_lp[b] > best[0]:
                    best = (start_lp[a] + end_lp[b], a, b)
        score, a, b = best
        return _tidy(sentence, offsets[a][0], offsets[b][1], math.exp(score))

    def find(self, question: str, sentence: str, threshold: float | None = None) -> Span | None:
        """The lead, when the reader is confident enough to show it (at ``threshold``, by
        default the one chosen when it was trained)."""
        lead = self.span(question, sentence)
        wanted = self.threshold if threshold is None else threshold
        return lead if lead is not None and lead.probability >= wanted else None


def _tidy(sentence: str, start: int, end: int, probability: float) -> Span | None:
    """Widen to whole words and over a negation just before; trim punctuation at the edges;
    refuse what is not a proper, several-word part of the sentence."""
    while start > 0 and sentence[start - 1].isalnum() and sentence[start].isalnum():
        start -= 1
    while end < len(sentence) and sentence[end - 1].isalnum() and sentence[end].isalnum():
        end += 1
    near = max(0, start - 25)
    negations = list(_NEGATION.finditer(sentence, near, start))
    if negations:  # "we do not sell": the lead keeps "do not"
        neg_start = negations[-1].start()
        before = max(0, neg_start - 12)
        aux = _AUXILIARY.search(sentence[before:neg_start])
        start = before + aux.start() if aux else neg_start
    text = sentence[start:end]
    start += len(text) - len(text.lstrip(_LEFT_TRIM))
    end -= len(text) - len(text.rstrip(_RIGHT_TRIM))
    text = sentence[start:end]
    if (len(text) < 6 if is_cjk(text) else len(text.split()) < 2) or len(text) > 0.8 * len(sentence.strip()):
        return None
    return Span(text, start, end, round(probability, 4))


_loading = threading.Lock()  # two first questions at once load the model once


def shared_reader(folder: Path = READER_DIR) -> Reader | None:
    """One reader per process and folder, loaded on first use (None when the folder holds no
    model: no leads, logged once); every assistant of the process shares it."""
    with _loading:
        return _load_reader(folder)


@cache
def _load_reader(folder: Path) -> Reader | None:
    try:
        return Reader(folder)
    except (InputError, OSError, ValueError, KeyError) as exc:
        log.info("no answer leads: %s", exc)
        return None


def placed(span: Span, n: int, sentence_start: int) -> Lead:
    """The answer's lead: the span, its citation and its offsets in the document."""
    return Lead(span.text, n, sentence_start + span.start, sentence_start + span.end, span.probability)

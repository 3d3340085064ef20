"""One code path for a customer's question, whether it comes from the chat or the `/ask` API:
the length limit, redaction, the rate limit, the policy chosen, follow-ups, a typed card
number, the language model when configured, errors mapped to messages, and the record kept."""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.answer import Answer
from app.errors import InputError
from app.feedback import FeedbackStore
from app.followup import rewrite_followup
from app.redact import CARD, CARD_REQUEST, PLACEHOLDERS, redact
from app.render import TEXT
from app.text import REGION_WORDS, clean_input, language_of
from app.web.guards import RATE_LIMITED, RateLimiter

if TYPE_CHECKING:
    from app.assistant import Assistant
    from app.llm import LLMAnswerer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    """The language model's reply so far, before it is checked against the policies."""

    text: str
    lang: str
    said: str


@dataclass(frozen=True)
class CustomerReply:
    """The outcome of one customer question. ``answer`` None: not answered, and ``message``
    (in the customer's language) says why; ``error`` is the same for an API caller."""

    lang: str
    answer: Answer | None = None
    message: str = ""
    error: str = ""
    redacted: tuple[str, ...] = ()  # the kinds of personal data removed ("card", "email", ...)
    had_card: bool = False
    said: str = ""  # what the customer typed, redacted ("" when nothing of it is kept)
    question: str = ""  # the question as answered (a follow-up is rewritten in full)
    asked: str = ""  # the same, only when it was rewritten
    topic: str = ""  # the conversation's topic after this turn
    rate_limited: bool = False


class CustomerService:
    """Answers customers. The chat passes its conversation's topic (follow-ups); the API does not."""

    def __init__(
        self,
        assistant: Assistant,
        store: FeedbackStore,
        limiter: RateLimiter | None = None,
        llm: LLMAnswerer | None = None,
    ) -> None:
        self.assistant = assistant
        self.store = store
        self.limiter = limiter
        self.llm = llm

    def turn(
        self, message: object, doc_id: str = "", client: str = "", topic: str = ""
    ) -> Iterator[Draft | CustomerReply]:
        """One question as events: the language model's draft so far (only with an LLM), then
        the `CustomerReply`."""
        limit = self.assistant.config.max_question_chars
        text = clean_input(message if isinstance(message, str) else "")
        if len(text) > limit:  # checked first: redacting a megabyte is not free, and it is not kept
            lang = language_of(text[:400])
            error = f"question is over the {limit:,}-character limit"
            yield CustomerReply(lang, message=TEXT[lang]["too_long"], error=error)
            return
        red = redact(text)
        lang = language_of(red.text)
        said = red.text.strip()
        kinds = tuple(red.kinds)
        base = CustomerReply(lang, redacted=kinds, had_card=red.had_card, said=said, question=said, topic=topic)
        if self.limiter is not None and not self.limiter.allow(client):
            log.info("customer question refused: rate limit")
            yield _refused(base, RATE_LIMITED[lang], "rate limited", rate_limited=True)
            return
        leftover = red.text
        for placeholder in PLACEHOLDERS.values():
            leftover = leftover.replace(placeholder, " ")
        if not re.search(r"\w", leftover):
            yield _refused(base, TEXT[lang]["card_only" if red.had_card else "empty"], "question is empty")
            return
        catalog = self.assistant.snapshot().catalog
        if doc_id and (doc_id not in catalog or not catalog[doc_id].is_current):
            yield _refused(base, TEXT[lang]["error"], f"doc_id: unknown policy {doc_id!r}")
            return
        yield from self._answer(base, red.text, {"doc_id": doc_id} if doc_id else {}, topic)

    def _answer(
        self, base: CustomerReply, text: str, filters: dict[str, object], topic: str
    ) -> Iterator[Draft | CustomerReply]:
        catalog = self.assistant.snapshot().catalog
        follow = rewrite_followup(topic, text, REGION_WORDS | catalog.brand_names | catalog.region_names)
        try:
            if self.llm is not None:
                answer = yield from self._stream(follow.question, filters, base)
            elif base.had_card:
                answer = ask_after_card(self.assistant, follow.question, filters, base.lang)
            else:
                answer = self.assistant.ask(follow.question, filters, lang=base.lang)
        except InputError as exc:
            log.info("customer question refused: %s", exc)
            too_long = len(follow.question) > len(text)
            yield _refused(base, TEXT[base.lang]["too_long" if too_long else "empty"], str(exc))
            return
        except Exception:
            log.exception("customer question failed: %r", follow.question)
            yield _refused(base, TEXT[base.lang]["error"], "internal error")
            return
        log.info("customer asked %r (%s)", follow.question, "abstained" if answer.abstained else "answered")
        self.store.record_exchange("customer", follow.question, answer)
        asked = follow.question if follow.rewritten else ""
        yield CustomerReply(
            base.lang, answer, redacted=base.redacted, had_card=base.had_card, said=base.said,
            question=follow.question, asked=asked, topic=follow.topic,
        )  # fmt: skip

    def _stream(self, question: str, filters: dict[str, object], base: CustomerReply) -> Generator[Draft, None, Answer]:
        assert self.llm is not None
        final: Answer | None = None
        for event in self.llm.stream(question, filters):
            if isinstance(event, Answer):
                final = event
            else:
                yield Draft(event, base.lang, base.said)
        assert final is not None  # the stream ends with the answer
        return final

    def ask(self, message: object, doc_id: str = "", client: str = "") -> CustomerReply:
        """The reply alone, without drafts (the API)."""
        *_, last = self.turn(message, doc_id, client)
        assert isinstance(last, CustomerReply)
        return last


def _refused(base: CustomerReply, message: str, error: str, rate_limited: bool = False) -> CustomerReply:
    return CustomerReply(
        base.lang, None, message, error, base.redacted, base.had_card, base.said, base.question, topic=base.topic,
        rate_limited=rate_limited,
    )  # fmt: skip


def ask_after_card(assistant: Assistant, question: str, filters: dict[str, object], lang: str | None = None) -> Answer:
    """The question of a customer who just typed a card number. What they asked for is in
    their words, not in the redacted number, so the placeholder is left out of the question;
    and they are never quoted a sentence asking for card details."""
    asked = re.sub(r"\s{2,}", " ", question.replace(PLACEHOLDERS[CARD], " ")).strip() or question
    return assistant.ask(asked, filters, avoid=CARD_REQUEST, lang=lang)

"""One code path for a customer's question, whether it comes from the chat or the `/ask` API:
the length limits and the policy id checked, the rate limit, then redaction (a refused request
costs no redaction work), follow-ups, a typed card number, the language model when configured,
errors mapped to messages, the record kept, and log lines limited per client."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.answer import Answer
from app.errors import InputError
from app.feedback import FeedbackStore
from app.followup import rewrite_followup
from app.records import DocumentMeta
from app.redact import CARD, CARD_REQUEST, PLACEHOLDERS, Redaction, redact
from app.stages import Inquiry
from app.text import REGION_WORDS, clean_input, language_of
from app.web.guards import RATE_LIMITED, LogLimiter, RateLimiter
from app.web.render import TEXT

if TYPE_CHECKING:
    from app.assistant import Assistant
    from app.llm import LLMAnswerer

log = logging.getLogger(__name__)

MAX_DOC_ID_CHARS = 128  # the catalogue's ids are far shorter
LOGGED_CHARS = 200  # of a question in a log line


def bounded(field: str, value: object, limit: int) -> str:
    """The field as text (anything else: ""), or an `InputError` naming the field and its
    limit, never its value: the value may be megabytes long, or a card number."""
    text = value if isinstance(value, str) else ""
    if len(text) > limit:
        raise InputError(f"{field} is over the {limit:,}-character limit")
    return text


def checked_doc_id(value: object, catalog: Mapping[str, DocumentMeta], current_only: bool = False) -> str:
    """A policy filter: empty, or the id of a document in the catalogue (with `current_only`,
    one that has not been superseded); else an `InputError` that does not repeat it."""
    doc_id = bounded("doc_id", value, MAX_DOC_ID_CHARS)
    if doc_id and (doc_id not in catalog or (current_only and not catalog[doc_id].is_current)):
        which = "a current policy" if current_only else "a policy"
        raise InputError(f"doc_id is not the id of {which} in the catalogue")
    return doc_id


def preview(text: str) -> str:
    """A (redacted) question as a log line shows it: its start, and how much was left out."""
    return text if len(text) <= LOGGED_CHARS else f"{text[:LOGGED_CHARS]}… (+{len(text) - LOGGED_CHARS:,} chars)"


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
        log_limiter: LogLimiter | None = None,
        redactor: Callable[[str], Redaction] = redact,
    ) -> None:
        self.assistant = assistant
        self.store = store
        self.limiter = limiter
        self.llm = llm
        self.log_limiter = log_limiter if log_limiter is not None else LogLimiter()
        self.redactor = redactor

    def _log(self, client: str, level: int, msg: str, *args: object, exc_info: bool = False) -> None:
        self.log_limiter.log(log, level, client, msg, *args, exc_info=exc_info, stacklevel=3)

    def turn(
        self, message: object, doc_id: str = "", client: str = "", topic: str = "",
        filters: Mapping[str, str] | None = None, reply_lang: str = "",
    ) -> Iterator[Draft | CustomerReply]:
        """One question as events: the language model's draft so far (only with an LLM), then
        the `CustomerReply`. The REST API may add `filters` (brand, region, any version's doc_id:
        checked by the assistant) and the reply's language."""  # fmt: skip
        text = clean_input(message if isinstance(message, str) else "")
        lang = language_of(text[:400])
        try:  # the cheap checks first: nothing refused here is redacted, logged in full or kept
            text = bounded("question", text, self.assistant.config.max_question_chars)
            doc_id = checked_doc_id(doc_id, self.assistant.snapshot().catalog, current_only=True)
        except InputError as exc:
            self._log(client, logging.INFO, "customer question refused: %s", exc)
            too_long = str(exc).startswith("question")
            yield CustomerReply(lang, message=TEXT[lang]["too_long" if too_long else "error"], error=str(exc))
            return
        if self.limiter is not None and not self.limiter.allow(client):
            self._log(client, logging.INFO, "customer question refused: rate limit")
            base = CustomerReply(lang, topic=topic)
            yield _refused(base, RATE_LIMITED[lang], "rate limited", rate_limited=True)
            return
        red = self.redactor(text)
        said = red.text.strip()
        base = CustomerReply(reply_lang or language_of(red.text), redacted=tuple(red.kinds), had_card=red.had_card,
                             said=said, question=said, topic=topic)  # fmt: skip
        leftover = red.text
        for placeholder in PLACEHOLDERS.values():
            leftover = leftover.replace(placeholder, " ")
        if not re.search(r"\w", leftover):
            yield _refused(base, TEXT[base.lang]["card_only" if red.had_card else "empty"], "question is empty")
            return
        yield from self._answer(base, red.text, {**(filters or {}), **({"doc_id": doc_id} if doc_id else {})}, topic,
                                client)  # fmt: skip

    def _answer(
        self, base: CustomerReply, text: str, filters: dict[str, object], topic: str, client: str
    ) -> Iterator[Draft | CustomerReply]:
        catalog = self.assistant.snapshot().catalog
        follow = rewrite_followup(topic, text, REGION_WORDS | catalog.brand_names | catalog.region_names)
        inquiry = customer_inquiry(follow.question, filters, base.lang, base.had_card)
        try:
            if self.llm is not None:
                answer = yield from self._stream(inquiry, base)
            else:
                answer = self.assistant.answer(inquiry)
        except InputError as exc:
            self._log(client, logging.INFO, "customer question refused: %s", exc)
            too_long = len(follow.question) > len(text)
            yield _refused(base, TEXT[base.lang]["too_long" if too_long else "empty"], str(exc))
            return
        except Exception:
            self._log(client, logging.ERROR, "customer question failed: %r", preview(follow.question), exc_info=True)
            yield _refused(base, TEXT[base.lang]["error"], "internal error")
            return
        outcome = "abstained" if answer.abstained else "answered"
        self._log(client, logging.INFO, "customer asked %r (%s)", preview(follow.question), outcome)
        self.store.record_exchange("customer", follow.question, answer)
        asked = follow.question if follow.rewritten else ""
        yield CustomerReply(
            base.lang, answer, redacted=base.redacted, had_card=base.had_card, said=base.said,
            question=follow.question, asked=asked, topic=follow.topic,
        )  # fmt: skip

    def _stream(self, inquiry: Inquiry, base: CustomerReply) -> Generator[Draft, None, Answer]:
        assert self.llm is not None
        final: Answer | None = None
        for event in self.llm.stream(inquiry):
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


def customer_inquiry(question: str, filters: dict[str, object], lang: str, had_card: bool) -> Inquiry:
    """What a customer's question asks of an answerer (the extractive one or the language
    model alike). After a card number, what they asked for is in their words, not in the
    redacted number, so the placeholder is left out of the question; and they are never
    quoted a sentence asking for card details."""
    if not had_card:
        return Inquiry(question, filters, lang=lang)
    asked = re.sub(r"\s{2,}", " ", question.replace(PLACEHOLDERS[CARD], " ")).strip() or question
    return Inquiry(asked, filters, avoid=CARD_REQUEST, lang=lang)

"""From a judged question to the reply's text: a referral, a question back, or the cited
sentences completed with what they announce, the channel for a request and the source."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.answer import Choice, Citation, Evidence
from app.clarify import Clarifier
from app.compose import abstention_text, compose
from app.contacts import channel_line, exercise_request
from app.decision import Judgement
from app.references import Reference, complete_span, reference_lines, resolve_all


@dataclass(frozen=True)
class Reply:
    """What ``ask`` returns besides its records: the text, its citations and references, the
    contact offered on a referral and the topics of a question back."""

    text: str
    citations: tuple[Citation, ...] = ()
    references: tuple[Reference, ...] = ()
    contact: str = ""
    clarify: tuple[Choice, ...] = ()


def write_reply(judged: Judgement, lang: str, clarifier: Clarifier) -> Reply:
    """The reply to a judged question, in ``lang``."""
    lookup, reason = judged.lookup, judged.reason
    snapshot, query, hits = lookup.snapshot, lookup.query, lookup.retrieval.hits
    top_doc = hits[0].clause.doc_id if hits else None
    contact = snapshot.contacts.for_question(query.lang, lookup.filters, sorted(query.doc_ids or ()), top_doc)
    if reason == "vague question":
        text, choices = clarifier.ask_back(lang)
        return Reply(text, contact=contact, clarify=choices)
    if reason:
        return Reply(abstention_text(lang, contact, reason), contact=contact)
    evidence = completed(judged.chosen.evidence)
    spans = [(i, ev.start, ev.end, ev.clause) for i, ev in enumerate(evidence, 1)]
    contacts = snapshot.contacts
    references = resolve_all(spans, snapshot.catalog, contacts.sections, contacts.documents)
    given = " ".join([*(ev.text for ev in evidence), *(r.target for r in references)])
    notes = [*reference_lines(references, lang), *request_line(judged, evidence, given, lang)]
    composed = compose(evidence, snapshot.catalog, lang, notes)
    return Reply(composed.text, composed.citations, tuple(references), contact)


def completed(evidence: list[Evidence]) -> list[Evidence]:
    """Each sentence with the block it announces ("contact us at:" and the address lines after
    it), verbatim from its clause; a block already cited is not cited twice."""
    out: list[Evidence] = []
    for ev in evidence:
        end = complete_span(ev.clause, ev.start, ev.end)
        if any(o.clause.clause_id == ev.clause.clause_id and o.start <= ev.start < o.end for o in out):
            continue
        out.append(replace(ev, end=end) if end != ev.end else ev)
    return out


def request_line(judged: Judgement, evidence: list[Evidence], given: str, lang: str) -> list[str]:
    """For "how do I delete / get a copy / opt out…": where the answering policy says to write,
    unless the reply already gives it (``given``: its quotes and resolved references)."""
    right = exercise_request(judged.lookup.text)
    if right is None or not evidence:
        return []
    lead = evidence[0].clause
    found = judged.lookup.snapshot.contacts.channels_for(lead.doc_id, lead.lang, right)
    missing = [c for c in found if c not in given]
    return [channel_line(missing, lang)] if missing else []

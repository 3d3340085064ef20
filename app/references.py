"""What a cited sentence points to elsewhere, resolved from the same policy.

Policies say "contact us using the details set out below", "by clicking here", "please write
to our e-mail address below", "通过上述相同方式" ("in the same way as above"), or end a sentence
with a colon and give the address on the lines after it: quoted alone, such a sentence leads
nowhere. A citation of a sentence that announces a block carries the block (``complete_span``);
a sentence that points at a channel it does not give carries the target, taken from the policy:
the channels (e-mail, phone, web and postal addresses) of the same clause in the direction the
sentence points, else of the next clauses of its section, else of the section it names, else of
the policy's contact section in the sentence's language, else the policy's public page from the
catalogue. A sentence pointing at something that is not a channel ("the purposes set out
above") resolves nothing: a reference never invents a target.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from app.answer import Reference
from app.contacts import (
    channel_rules,
    channels,
    contact_channels,
    contact_clauses,
    contact_sections,
    request_channels,
)
from app.records import Clause, DocumentMeta
from app.text.patterns import EMAIL, URL

__all__ = [
    "LABELS",
    "Reference",
    "channels",
    "complete_span",
    "contact_sections",
    "pointer",
    "reference_lines",
    "resolve",
    "resolve_all",
]

_NEIGHBOURS = 3  # how many clauses of the same section a pointer may reach past its own
_NOT_TITLE = re.compile(r"[\s\-‐–_]+")


def complete_span(clause: Clause, start: int, end: int) -> int:
    """The end (a document offset) of a citation of the sentence ``start``–``end`` that carries
    the block the sentence announces ("contact us at:" and the address lines, "include:" and
    the list) up to a blank line, a new announcement, the clause's end or the size cap; ``end``
    when the sentence announces nothing or nothing follows it in the clause."""
    rules = channel_rules()
    text, local = clause.text, end - clause.start
    sentence = text[start - clause.start : local].rstrip()
    cue = rules.announce.search(sentence[-60:])
    if not (sentence.endswith((":", "：")) or cue):
        return end
    cursor = local + len(text[local:]) - len(text[local:].lstrip(" \t"))  # at the line break
    best, lines = local, 0
    while cursor < len(text) and text[cursor] == "\n" and lines < rules.max_lines:
        stop = text.find("\n", cursor + 1)
        stop = len(text) if stop < 0 else stop
        line = text[cursor + 1 : stop].rstrip()
        if not line.strip() or (lines and line.endswith((":", "："))) or stop - local > rules.max_chars:
            break
        best, lines, cursor = cursor + 1 + len(line), lines + 1, stop
    return clause.start + best if lines else end


def pointer(sentence: str) -> tuple[str, str] | None:
    """(kind, direction) of what the sentence points to without giving it, or None: a lost
    link ("click here" with no address after it), or a channel below or above."""
    cues = channel_rules().pointer
    if any(not URL.search(sentence, m.start()) for m in cues["link"].finditer(sentence)):
        return "link", "page"
    if not cues["touch"].search(sentence):
        return None
    for name, direction in (("backward", "back"), ("forward", "forward")):
        for m in cues[name].finditer(sentence):
            if not channels(sentence[m.start() :]):  # a channel after the pointer answers it
                return "contact", direction
    return None


def resolve(
    n: int,
    sentence_start: int,
    sentence_end: int,
    clause: Clause,
    meta: DocumentMeta | None,
    contact_section: str,
    document: Sequence[Clause] = (),
) -> Reference | None:
    """The target of citation ``n``'s pointer (its sentence is clause text between the
    document offsets ``sentence_start`` and ``sentence_end``), or None when there is none or
    nothing to point at. ``document`` (the policy's clauses in order) lets the pointer reach
    the next clauses and the sections it names; without it, ``contact_section`` answers."""
    offset = clause.start
    sentence = clause.text[sentence_start - offset : sentence_end - offset]
    full_end = complete_span(clause, sentence_start, sentence_end)
    given = set(contact_channels(clause.text[sentence_start - offset : full_end - offset]))
    found = pointer(sentence)
    if found is not None and found[0] == "link":
        url = meta.public_url if meta else ""
        return Reference(n, "link", url) if url else None
    touch = channel_rules().pointer["touch"].search(sentence)
    named = _named_section(sentence, document, clause.lang) if document and touch else None
    if named is not None:  # the sentence names the section to look in
        target = _pick(contact_channels(_joined(named)), given, sentence, nearby=False)
        if target or found is None:
            return Reference(n, "contact", target) if target else None
    if found is None and not _announces_channel(sentence, given):
        return None
    back = found is not None and found[1] == "back"
    for channels_found, nearby in _candidates(clause, sentence_start, full_end, document, back):
        if target := _pick(channels_found, given, sentence, nearby):
            return Reference(n, "contact", target)
    if contact_section and not document:
        return Reference(n, "contact", contact_section)
    url = meta.public_url if meta else ""
    return Reference(n, "page", url) if url else None


def _candidates(
    clause: Clause, start: int, end: int, document: Sequence[Clause], back: bool
) -> Iterator[tuple[tuple[str, ...], bool]]:
    """Where a pointer's channels may be, nearest first, each with whether it is next to the
    sentence: its clause in the pointed direction, the next clauses of its section, the
    policy's contact section, the channels the policy gives for requests."""
    offset = clause.start
    if back:
        yield contact_channels(clause.text[: start - offset])[-3:], True
    else:
        yield contact_channels(clause.text[end - offset :])[:3], True
    yield contact_channels(_joined(list(_neighbours(clause, document, back)))), True
    if document:
        yield contact_channels(_joined(contact_clauses(document, clause.lang))), False
        yield request_channels(document, clause.lang), False


def _announces_channel(sentence: str, given: set[str]) -> bool:
    """A sentence ending in a colon about getting in touch whose block, in its clause, gives no
    channel ("For any request … through Our Client Relations Center:")."""
    return (
        sentence.rstrip().endswith((":", "："))
        and not given
        and bool(channel_rules().pointer["touch"].search(sentence))
    )


def _pick(found: Sequence[str], given: set[str], sentence: str, nearby: bool) -> str:
    """The channels not already in the quote, joined; only the e-mail addresses when the
    sentence asks for an e-mail ("e-mailing the address below") and there are some; a web
    address next to the sentence only when it asks for a page ("visit", "online form")."""
    cues = channel_rules().pointer
    fresh = [c for c in found if c not in given]
    if nearby and not cues["web"].search(sentence):
        fresh = [c for c in fresh if not URL.fullmatch(c)]
    if cues["email"].search(sentence):
        fresh = [c for c in fresh if EMAIL.fullmatch(c)] or fresh
    return "; ".join(fresh)


def _neighbours(clause: Clause, document: Sequence[Clause], back: bool) -> Iterator[Clause]:
    """The clauses next to ``clause`` in the pointed direction, while they stay in its section
    (its subsections too, going forward) and language."""
    ids = [c.clause_id for c in document]
    if clause.clause_id not in ids:
        return
    i, step = ids.index(clause.clause_id), -1 if back else 1
    for k in range(1, _NEIGHBOURS + 1):
        j = i + k * step
        if not 0 <= j < len(document):
            return
        other = document[j]
        inside = other.section == clause.section or (
            not back and other.section[: len(clause.section)] == clause.section
        )
        if other.lang != clause.lang or not inside:
            return
        yield other


def _named_section(sentence: str, document: Sequence[Clause], lang: str) -> list[Clause] | None:
    """The clauses of the section the sentence names ("the section headed “Contact us”",
    "the Opt-in and Opt-out section above"), or None when it names none of the policy's."""
    rules = channel_rules()
    for m in rules.pointer["section"].finditer(sentence):
        name = next(g for g in m.groups() if g)
        if rules.contact_section.search(name.strip()):
            return contact_clauses(document, lang)
        key = _title_key(name)
        found = [c for c in document if any(_same_title(key, _title_key(t)) for t in c.section)]
        if found:
            return found
    return None


def _title_key(title: str) -> str:
    return _NOT_TITLE.sub(" ", title.lower()).strip()


def _same_title(named: str, title: str) -> bool:
    return bool(title) and (named == title or (len(title) >= 4 and title in named))


def _joined(clauses: Sequence[Clause]) -> str:
    return "\n".join(c.text for c in clauses)


LABELS = {
    "en": {
        "contact": "Contact details given in the policy",
        "link": "The link is on the policy's page",
        "page": "The contact details are on the policy's page",
    },
    "zh": {"contact": "政策中给出的联系方式", "link": "链接见政策页面", "page": "联系方式见政策页面"},
}


def reference_lines(references: Sequence[Reference], lang: str) -> list[str]:
    """One line per distinct target: "Contact details given in the policy: privacy@… [1]"."""
    labels = LABELS["zh" if lang == "zh" else "en"]
    colon = "：" if lang == "zh" else ": "
    lines: list[str] = []
    for kind in ("contact", "link", "page"):
        by_target: dict[str, list[int]] = {}
        for r in references:
            if r.kind == kind:
                by_target.setdefault(r.target, []).append(r.n)
        for target, ns in by_target.items():
            lines.append(f"{labels[kind]}{colon}{target} " + "".join(f"[{n}]" for n in ns))
    return lines


def resolve_all(
    evidence: Sequence[tuple[int, int, int, Clause]],
    metas: Mapping[str, DocumentMeta],
    contacts: Mapping[tuple[str, str], str],
    documents: Mapping[str, Sequence[Clause]] | None = None,
) -> list[Reference]:
    """References of the cited sentences (n, start, end, clause), best first. ``documents``
    (doc_id → its clauses in order, ``ContactDirectory.documents``) lets pointers reach past
    their own clause; ``contacts`` answers for a policy without it."""
    out = []
    for n, start, end, clause in evidence:
        section = contacts.get((clause.doc_id, clause.lang)) or contacts.get((clause.doc_id, "en"), "")
        document = (documents or {}).get(clause.doc_id, ())
        if (ref := resolve(n, start, end, clause, metas.get(clause.doc_id), section, document)) is not None:
            out.append(ref)
    return out

"""What a cited sentence points to elsewhere, resolved from the same policy.

Policies say "contact us using the details set out below", "by clicking here", "please write
to our e-mail address below", "通过上述相同方式" ("in the same way as above"): quoted alone,
the pointer leads nowhere. When a cited sentence points at a contact channel or a link it
does not itself give, the answer carries the target, taken from the policy: the channels
(e-mail addresses, phone numbers, web addresses) of the same clause in the direction the
sentence points, else of the policy's contact section; a link that the text lost (the page
said "click here") becomes the policy's public page from the catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.normalize import PLACEHOLDER_LINK
from app.records import Clause, DocumentMeta
from app.text import EMAIL

URL = re.compile(r"https?://[^\s)<>\"'，。；]+[^\s)<>\"'，。；.,;:]")
PHONE = re.compile(r"\+?\d[\d ()./-]{6,}\d|\+1 800 [A-Z]{4,}(?: \([^)]*\))?|\b\d{3}-\d{3}-\d{4}\b")

# A pointer to a channel elsewhere: a way of getting in touch with a direction word, or a
# reference to the contact section. Directions: "below"/"以下"/"下方" point forward,
# "above"/"上述"/"前述" back.
_CONTACT_WORDS = (
    r"(?:contact(?:ing)?|write|writing|e-?mail(?:ing)?|call(?:ing)?|reach(?:ing)?|details|address|channels?)"
)
_FORWARD = re.compile(
    rf"\b{_CONTACT_WORDS}\b[^.;]{{0,60}}\b(?:below|as follows|following)\b"
    r"|section (?:headed|entitled|titled) [\"'“‘]?contact|“联系我们”|「联系我们」|联系我们章节"
    r"|(?:以下|下方|如下)(?:的)?(?:联系)?(?:方式|渠道|地址|电话|邮箱)",
    re.IGNORECASE,
)
_BACKWARD = re.compile(
    rf"\b{_CONTACT_WORDS}\b[^.;]{{0,60}}\babove\b|(?:上述|前述|上文)(?:相同)?(?:的)?(?:联系)?(?:方式|渠道|地址|电话|邮箱)",
    re.IGNORECASE,
)
_LINK = re.compile(
    rf"\bclick(?:ing)? here\b|\bthis link\b|{re.escape(PLACEHOLDER_LINK)}|点击(?:此处|这里)|此链接", re.IGNORECASE
)


@dataclass(frozen=True)
class Reference:
    """A cited sentence's pointer and what it points to."""

    n: int  # the citation
    kind: str  # "contact" or "link"
    target: str  # the channels or the address, verbatim from the policy or the catalogue


def channels(text: str) -> list[str]:
    """E-mail addresses, web addresses and phone numbers in ``text``, in order, once each."""
    found: list[tuple[int, str]] = []
    for pattern in (EMAIL, URL, PHONE):
        for m in pattern.finditer(text):
            value = m.group(0).strip()
            if pattern is PHONE and (re.fullmatch(r"[\d ]{1,8}", value) or _inside(m.start(), found)):
                continue
            found.append((m.start(), value))
    seen: list[str] = []
    for _, value in sorted(found):
        if value not in seen and not any(value in other for other in seen):
            seen.append(value)
    return seen


def _inside(pos: int, found: list[tuple[int, str]]) -> bool:
    return any(start <= pos < start + len(value) for start, value in found)


def pointer(sentence: str) -> tuple[str, str] | None:
    """(kind, direction) of what the sentence points to without giving it, or None."""
    if _LINK.search(sentence) and not URL.search(sentence):
        return "link", "page"
    if channels(sentence):
        return None  # it gives its own channel
    if _BACKWARD.search(sentence):
        return "contact", "back"
    if _FORWARD.search(sentence):
        return "contact", "forward"
    return None


def resolve(
    n: int,
    sentence_start: int,
    sentence_end: int,
    clause: Clause,
    meta: DocumentMeta | None,
    contact_section: str,
) -> Reference | None:
    """The target of citation ``n``'s pointer (its sentence is clause text between the
    document offsets ``sentence_start`` and ``sentence_end``), or None when there is none or
    nothing to point at."""
    offset = clause.start
    sentence = clause.text[sentence_start - offset : sentence_end - offset]
    found = pointer(sentence)
    if found is None:
        return None
    kind, direction = found
    if kind == "link":
        url = meta.public_url if meta else ""
        return Reference(n, "link", url) if url else None
    before, after = clause.text[: sentence_start - offset], clause.text[sentence_end - offset :]
    near = channels(before)[-3:] if direction == "back" else channels(after)[:3]
    target = ", ".join(near) or contact_section
    return Reference(n, "contact", target) if target else None


LABELS = {
    "en": {"contact": "Contact details given in the policy", "link": "The link is on the policy's page"},
    "zh": {"contact": "政策中给出的联系方式", "link": "链接见政策页面"},
}


def reference_lines(references: Sequence[Reference], lang: str) -> list[str]:
    """One line per distinct target: "Contact details given in the policy: privacy@… [1]"."""
    labels = LABELS["zh" if lang == "zh" else "en"]
    colon = "：" if lang == "zh" else ": "
    lines: list[str] = []
    for kind in ("contact", "link"):
        by_target: dict[str, list[int]] = {}
        for r in references:
            if r.kind == kind:
                by_target.setdefault(r.target, []).append(r.n)
        for target, ns in by_target.items():
            lines.append(f"{labels[kind]}{colon}{target} " + "".join(f"[{n}]" for n in ns))
    return lines


def contact_sections(clauses: Sequence[Clause]) -> dict[tuple[str, str], str]:
    """The channels of each document's contact section, per (doc_id, language)."""
    found: dict[tuple[str, str], list[str]] = {}
    for clause in clauses:
        title = clause.section_title.lower()
        if "contact" not in title and "联系我们" not in title:
            continue
        items = found.setdefault((clause.doc_id, clause.lang), [])
        # e-mail addresses first, then phone numbers (a web address is not a way to write in)
        for match in [*EMAIL.findall(clause.text), *(m.strip() for m in PHONE.findall(clause.text))]:
            if match not in items and not re.fullmatch(r"[\d ]{1,8}", match):
                items.append(match)
    return {k: ", ".join(v[:3]) for k, v in found.items() if v}


def resolve_all(
    evidence: Sequence[tuple[int, int, int, Clause]],
    metas: Mapping[str, DocumentMeta],
    contacts: Mapping[tuple[str, str], str],
) -> list[Reference]:
    """References of the cited sentences (n, start, end, clause), best first."""
    out = []
    for n, start, end, clause in evidence:
        section = contacts.get((clause.doc_id, clause.lang)) or contacts.get((clause.doc_id, "en"), "")
        if (ref := resolve(n, start, end, clause, metas.get(clause.doc_id), section)) is not None:
            out.append(ref)
    return out

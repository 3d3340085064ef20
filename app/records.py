"""Typed, frozen records passed between pipeline stages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from app.errors import InputError


@dataclass(frozen=True)
class DocumentMeta:
    """What is known about one policy version besides its text."""

    doc_id: str
    title: str = ""
    brand: str = ""
    region: str = ""
    languages: tuple[str, ...] = ()
    effective_date: str = ""
    superseded_by: str = ""
    source_url: str = ""  # where the text was taken from (may be a web-archive snapshot)
    public_url: str = ""  # the policy's public page, for links a customer or agent can send
    label: str = ""  # how customers name it: "Cartier — worldwide"
    label_zh: str = ""  # the same in Chinese: "卡地亚 — 全球"
    title_zh: str = ""  # the title shown in Chinese answers
    aliases: tuple[str, ...] = ()  # other names of the brand, any language ("卡地亚")
    region_names: tuple[str, ...] = ()  # words that name its region in a question ("China", "中国")
    regional: bool = False  # applies only in its region: used when named or asked in its language

    def display_title(self, lang: str = "en") -> str:
        """The title in the reader's language where the catalogue gives one."""
        return (self.title_zh if lang == "zh" and self.title_zh else self.title) or self.doc_id

    def display_label(self, lang: str = "en") -> str:
        """The customer's name for this policy, falling back to brand and region, then title."""
        chosen = self.label_zh if lang == "zh" and self.label_zh else self.label
        if chosen:
            return chosen
        bits = [b for b in (self.brand, self.region) if b]
        return " — ".join(bits) if bits else self.display_title(lang)

    @property
    def is_current(self) -> bool:
        return not self.superseded_by


@dataclass(frozen=True)
class Document:
    """A policy version: its metadata and its normalised text (what offsets refer to)."""

    meta: DocumentMeta
    text: str
    sha256: str  # of the raw file bytes: decides whether re-ingest must re-embed
    path: str = ""

    @property
    def doc_id(self) -> str:
        return self.meta.doc_id


@dataclass(frozen=True)
class Span:
    """A sentence as character offsets into its document's normalised text."""

    start: int
    end: int


@dataclass(frozen=True)
class Clause:
    """A retrievable, citable unit: one clause of one document, with its place in it."""

    doc_id: str
    clause_id: str
    section: tuple[str, ...]
    text: str
    lang: str
    start: int
    end: int
    sentences: tuple[Span, ...] = field(default_factory=tuple)

    @property
    def section_title(self) -> str:
        return " › ".join(self.section)

    def slice(self, start: int, end: int) -> str:
        """The clause's text between two document offsets (a sentence, a cited part)."""
        return self.text[start - self.start : end - self.start]

    def sentence_text(self, j: int) -> str:
        """The text of the clause's ``j``-th sentence."""
        return self.slice(self.sentences[j].start, self.sentences[j].end)

    def sentence_texts(self) -> list[str]:
        return [self.slice(s.start, s.end) for s in self.sentences]

    def embed_text(self) -> str:
        """Text the embedder sees: the section path gives short clauses their context."""
        return f"{self.section_title}\n{self.text}" if self.section else self.text


@dataclass(frozen=True)
class Filters:
    """Metadata filters; every given field must match."""

    doc_id: str | None = None
    brand: str | None = None
    region: str | None = None
    lang: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> Filters:
        """Validate a contract ``filters`` object; unknown fields are named in the error."""
        data = data or {}
        known = {f.name for f in fields(cls)}
        for key, value in data.items():
            if key not in known:
                raise InputError(f"filters: unknown field {key!r} (known: {', '.join(sorted(known))})")
            if value is not None and not isinstance(value, str):
                raise InputError(f"filters: field {key!r} must be a string")
        return cls(**{k: v for k, v in data.items() if v not in (None, "")})  # type: ignore[arg-type]

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

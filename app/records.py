"""Typed, frozen records passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    source_url: str = ""

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

    def embed_text(self) -> str:
        """Text the embedder sees: the section path gives short clauses their context."""
        return f"{self.section_title}\n{self.text}" if self.section else self.text

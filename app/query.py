"""Understanding a question before retrieval: language, scope, comparison, topic.

The word lists are data (app/data/query.toml), read on first use: a small privacy glossary
for query expansion (customers say "abroad", policies say "transferred internationally";
Chinese customers say 国外, the policy says 境外/跨境) and cues (a comparison, an older
version, shopping words, a question asking for a figure) that the learned models weigh.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from app.catalog import Catalog
from app.errors import InputError
from app.text import YEAR, language_of
from app.text.lexical import tokenize


@dataclass(frozen=True)
class QueryRules:
    """The data of app/data/query.toml, compiled: glossary tables and cue patterns."""

    expansion: dict[str, set[str]]  # a token → its glossary equivalents (itself included)
    zh_to_en: dict[str, set[str]]  # a Chinese token → the English words policies use for it
    cues: dict[str, re.Pattern[str]]  # compare, change, old, shopping, privacy, asks_number
    answer_types: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]  # (asks, shape)
    casual: frozenset[str] = frozenset()  # chatty tokens no policy contains (never an unknown name)

    @classmethod
    def load(cls, path: Path | None = None) -> QueryRules:
        """Read and compile a rules file (default: the packaged one); a bad one names itself."""
        where = str(path) if path else "app/data/query.toml"
        try:
            raw = (
                path.read_text(encoding="utf-8")
                if path
                else resources.files("app").joinpath("data/query.toml").read_text(encoding="utf-8")
            )
            data = tomllib.loads(raw)
            expansion: dict[str, set[str]] = {}
            for group in data["glossary"]:
                toks = {t for w in group.split() for t in tokenize(w)}
                for t in toks:
                    expansion.setdefault(t, set()).update(toks)
            zh_to_en: dict[str, set[str]] = {}
            for zh, en in data["bilingual"]:
                for t in {t for w in zh.split() for t in tokenize(w)}:
                    zh_to_en.setdefault(t, set()).update(tokenize(en))
            cues = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in data["cues"].items()}
            types = tuple(
                (re.compile(t["asks"], re.IGNORECASE), re.compile(t["shape"], re.IGNORECASE))
                for t in data["answer_type"]
            )
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, re.error) as exc:
            raise InputError(f"{where}: not a query rules file ({type(exc).__name__}: {exc})") from None
        missing = {"compare", "change", "old", "shopping", "privacy", "asks_number"} - cues.keys()
        if missing:
            raise InputError(f"{where}: [cues] lacks {', '.join(sorted(missing))}")
        return cls(expansion, zh_to_en, cues, types, frozenset(tokenize(str(data.get("casual", "")))))


@lru_cache(maxsize=1)
def rules() -> QueryRules:
    """The packaged rules, read on first use."""
    return QueryRules.load()


def in_english(tokens: list[str]) -> list[str]:
    """The tokens plus the English words policies use for their Chinese ones (each once)."""
    return _with_equivalents(tokens, rules().zh_to_en)


def answer_shape(question: str) -> re.Pattern[str] | None:
    """For "how long", "which e-mail", "how old" questions: the shape of an answering sentence."""
    for asks, shape in rules().answer_types:
        if asks.search(question):
            return shape
    return None


@dataclass(frozen=True)
class QueryPlan:
    """What retrieval and composition need to know about one question."""

    text: str
    lang: str
    tokens: list[str]  # for BM25: content tokens and their glossary equivalents
    terms: list[str]  # the question's own content tokens
    doc_ids: frozenset[str] | None  # documents the question names; None: any current one
    compare: bool
    off_topic: bool
    shape: re.Pattern[str] | None = None
    needs_number: bool = False  # "how many days…": an answer without a figure is no answer


def synonyms(token: str) -> set[str]:
    """The token and its glossary equivalents."""
    return rules().expansion.get(token, set()) | {token}


def has_synonyms(token: str) -> bool:
    """Whether the glossary knows the token (so it is a privacy word, whatever the corpus says)."""
    return token in rules().expansion


def expand(tokens: list[str]) -> list[str]:
    """The question's tokens plus their glossary equivalents (each added once)."""
    return _with_equivalents(tokens, rules().expansion)


def _with_equivalents(tokens: list[str], table: dict[str, set[str]]) -> list[str]:
    """The tokens, then each one's equivalents from ``table`` not already there, in order."""
    out = list(tokens)
    seen = set(tokens)
    for t in tokens:
        for extra in sorted(table.get(t, ())):
            if extra not in seen:
                seen.add(extra)
                out.append(extra)
    return out


def content_tokens(question: str, documents: Catalog) -> list[str]:
    """The question's tokens less brand names, years and the word "policy"."""
    scope = documents.scope_tokens
    return [t for t in tokenize(question) if t not in scope and not YEAR.fullmatch(t)]


def plan(question: str, documents: Catalog, explicit_doc: bool) -> QueryPlan:
    """Analyse a question against the metadata of the indexed documents."""
    lang = language_of(question)
    tokens = content_tokens(question, documents) or tokenize(question)
    doc_ids = None if explicit_doc else _named_documents(question, documents, lang)
    cues = rules().cues
    asks = bool(cues["compare"].search(question)) or (
        bool(cues["change"].search(question)) and len({m.group(0) for m in YEAR.finditer(question)}) >= 2
    )
    compare = asks and (doc_ids is None or len(doc_ids) != 1)
    off_topic = bool(cues["shopping"].search(question)) and not cues["privacy"].search(question)
    return QueryPlan(
        question,
        lang,
        expand(tokens),
        tokens,
        doc_ids,
        compare,
        off_topic,
        answer_shape(question),
        bool(cues["asks_number"].search(question)),
    )


def _named_documents(question: str, documents: Catalog, lang: str) -> frozenset[str] | None:
    """Documents a question points at by brand, year or region; None when it names none."""
    current = documents.default(lang)  # naming a brand does not name its regional policies
    named_brands = documents.named_brands(question)
    years = {m.group(0) for m in YEAR.finditer(question)}
    selected: set[str] = set()
    if years:
        selected |= {d for d, m in documents.items() if any(y in m.effective_date or y in d for y in years)}
    if rules().cues["old"].search(question):
        selected |= documents.superseded
    if named_brands:
        by_brand = set().union(*(documents.by_brand[b] for b in named_brands))
        if selected:
            # "brand A's 2010 policy" names the year; "brand A vs brand B in 2015" adds brand B
            selected |= {
                d
                for d in by_brand & current
                if documents[d].brand.lower() not in {documents[s].brand.lower() for s in selected}
            }
        else:  # a brand whose policies are all regional is named by its regional ones
            selected = (by_brand & current) or (by_brand & documents.current)
    regions = {d for d in documents.named_regions(question) if d in documents.current}
    if named_brands:
        regions = {d for d in regions if documents[d].brand.lower() in named_brands}
    if regions:
        if years:
            selected |= regions
        else:  # the region's version replaces its brand's other current ones
            brands = {documents[d].brand.lower() for d in regions}
            selected = {d for d in selected if documents[d].brand.lower() not in brands} | regions
    return frozenset(selected) if selected else None

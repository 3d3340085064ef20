"""The indexed policies' catalogue entries, with what every question needs from them worked
out once: brand and region names (any language), current and superseded versions, and
which policies a question or a filter scopes an answer to."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from functools import cache, cached_property

from app.records import DocumentMeta, Filters
from app.text import POLICY_WORDS, is_cjk
from app.text.lexical import tokenize


@cache
def _policy_tokens() -> frozenset[str]:
    """Tokens of words that pick a document rather than say what is asked: they must not make a
    sentence look relevant just because it names the brand ("<brand> knows that…").
    Worked out on first use, not at import: its Chinese words start jieba (seconds)."""
    return frozenset(tokenize(POLICY_WORDS))


class Catalog(dict[str, DocumentMeta]):
    """The indexed documents' metadata by doc id, with what every question needs from it
    worked out once (a question must not loop over thousands of policies)."""

    @cached_property
    def scope_tokens(self) -> frozenset[str]:
        """Tokens that name a policy (brands, their aliases, region names) rather than a topic."""
        scope = set(_policy_tokens())
        for name in self.brand_names | self.region_names:
            scope.update(tokenize(name))
        return frozenset(scope)

    @cached_property
    def by_brand(self) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = {}
        for doc_id, meta in self.items():
            if meta.brand:
                out.setdefault(meta.brand.lower(), set()).add(doc_id)
        return {b: frozenset(d) for b, d in out.items()}

    @cached_property
    def brand_aliases(self) -> dict[str, str]:
        """Every name of a brand (its own, and the catalogue's aliases in any language) → the brand."""
        out: dict[str, str] = {}
        for meta in self.values():
            if meta.brand:
                for name in (meta.brand, *meta.aliases):
                    out.setdefault(name, meta.brand.lower())
        return out

    @cached_property
    def brand_names(self) -> frozenset[str]:
        return frozenset(self.brand_aliases)

    @cached_property
    def region_names(self) -> frozenset[str]:
        return frozenset(self.by_region_name)

    @cached_property
    def by_region_name(self) -> dict[str, frozenset[str]]:
        """Each region name of the catalogue → the documents it names."""
        out: dict[str, set[str]] = {}
        for doc_id, meta in self.items():
            for name in meta.region_names:
                out.setdefault(name, set()).add(doc_id)
        return {n: frozenset(d) for n, d in out.items()}

    def named_brands(self, question: str) -> set[str]:
        return {brand for name, brand in self.brand_aliases.items() if names(question, name)}

    def named_regions(self, question: str) -> frozenset[str]:
        """Documents whose region the question names ("China", "中国", "US")."""
        return frozenset().union(*(docs for name, docs in self.by_region_name.items() if names(question, name)))

    @cached_property
    def current(self) -> frozenset[str]:
        return frozenset(d for d, m in self.items() if m.is_current)

    @cached_property
    def current_sorted(self) -> tuple[str, ...]:
        return tuple(sorted(self.current))

    @cached_property
    def superseded(self) -> frozenset[str]:
        return frozenset(d for d, m in self.items() if not m.is_current)

    def matching(self, filters: Filters, among: AbstractSet[str]) -> frozenset[str]:
        """The documents of ``among`` that a brand or region filter allows."""
        key = (filters.brand, filters.region, frozenset(among))
        cache: dict[object, frozenset[str]] = self.__dict__.setdefault("_matching", {})
        if (found := cache.get(key)) is None:
            found = cache[key] = frozenset(
                d
                for d in among
                if d in self
                and (not filters.brand or self[d].brand.lower() == filters.brand.lower())
                and (not filters.region or filters.region.lower() in self[d].region.lower())
            )
        return found

    def scope(self, filters: Filters, named: AbstractSet[str] | None, lang: str) -> frozenset[str]:
        """The documents a question is answered from: the filter's document, else the ones the
        question names, else the current ones a brand, region or language filter allows, else
        the defaults for the question's language. A brand or region filter always applies."""
        if filters.doc_id:
            return self.matching(filters, {filters.doc_id})
        if named:
            return self.matching(filters, named)
        if filters:
            return self.matching(filters, self.current)
        return self.default(lang)

    def default(self, lang: str) -> frozenset[str]:
        """``default_documents`` for a language, computed once."""
        cache: dict[str, frozenset[str]] = self.__dict__.setdefault("_default", {})
        if lang not in cache:
            cache[lang] = frozenset(default_documents(self, lang))
        return cache[lang]


def names(text: str, name: str) -> bool:
    """Whether ``text`` names ``name``: Chinese anywhere; a short upper-case name ("US", "EU")
    as a word in upper case only (never the pronoun "us"); anything else as a word, any case."""
    if is_cjk(name):
        return name in text
    if len(name) <= 4 and name.replace(".", "").isupper():
        return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text) is not None
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE) is not None


def default_documents(documents: dict[str, DocumentMeta], lang: str) -> set[str]:
    """Documents an unscoped question is answered from: the current versions, less the
    regional ones (the catalogue's ``regional``) — unless the question is in a regional policy's
    first language and no policy for everyone is written in it (a Chinese question and the
    China policy)."""
    broad_langs = {lang_ for m in documents.values() if m.is_current and not m.regional for lang_ in m.languages}
    out = set()
    for doc_id, meta in documents.items():
        if not meta.is_current:
            continue
        if meta.regional and (lang not in meta.languages[:1] or lang in broad_langs):
            continue
        out.add(doc_id)
    return out

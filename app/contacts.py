"""Where a customer can write: each policy's contact channels, and the one to offer for a
question (the policy it concerns, in the question's language where one is written in it)."""

from __future__ import annotations

from collections.abc import Sequence

from app.catalog import Catalog
from app.records import Clause, Filters
from app.references import contact_sections


class ContactDirectory:
    """The channels of each policy's contact section, per (doc_id, language)."""

    def __init__(self, clauses: Sequence[Clause], catalog: Catalog) -> None:
        self.sections = contact_sections(clauses)
        self.catalog = catalog

    def for_question(self, lang: str, filters: Filters, named: Sequence[str], top_doc: str | None) -> str:
        """The channel to offer: the filter's policy, the ones the question names, the top
        hit's and its brand's current ones, then any current one — preferring a policy whose
        first language is the question's, then any that has a contact section."""
        catalog = self.catalog
        preferred = [*([filters.doc_id] if filters.doc_id else []), *sorted(named)]
        if top_doc is not None:
            brand = catalog[top_doc].brand.lower()
            preferred += [top_doc, *sorted(catalog.by_brand.get(brand, frozenset()) & catalog.current)]
        preferred.extend(catalog.current_sorted)
        for want_lang in (True, False):
            for doc_id in preferred:
                meta = catalog.get(doc_id)
                if meta is None or (want_lang and (not meta.languages or meta.languages[0] != lang)):
                    continue
                if found := self.sections.get((doc_id, lang)) or self.sections.get((doc_id, "en")):
                    return found
        return ""

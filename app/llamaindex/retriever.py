"""The hybrid retrieval (app/retrieve.py, through an ``Assistant``) as a llama-index retriever."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.vector_stores import FilterCondition, FilterOperator, MetadataFilters

from app.errors import InputError
from app.llamaindex.nodes import clause_node
from app.records import Filters

if TYPE_CHECKING:
    from app.assistant import Assistant


def as_filters(filters: Filters | Mapping[str, object] | MetadataFilters | None) -> Filters:
    """The project's ``Filters`` from a contract ``filters`` object or from llama-index
    ``MetadataFilters`` (equality on doc_id, brand, region or lang, joined by AND: what the
    hybrid search filters on; anything else is refused rather than silently ignored)."""
    if filters is None or isinstance(filters, Filters):
        return filters or Filters()
    if not isinstance(filters, MetadataFilters):
        return Filters.from_dict(filters)
    if filters.condition not in (None, FilterCondition.AND):
        raise InputError(f"filters: only AND is supported, not {filters.condition}")
    found: dict[str, object] = {}
    for item in filters.filters:
        if isinstance(item, MetadataFilters) or item.operator != FilterOperator.EQ:
            raise InputError(f"filters: only equality on one field is supported, not {item!r}")
        found[item.key] = item.value
    return Filters.from_dict(found)


class PrivacyRetriever(BaseRetriever):
    """The assistant's hybrid retrieval as a llama-index retriever.

    A question goes through exactly what ``ask`` does before choosing sentences (cleaning,
    spelling, the catalogue's scope for named brands and regions, the fused search), and
    its ranked clauses come back as ``NodeWithScore`` (score: the fused score, 0..1, as in
    ``retrieved``). ``filters`` restrict every search (doc_id, brand, region, lang)."""

    def __init__(
        self,
        assistant: Assistant,
        filters: Filters | Mapping[str, object] | MetadataFilters | None = None,
        top_k: int | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        if top_k is not None and top_k <= 0:
            raise InputError(f"top_k must be positive, got {top_k}")
        super().__init__(callback_manager=callback_manager)
        self._assistant = assistant
        self._filters = as_filters(filters)
        self._top_k = top_k  # None: the assistant's own (its config.top_k, 10)

    @property
    def filters(self) -> Filters:
        return self._filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        wanted = {f.name: getattr(self._filters, f.name) for f in fields(Filters)}
        found = self._assistant.lookup(query_bundle.query_str, wanted)
        documents = found.snapshot.index.documents
        hits = found.retrieval.hits[: self._top_k] if self._top_k else found.retrieval.hits
        return [NodeWithScore(node=clause_node(h.clause, documents[h.clause.doc_id].meta), score=h.score) for h in hits]

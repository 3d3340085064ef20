"""A clause as a llama-index ``TextNode``, and the clause splitter as a ``NodeParser``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.bridge.pydantic import Field
from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, Document, MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode

from app.documents import load_documents
from app.records import Clause, DocumentMeta
from app.splitter import SplitterConfig, split_document
from app.text.normalize import normalize

# Metadata an LLM prompt or an embedding gains nothing from (offsets, ids, sentence spans).
_NOT_FOR_LLM = ["clause_id", "start", "end", "sentences", "lang", "url"]
_NOT_FOR_EMBEDDING = [*_NOT_FOR_LLM, "doc_id", "title", "effective_date", "brand", "region"]


def clause_metadata(clause: Clause, meta: DocumentMeta | None = None) -> dict[str, Any]:
    """A clause's citation fields as node metadata (flat values, lists of offsets): what
    a caller needs to cite it or highlight it in place, without this project's records."""
    found: dict[str, Any] = {
        "doc_id": clause.doc_id,
        "clause_id": clause.clause_id,
        "section": clause.section_title,
        "lang": clause.lang,
        "start": clause.start,
        "end": clause.end,
        "sentences": [[s.start, s.end] for s in clause.sentences],
    }
    return (found | document_metadata(meta)) if meta is not None else found


def document_metadata(meta: DocumentMeta) -> dict[str, Any]:
    """What a citation shows of the clause's document (the catalogue's entry)."""
    return {
        "doc_id": meta.doc_id,
        "title": meta.title,
        "brand": meta.brand,
        "region": meta.region,
        "effective_date": meta.effective_date,
        "url": meta.public_url or meta.source_url,
    }


def policy_documents(folder: Path) -> list[Document]:
    """The policies of a documents folder (``--documents``) as llama-index ``Document``s: id
    = doc_id, the file's text as ingest reads it (what ``ClauseNodeParser`` splits), and the
    catalogue's metadata, which the parser passes on to every clause."""
    return [
        Document(
            id_=doc.doc_id,
            text=Path(doc.path).read_bytes().decode("utf-8-sig"),
            metadata=document_metadata(doc.meta),
            excluded_llm_metadata_keys=list(_NOT_FOR_LLM),
            excluded_embed_metadata_keys=list(_NOT_FOR_EMBEDDING),
        )
        for doc, _ in load_documents(folder)
    ]


def clause_node(clause: Clause, meta: DocumentMeta | None = None) -> TextNode:
    """The clause as a llama-index ``TextNode``: id = clause id, text = clause text, offsets
    into the normalised document, the document as its source node."""
    return TextNode(
        id_=clause.clause_id,
        text=clause.text,
        metadata=clause_metadata(clause, meta),
        start_char_idx=clause.start,
        end_char_idx=clause.end,
        excluded_llm_metadata_keys=list(_NOT_FOR_LLM),
        excluded_embed_metadata_keys=list(_NOT_FOR_EMBEDDING),
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=clause.doc_id)},
    )


class ClauseNodeParser(NodeParser):
    """The clause splitter as a llama-index node parser: a ``Document`` holding a policy's
    text (as read from its file) in, one ``TextNode`` per clause out, with the ids, sections
    and offsets ingest gives the same text. The document id is the ``doc_id`` metadata where
    given, else the document's own id. Offsets are into the normalised text (the one
    citations quote), so they are set from the splitter, not searched for in the raw text."""

    config: SplitterConfig = Field(default_factory=SplitterConfig, description="Chunking parameters.")

    @classmethod
    def class_name(cls) -> str:
        return "ClauseNodeParser"

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        out: list[BaseNode] = []
        for node in nodes:
            doc_id = str(node.metadata.get("doc_id") or node.node_id)
            norm = normalize(node.get_content(metadata_mode=MetadataMode.NONE))
            for clause in split_document(doc_id, norm, self.config):
                parsed = clause_node(clause)
                parsed.relationships[NodeRelationship.SOURCE] = node.as_related_node_info()
                out.append(parsed)
        return out

    def _postprocess_parsed_nodes(self, nodes: list[BaseNode], parent_doc_map: dict[str, Document]) -> list[BaseNode]:
        """llama-index's step (the document's metadata, previous/next links), then the
        splitter's offsets again: the base class finds each text in the raw document."""
        nodes = super()._postprocess_parsed_nodes(nodes, parent_doc_map)
        for node in nodes:
            if isinstance(node, TextNode):
                node.start_char_idx, node.end_char_idx = node.metadata["start"], node.metadata["end"]
        return nodes

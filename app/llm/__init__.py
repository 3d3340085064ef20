"""Optional LLM answers with validated citations (off unless a base URL is configured).

- backend.py   the chat interface and the OpenAI-compatible client, configured from the environment
- prompt.py    the rules and the numbered, fenced source clauses
- validate.py  reply sentences → kept (supported, cited verbatim) or dropped (and why)
- answerer.py  `LLMAnswerer`: `Assistant.ask` first, then the model, then validation or fallback
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.llm.answerer import EXTRACTIVE, FALLBACK, LLMAnswerer, LLMSettings, dropped_share
from app.llm.backend import ChatBackend, LLMConfig, LLMError, OpenAIBackend

if TYPE_CHECKING:
    from app.assistant import Assistant


def answerer_from_config(assistant: Assistant, config: LLMConfig | None) -> LLMAnswerer | None:
    """An LLM answerer when a server is configured; None (the extractive default) otherwise."""
    return LLMAnswerer(assistant, OpenAIBackend(config)) if config is not None else None


__all__ = [
    "EXTRACTIVE",
    "FALLBACK",
    "ChatBackend",
    "LLMAnswerer",
    "LLMConfig",
    "LLMError",
    "LLMSettings",
    "OpenAIBackend",
    "answerer_from_config",
    "dropped_share",
]

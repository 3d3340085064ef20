"""The chat backend: a small interface, and a client for any OpenAI-compatible server
(a company endpoint, vLLM, Ollama, llama.cpp's server).

Nothing is contacted unless a base URL is configured: `LLMConfig.from_settings` returns None
without one, and the client is created on the first request, not at import.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.errors import AssistantError, InputError
from app.settings import Settings

log = logging.getLogger(__name__)


Message = dict[str, str]


class LLMError(AssistantError):
    """The language model server could not be reached or gave no usable reply."""


@dataclass(frozen=True)
class LLMConfig:
    """Where the model is and how it is asked. `model` empty: the server's first model."""

    base_url: str
    model: str = ""
    api_key: str = field(default="", repr=False)
    timeout_s: float = 60.0
    max_tokens: int = 200
    temperature: float = 0.0
    # Some chat templates drop system messages (llama-cpp-python's "gemma" format): then
    # the rules go at the top of the user's message instead.
    system_role: bool = True

    def __post_init__(self) -> None:
        if not re.match(r"https?://[^\s/]+", self.base_url):
            raise InputError(f"LLM base URL must start with http:// or https://, got {self.base_url!r}")
        if not self.timeout_s > 0:
            raise InputError(f"LLM timeout must be a positive number of seconds, got {self.timeout_s!r}")
        if not 1 <= self.max_tokens <= 8192:
            raise InputError(f"LLM max_tokens must be 1–8192, got {self.max_tokens!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMConfig | None:
        """The configuration the settings give (app/settings.py: flag > environment > file);
        None when no base URL is configured (the LLM is off)."""
        if not settings.llm_base_url:
            return None
        return cls(
            base_url=settings.llm_base_url.rstrip("/"),
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout_s=settings.llm_timeout,
            max_tokens=settings.llm_max_tokens,
            system_role=settings.llm_system_role,
        )


class ChatBackend(Protocol):
    """What the LLM answerer needs from a chat model."""

    @property
    def model(self) -> str: ...

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """The reply, in pieces as they arrive. Raises LLMError."""
        ...


class OpenAIBackend:
    """The `openai` client pointed at an OpenAI-compatible base URL."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._client: Any = None
        self._model = config.model

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError:
                raise LLMError("the LLM option needs `openai`: pip install 'privacy-assistant[llm]'") from None
            # Local servers need no key, but the client insists on one.
            self._client = openai.OpenAI(
                base_url=self.config.base_url,
                api_key=self.config.api_key or "none",
                timeout=self.config.timeout_s,
                max_retries=0,
            )
        return self._client

    @property
    def model(self) -> str:
        """The configured model, else the first one the server lists."""
        if not self._model:
            with _errors_as_llm_error(self.config.base_url):
                models = list(self.client.models.list())
            if not models:
                raise LLMError(f"LLM server {self.config.base_url} lists no model; set PRIVACY_ASSISTANT_LLM_MODEL")
            self._model = str(models[0].id)
        return self._model

    def stream(self, messages: list[Message]) -> Iterator[str]:
        model = self.model
        if not self.config.system_role:
            messages = fold_system(messages)
        with _errors_as_llm_error(self.config.base_url):
            chunks = self.client.chat.completions.create(
                model=model,
                messages=messages,
                temperature=self.config.temperature,
                max_tokens=self.config.max_tokens,
                stream=True,
            )
            for chunk in chunks:
                if chunk.choices and (piece := chunk.choices[0].delta.content):
                    yield piece


def fold_system(messages: list[Message]) -> list[Message]:
    """The system message's text put at the top of the first user message."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system and rest and rest[0]["role"] == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    return rest


@contextlib.contextmanager
def _errors_as_llm_error(base_url: str) -> Iterator[None]:
    """Turns the client's exceptions (connection refused, timeout, HTTP errors) into LLMError."""
    try:
        yield
    except LLMError:
        raise
    except Exception as exc:
        reason = _describe(exc)
        log.warning("LLM request to %s failed: %s", base_url, reason)
        raise LLMError(f"LLM server {base_url}: {reason}") from exc


def _describe(exc: Exception) -> str:
    """A one-line reason, without echoing request bodies (they hold customer text)."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if status is not None:
        return f"HTTP {status} ({name})"
    if "Timeout" in name:
        return "timed out"
    if "Connection" in name:
        return "cannot connect"
    return name

"""A question too vague to answer gets a question back: "my data?" or "privacy" says what the
customer is worried about but not what they want to know, and any sentence quoted for it would
be a guess. The reply asks which topic they mean and offers a few to pick from.

What counts as vague, the question back and the topics are data (app/data/clarify.toml).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from app.answer import Choice
from app.errors import InputError
from app.text.lexical import tokenize


@dataclass(frozen=True)
class Clarifier:
    """Tells vague questions apart and says what to ask back, per language."""

    generic: frozenset[str]  # tokens that name personal data in general
    max_words: int
    prompts: dict[str, str]
    topics: dict[str, tuple[Choice, ...]]

    @classmethod
    def load(cls, path: Path | None = None) -> Clarifier:
        """The clarifier of a TOML file (default: the packaged app/data/clarify.toml)."""
        where = str(path) if path else "app/data/clarify.toml"
        try:
            raw = (
                path.read_text(encoding="utf-8")
                if path
                else resources.files("app").joinpath("data/clarify.toml").read_text(encoding="utf-8")
            )
            data = tomllib.loads(raw)
            generic = frozenset(t for word in data["generic"] for t in tokenize(str(word)))
            prompts = {lang: str(text) for lang, text in data["prompt"].items()}
            topics = {lang: tuple(Choice(str(t[lang][0]), str(t[lang][1])) for t in data["topic"]) for lang in prompts}
            return cls(generic, int(data["max_words"]), prompts, topics)
        except (OSError, tomllib.TOMLDecodeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: not a clarify file ({type(exc).__name__}: {exc})") from None

    def is_vague(self, terms: Sequence[str]) -> bool:
        """True when the question's content words only name personal data in general."""
        return 0 < len(terms) <= self.max_words and all(t in self.generic for t in terms)

    def ask_back(self, lang: str) -> tuple[str, tuple[Choice, ...]]:
        """The question back and the topics to choose from, in ``lang`` (English otherwise)."""
        lang = lang if lang in self.prompts else "en"
        return self.prompts[lang], self.topics[lang]

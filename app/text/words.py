"""The word lists of the text rules, read from app/data/words.toml.

Hand-written word lists are data (so a new customer's wording is a file change, not a code
change); this module reads the one file that holds those the text rules share, once, when
``app.text`` is first imported: it is a few hundred bytes, and the lists are module constants
that other rules are built from.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Words:
    """app/data/words.toml."""

    policy: str  # space-separated, English and Chinese
    regions: frozenset[str]  # lower case, any language
    numbers: tuple[str, ...]  # English number words
    ambiguous_numbers: frozenset[str]  # number words that are other words as often
    frequency: tuple[str, ...]  # "once", "twice"
    zh_numerals: str  # Chinese numeral characters

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Words:
        numbers = data["numbers"]
        return cls(
            policy=str(data["policy_words"]),
            regions=frozenset(str(w) for w in data["region_words"]),
            numbers=tuple(numbers["words"].split()),
            ambiguous_numbers=frozenset(numbers["ambiguous"].split()),
            frequency=tuple(numbers["frequency"].split()),
            zh_numerals=str(numbers["zh"]),
        )


WORDS = Words.parse(tomllib.loads(resources.files("app").joinpath("data/words.toml").read_text(encoding="utf-8")))

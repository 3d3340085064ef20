"""The project's own errors; the CLI turns them into one-line messages."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: anything the assistant reports to a user in one line."""


class InputError(AssistantError):
    """Bad input from the user: a file, a field, a limit (CLI exit status 2)."""


class IndexNotReady(AssistantError):
    """The index is missing, stale, corrupted or built differently (exit status 2)."""

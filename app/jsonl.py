"""JSON Lines input (batch questions, eval sets): one object per line, errors name the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.errors import InputError

MAX_LINE_CHARS = 1_000_000


def read_objects(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``file:line``, object) for every non-blank line, streamed; a bad line is an InputError."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a JSON Lines file")
    try:
        handle = open(path, encoding="utf-8-sig")  # noqa: SIM115 - closed by the with below; a BOM is fine
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    with handle:
        try:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                if len(line) > MAX_LINE_CHARS:
                    raise InputError(f"{where}: line is over {MAX_LINE_CHARS:,} characters")
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{where}: invalid JSON ({exc.msg})") from None
                except RecursionError:
                    raise InputError(f"{where}: JSON nested too deeply") from None
                if not isinstance(row, dict):
                    raise InputError(f"{where}: each line must be a JSON object")
                yield where, row
        except UnicodeDecodeError:
            raise InputError(f"{path}: not valid UTF-8") from None

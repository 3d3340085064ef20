"""Load the policy documents of a folder: text files plus an optional catalogue.

The file stem is the document id. ``catalogue.toml`` (optional) gives each document its
metadata; a folder of plain files without one ingests too, with metadata inferred.
Every problem with an input file raises ``InputError`` naming the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tomllib
from pathlib import Path

from app.errors import InputError
from app.records import Document, DocumentMeta
from app.text import YEAR, is_cjk
from app.text.normalize import Normalized, normalize

log = logging.getLogger(__name__)

CATALOGUE = "catalogue.toml"
SUFFIXES = (".txt", ".md")
MAX_BYTES = 20_000_000  # a policy is tens of kB; anything this large is a mistake
_DOC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_DATE = re.compile(r"(?:last updated|last revised|effective date|最近更新)\s*[:：]?\s*([^\n.。]{4,30})", re.IGNORECASE)
_META_FIELDS = {
    "title", "brand", "region", "languages", "effective_date", "superseded_by", "source_url",
    "public_url", "label", "label_zh", "title_zh", "aliases", "region_names", "regional",
}  # fmt: skip


def load_documents(folder: Path) -> list[tuple[Document, Normalized]]:
    """Read, validate and normalise every document of ``folder``, sorted by doc id."""
    files = _list_files(folder)
    catalogue = _read_catalogue(folder)
    seen: dict[str, Path] = {}
    loaded = []
    for path in files:
        doc_id = path.stem
        if not _DOC_ID.match(doc_id):
            raise InputError(f"{path}: file name is not a valid document id (letters, digits, '.', '_', '-')")
        if doc_id in seen:
            raise InputError(f"{path}: duplicate document id {doc_id!r} (also {seen[doc_id].name})")
        seen[doc_id] = path
        raw, digest = _read_text(path)
        norm = normalize(raw)
        if not norm.text.strip():
            raise InputError(f"{path}: no text left after normalisation")
        meta = _metadata(doc_id, norm, catalogue.get(doc_id, {}), path)
        loaded.append((Document(meta=meta, text=norm.text, sha256=digest, path=str(path)), norm))
    for doc_id in sorted(set(catalogue) - set(seen)):
        log.warning("%s: catalogue entry %r has no document file", folder / CATALOGUE, doc_id)
    return loaded


def _list_files(folder: Path) -> list[Path]:
    if not folder.exists():
        raise InputError(f"{folder}: documents folder does not exist")
    if not folder.is_dir():
        raise InputError(f"{folder}: documents path is not a folder")
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except PermissionError:
        raise InputError(f"{folder}: documents folder is not readable (permission denied)") from None
    files = []
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith(".") or path.suffix.lower() not in SUFFIXES:
            continue
        try:
            if not entry.is_file():  # a directory named x.txt, a dangling or looping symlink
                raise InputError(f"{path}: not a regular file (a folder or a broken/looping link)")
            if entry.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
                raise InputError(f"{path}: links outside the documents folder (refused: it would be published)")
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
        files.append(path)
    if not files:
        raise InputError(f"{folder}: no .txt or .md documents found")
    return files


def _read_text(path: Path) -> tuple[str, str]:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file disappeared while reading") from None
    except (PermissionError, OSError) as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise InputError(f"{path}: file is empty")
    if b"\x00" in data:
        raise InputError(f"{path}: binary file (contains NUL bytes), expected UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    return text, hashlib.sha256(data).hexdigest()


def _read_catalogue(folder: Path) -> dict[str, dict[str, object]]:
    path = folder / CATALOGUE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: invalid TOML ({exc})") from None
    for doc_id, entry in data.items():
        if not isinstance(entry, dict):
            raise InputError(f"{path}: entry {doc_id!r} must be a table")
        unknown = set(entry) - _META_FIELDS
        if unknown:
            raise InputError(f"{path}: entry {doc_id!r} has unknown field(s) {', '.join(sorted(unknown))}")
    return data


def _metadata(doc_id: str, norm: Normalized, entry: dict[str, object], path: Path) -> DocumentMeta:
    """Catalogue values where given, otherwise inferred from the text."""

    def field(name: str, inferred: str = "") -> str:
        value = entry.get(name, inferred)
        if not isinstance(value, str):
            raise InputError(f"{path.parent / CATALOGUE}: {doc_id}.{name} must be a string")
        return value or inferred

    lists: dict[str, tuple[str, ...]] = {}
    for name in ("aliases", "region_names"):
        value = entry.get(name, [])
        if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
            raise InputError(f"{path.parent / CATALOGUE}: {doc_id}.{name} must be a list of non-empty strings")
        lists[name] = tuple(x.strip() for x in value)
    regional = entry.get("regional", False)
    if not isinstance(regional, bool):
        raise InputError(f"{path.parent / CATALOGUE}: {doc_id}.regional must be true or false")
    public_url = field("public_url")
    if public_url and not public_url.startswith(("https://", "http://")):
        raise InputError(f"{path.parent / CATALOGUE}: {doc_id}.public_url must start with https:// or http://")
    languages = entry.get("languages")
    if languages is None:
        languages = _infer_languages(norm.text)
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise InputError(f"{path.parent / CATALOGUE}: {doc_id}.languages must be a list of strings")
    first_line = norm.text.split("\n", 1)[0]
    date = _DATE.search(norm.text)
    inferred_date = date.group(1).strip() if date and YEAR.search(date.group(1)) else ""
    return DocumentMeta(
        doc_id=doc_id,
        title=field("title", first_line if len(first_line) <= 80 else doc_id),
        brand=field("brand"),
        region=field("region"),
        languages=tuple(languages),
        effective_date=field("effective_date", inferred_date),
        superseded_by=field("superseded_by"),
        source_url=field("source_url", norm.source_url),
        public_url=public_url,
        label=field("label"),
        label_zh=field("label_zh"),
        title_zh=field("title_zh"),
        aliases=lists["aliases"],
        region_names=lists["region_names"],
        regional=regional,
    )


def _infer_languages(text: str) -> list[str]:
    paragraphs = [p for p in text.split("\n") if p.strip()]
    zh = sum(1 for p in paragraphs if is_cjk(p))
    langs = []
    if zh:
        langs.append("zh")
    if len(paragraphs) - zh:
        langs.append("en")
    return langs

"""Where `app.settings` reads values from, and how a given value is checked and explained.

Two pydantic-settings sources, each given its input rather than reading the process: the
environment (a mapping, so that tests and tools pass their own) and the TOML file, whose
``[section] key`` entries map to the flat settings (``[paths] documents`` -> ``documents``).
Each records where every value it supplied came from, for the one-line error and ``-v``.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import annotated_types
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource, TomlConfigSettingsSource

from app.errors import InputError

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

ENV_PREFIX = "PRIVACY_ASSISTANT_"
ENV_CONFIG = ENV_PREFIX + "CONFIG"


@dataclass
class Given:
    """What one `Settings.load` reads (the environment, the TOML file) and, as the sources
    supply values, where each came from and its raw text (first source wins, as in precedence)."""

    environ: Mapping[str, str]
    toml: Path | None
    flags: dict[str, Any] = field(default_factory=dict)  # name -> value given as an argument
    where: dict[str, str] = field(default_factory=dict)
    raw: dict[str, object] = field(default_factory=dict)

    def note(self, name: str, where: str, raw: object) -> None:
        if name not in self.where:
            self.where[name], self.raw[name] = where, raw


class MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (empty values: not given)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str], given: Given) -> None:
        self._environ, self._given = environ, given
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        fold = (lambda k: k) if self.case_sensitive else str.lower
        return {fold(k): v for k, v in self._environ.items() if v != "" or not self.env_ignore_empty}

    def __call__(self) -> dict[str, Any]:
        found = super().__call__()
        upper = {k.upper(): v for k, v in self._environ.items()}
        for name in found:
            env = ENV_PREFIX + name.upper()
            self._given.note(name, env, upper.get(env, found[name]))
        return found


class SectionsTomlSource(TomlConfigSettingsSource):
    """The TOML file, its ``[section] key`` entries mapped to the settings that declare them
    (``json_schema_extra["toml"]``); keys no setting declares are ignored, "" is not given."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None, given: Given) -> None:
        self._keys = {toml: name for name, toml in _toml_keys(settings_cls)}
        self._given = given
        self._origin: dict[str, tuple[str, object]] = {}  # name -> ("[section] key", value as written)
        if path is not None and not path.expanduser().is_file():
            raise InputError(f"{ENV_CONFIG}={path}: cannot be read (no such file)")
        super().__init__(settings_cls, toml_file=path)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            with open(file_path, "rb") as handle:
                table = tomllib.load(handle)
        except OSError as exc:
            raise InputError(f"{ENV_CONFIG}={file_path}: cannot be read ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{ENV_CONFIG}={file_path}: invalid TOML ({exc})") from None
        flat: dict[str, Any] = {}
        for section, entries in table.items():
            for key, value in entries.items() if isinstance(entries, dict) else ():
                name = self._keys.get(f"{section}.{key}")
                if name is not None and value != "":
                    flat[name] = value
                    self._origin[name] = (f"[{section}] {key}", value)
        return flat

    def __call__(self) -> dict[str, Any]:
        found = super().__call__()
        for name in found:  # noted when called, after the sources that take precedence
            self._given.note(name, *self._origin[name])
        return found


def _toml_keys(settings_cls: type[BaseSettings]) -> list[tuple[str, str]]:
    """(setting, "section.key") of every setting the TOML file may give."""
    found = []
    for name, info in settings_cls.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and isinstance(extra.get("toml"), str):
            found.append((name, str(extra["toml"])))
    return found


# -- checks: each raises ValueError saying what a value must be ("must …") -------------------------


def check_url(raw: str) -> str:
    if raw.strip() and not re.match(r"https?://[^\s/]+", raw.strip()):
        raise ValueError("must start with http:// or https:// (a URL)")
    return raw.strip()


def split_list(raw: object) -> object:
    """A comma-separated string (the environment's form) as a list; a TOML list as it is."""
    if isinstance(raw, str):
        return [p.strip() for p in raw.split(",") if p.strip()]
    return raw


def networks(found: tuple[str, ...]) -> tuple[str, ...]:
    for proxy in found:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ValueError(f"must be IP addresses or networks, comma-separated ({proxy!r} is neither)") from None
    return found


def origins(found: tuple[str, ...]) -> tuple[str, ...]:
    found = tuple(o.strip().rstrip("/") for o in found if o.strip())
    for origin in found:
        if not re.fullmatch(r"https?://[^\s/?#*]+", origin):
            raise ValueError(f"must be origins like https://example.com, comma-separated ({origin!r} is not one)")
    return found


def lines(raw: object) -> object:
    """Text that may span lines: a literal ``\\n`` (as an environment variable must write it) is one."""
    return raw.replace("\\n", "\n").strip() if isinstance(raw, str) else raw


def expected(info: FieldInfo) -> str:
    """What a value of this setting must be ("must be …"), from its type and bounds."""
    low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    kind = info.annotation
    if kind is bool:
        return "must be 1/true/yes or 0/false/no"
    if kind is int:
        return f"must be a whole number {low}–{high:,}"
    if kind in (float, float | None):
        return f"must be a number {low:g} or more" + (f", at most {high:g}" if high is not None else "")
    return f"must be a valid {getattr(kind, '__name__', kind)}"

"""The settings declaration (app/settings.py): every existing name still works, the precedence
flag > environment > TOML file > default, one-line errors naming the setting and its source,
secrets never shown, nothing read outside `Settings.load`, flags and docs generated from it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from app import cli
from app.errors import InputError
from app.settings import KNOBS, Settings, settings_table

ROOT = Path(__file__).resolve().parents[1]

# Every name the settings had before pydantic-settings, as deployments and TOML files spell them.
LEGACY = {
    "documents": ("PRIVACY_ASSISTANT_DOCUMENTS", "paths.documents"),
    "index": ("PRIVACY_ASSISTANT_INDEX", "paths.index"),
    "model": ("PRIVACY_ASSISTANT_MODEL", "model.embedding"),
    "ann_threshold": ("PRIVACY_ASSISTANT_ANN_THRESHOLD", "index.ann_threshold"),
    "max_question_chars": ("PRIVACY_ASSISTANT_MAX_QUESTION_CHARS", "limits.max_question_chars"),
    "rate_per_minute": ("PRIVACY_ASSISTANT_RATE_PER_MINUTE", "limits.rate_per_minute"),
    "reader": ("PRIVACY_ASSISTANT_READER", "model.reader"),
    "lead_threshold": ("PRIVACY_ASSISTANT_LEAD_THRESHOLD", "model.lead_threshold"),
    "agent_user": ("PRIVACY_ASSISTANT_AGENT_USER", "agent.user"),
    "agent_password": ("PRIVACY_ASSISTANT_AGENT_PASSWORD", "agent.password"),
    "feedback_db": ("PRIVACY_ASSISTANT_FEEDBACK_DB", "feedback.db"),
    "database_url": ("PRIVACY_ASSISTANT_DATABASE_URL", "database.url"),
    "trusted_proxies": ("PRIVACY_ASSISTANT_TRUSTED_PROXIES", "server.trusted_proxies"),
    "allowed_origins": ("PRIVACY_ASSISTANT_ALLOWED_ORIGINS", "server.allowed_origins"),
    "host": ("PRIVACY_ASSISTANT_HOST", "server.host"),
    "port": ("PRIVACY_ASSISTANT_PORT", "server.port"),
    "llm_base_url": ("PRIVACY_ASSISTANT_LLM_BASE_URL", "llm.base_url"),
    "llm_model": ("PRIVACY_ASSISTANT_LLM_MODEL", "llm.model"),
    "llm_api_key": ("PRIVACY_ASSISTANT_LLM_API_KEY", "llm.api_key"),
    "llm_timeout": ("PRIVACY_ASSISTANT_LLM_TIMEOUT", "llm.timeout"),
    "llm_max_tokens": ("PRIVACY_ASSISTANT_LLM_MAX_TOKENS", "llm.max_tokens"),
    "llm_system_role": ("PRIVACY_ASSISTANT_LLM_SYSTEM_ROLE", "llm.system_role"),
    "draft_greeting": ("PRIVACY_ASSISTANT_DRAFT_GREETING", "draft.greeting"),
    "draft_greeting_zh": ("PRIVACY_ASSISTANT_DRAFT_GREETING_ZH", "draft.greeting_zh"),
    "draft_signoff": ("PRIVACY_ASSISTANT_DRAFT_SIGNOFF", "draft.signoff"),
    "draft_signoff_zh": ("PRIVACY_ASSISTANT_DRAFT_SIGNOFF_ZH", "draft.signoff_zh"),
}
# A valid value of each setting: (as the environment gives it, as a TOML file gives it, the result).
SAMPLES: dict[str, tuple[str, object, object]] = {
    "documents": ("/srv/docs", "/srv/docs", Path("/srv/docs")),
    "index": ("/srv/index", "/srv/index", Path("/srv/index")),
    "model": (" package:x ", "package:x", "package:x"),
    "ann_threshold": ("5000", 5000, 5000),
    "max_question_chars": ("300", 300, 300),
    "rate_per_minute": ("1.5", 1.5, 1.5),
    "reader": ("/m/reader", "/m/reader", "/m/reader"),
    "lead_threshold": ("0.4", 0.4, 0.4),
    "agent_user": ("ana", "ana", "ana"),
    "agent_password": (" pw ", " pw ", " pw "),  # a password is taken as typed
    "feedback_db": ("/var/fb.db", "/var/fb.db", Path("/var/fb.db")),
    "database_url": ("postgresql://db/x", "postgresql://db/x", "postgresql://db/x"),
    "trusted_proxies": ("10.0.0.1, 10.1.0.0/16", ["10.0.0.1", "10.1.0.0/16"], ("10.0.0.1", "10.1.0.0/16")),
    "allowed_origins": ("https://a.example/", ["https://a.example/"], ("https://a.example",)),
    "host": ("0.0.0.0", "0.0.0.0", "0.0.0.0"),
    "port": ("8000", 8000, 8000),
    "llm_base_url": ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    "llm_model": ("gemma", "gemma", "gemma"),
    "llm_api_key": ("k", "k", "k"),
    "llm_timeout": ("5", 5, 5.0),
    "llm_max_tokens": ("64", 64, 64),
    "llm_system_role": ("0", False, False),
    "draft_greeting": ("Hello,", "Hello,", "Hello,"),
    "draft_greeting_zh": ("您好：", "您好：", "您好："),
    "draft_signoff": ("Best,\\nThe Team", "Best,\\nThe Team", "Best,\nThe Team"),
    "draft_signoff_zh": ("此致\\n敬礼", "此致\n敬礼", "此致\n敬礼"),
}


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace("\n", "\\n") + '"'
    return str(value)


def _toml(tmp_path: Path, entries: dict[str, object]) -> Path:
    sections: dict[str, list[str]] = {}
    for dotted, value in entries.items():
        section, key = dotted.split(".")
        sections.setdefault(section, []).append(f"{key} = {_toml_value(value)}")
    path = tmp_path / "settings.toml"
    path.write_text("".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items()), encoding="utf-8")
    return path


def test_every_legacy_name_is_declared_and_nothing_else() -> None:
    assert {k.name: (k.env, k.toml) for k in KNOBS} == LEGACY
    assert set(SAMPLES) == set(LEGACY)


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_each_setting_from_the_environment(name: str) -> None:
    env, _, value = SAMPLES[name]
    settings = Settings.load(environ={LEGACY[name][0]: env})
    assert getattr(settings, name) == value
    assert settings.sources == {name: LEGACY[name][0]}


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_each_setting_from_its_toml_key(tmp_path: Path, name: str) -> None:
    _, given, value = SAMPLES[name]
    settings = Settings.load(environ={}, config=_toml(tmp_path, {LEGACY[name][1]: given}))
    assert getattr(settings, name) == value
    section, key = LEGACY[name][1].split(".")
    assert settings.sources == {name: f"[{section}] {key}"}


@pytest.mark.parametrize(
    ("flag", "env", "toml", "expected", "source"),
    [
        (None, None, None, 7860, "default"),
        (None, None, 7001, 7001, "[server] port"),
        (None, "7002", 7001, 7002, "PRIVACY_ASSISTANT_PORT"),
        ("7003", "7002", 7001, 7003, "--port"),
        (None, "", 7001, 7001, "[server] port"),  # an empty variable is not given
    ],
)
def test_flag_over_environment_over_file_over_default(
    tmp_path: Path, flag: str | None, env: str | None, toml: int | None, expected: int, source: str
) -> None:
    config = _toml(tmp_path, {"server.port": toml} if toml is not None else {})
    environ = {"PRIVACY_ASSISTANT_PORT": env} if env is not None else {}
    settings = Settings.load({"port": flag}, environ, config=config)
    assert settings.port == expected
    assert dict((n, s) for n, _, s in settings.describe())["port"] == source


def test_the_config_file_may_be_named_by_the_environment(tmp_path: Path) -> None:
    path = _toml(tmp_path, {"paths.index": "/srv/index", "limits.max_question_chars": 300})
    settings = Settings.load(environ={"PRIVACY_ASSISTANT_CONFIG": str(path)})
    assert (settings.index, settings.max_question_chars) == (Path("/srv/index"), 300)
    assert Settings.load(environ={"PRIVACY_ASSISTANT_CONFIG": "/nowhere.toml"}, config=path).index == Path("/srv/index")


def test_unknown_toml_keys_and_empty_values_are_not_settings(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text('title = "x"\n[paths]\nindex = ""\nother = 1\n[nothing]\nkey = 2\n', encoding="utf-8")
    assert Settings.load(environ={}, config=config) == Settings()


@pytest.mark.parametrize(
    ("flags", "env", "toml", "message"),
    [
        ({}, {"PRIVACY_ASSISTANT_PORT": "http"}, {}, "PRIVACY_ASSISTANT_PORT='http': port must be a whole number 1–"),
        ({"port": "0"}, {}, {}, "--port='0': port must be a whole number 1–65,535"),
        ({}, {}, {"server.port": 70000}, "[server] port=70000: port must be a whole number 1–65,535"),
        ({}, {"PRIVACY_ASSISTANT_LLM_SYSTEM_ROLE": "maybe"}, {}, "llm_system_role must be 1/true/yes or 0/false/no"),
        ({}, {"PRIVACY_ASSISTANT_RATE_PER_MINUTE": "nan"}, {}, "rate_per_minute must be a number 0 or more"),
        ({}, {"PRIVACY_ASSISTANT_LEAD_THRESHOLD": "2"}, {}, "lead_threshold must be a number 0 or more, at most 1.01"),
        ({}, {}, {"llm.timeout": "soon"}, "[llm] timeout='soon': llm_timeout must be a number 0.001 or more"),
        ({"llm_base_url": "localhost:1"}, {}, {}, "--llm-base-url='localhost:1': llm_base_url must start with http://"),
        ({}, {"PRIVACY_ASSISTANT_TRUSTED_PROXIES": "10.0.0.1,nope"}, {}, "('nope' is neither)"),
        ({}, {}, {"server.allowed_origins": ["*"]}, "[server] allowed_origins=['*']: allowed_origins must be origins"),
    ],
)
def test_a_bad_value_is_one_line_naming_setting_and_source(
    tmp_path: Path, flags: dict, env: dict, toml: dict, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        Settings.load(flags, env, config=_toml(tmp_path, toml))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_config_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        Settings.load(environ={"PRIVACY_ASSISTANT_CONFIG": str(tmp_path / "missing.toml")})
    bad = tmp_path / "bad.toml"
    bad.write_text("[agent\n", encoding="utf-8")
    with pytest.raises(InputError, match="invalid TOML"):
        Settings.load(environ={}, config=bad)


def test_secrets_are_never_shown(tmp_path: Path) -> None:
    secret = {"PRIVACY_ASSISTANT_AGENT_PASSWORD": "sekrit", "PRIVACY_ASSISTANT_LLM_API_KEY": "k3y"}
    settings = Settings.load(environ=secret)
    assert "sekrit" not in repr(settings) and "k3y" not in repr(settings) and "sekrit" not in str(settings)
    shown = {name: value for name, value, _ in settings.describe()}
    assert shown["agent_password"] == shown["llm_api_key"] == "(set)" and shown["database_url"] == "(empty)"
    secrets = {k.name for k in KNOBS if k.secret}
    assert secrets == {"agent_password", "database_url", "llm_api_key"}
    with pytest.raises(InputError) as caught:  # a value that fails its check is not echoed either
        Settings.load(environ={}, config=_toml(tmp_path, {"agent.password": ["sekrit"]}))
    assert "sekrit" not in str(caught.value) and "[agent] password=(hidden)" in str(caught.value)


def test_a_constructor_reads_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PRIVACY_ASSISTANT_PORT", "9999")
    monkeypatch.setenv("PRIVACY_ASSISTANT_CONFIG", str(_toml(tmp_path, {"paths.index": "/srv"})))
    assert Settings().port == Settings.declared().port == Settings.default_of("port") == 7860
    assert Settings().index == Path("index") and Settings(port=1).port == 1
    assert Settings.load().port == 9999 and Settings.load().index == Path("/srv")  # only `load` reads them


def test_only_the_entry_point_loads_settings() -> None:
    """Library code gets its settings passed in (or the declared defaults): nothing under app/
    but the CLI calls the loader, and nothing builds settings from the environment at import."""
    loaders = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\bSettings\.load\(|\bSettings\(\)", line) and not line.lstrip().startswith(("#", '"')):
                loaders.append(f"{rel}:{number}")
    assert [place for place in loaders if not place.startswith(("app/cli.py", "app/settings.py"))] == []


def test_the_settings_doc_is_the_generated_table() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    table = [line for line in doc.splitlines() if line.startswith("|")]
    assert table == settings_table().splitlines(), "docs/settings.md is stale: paste `python -m app.settings`"


def _options(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Option string -> destination, of one parser."""
    return {o: a.dest for a in parser._actions for o in a.option_strings}  # argparse lists its options nowhere public


def test_the_cli_flags_are_generated_from_the_declaration() -> None:
    parser = cli._parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for knob in (k for k in KNOBS if k.flag):
        where = [commands[c] for c in knob.on] if knob.on else [parser]
        for command in where:
            assert _options(command).get(knob.flag) == knob.name, (knob.flag, command.prog)
        others = [p for name, p in commands.items() if name not in knob.on] if knob.on else list(commands.values())
        assert all(knob.flag not in _options(p) for p in others), knob.flag
    assert not hasattr(cli, "_flags")  # no hand-written table of flags


def test_a_flag_is_validated_like_any_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--index", "/nowhere", "serve", "--port", "http"]) == cli.EXIT_USAGE
    assert "--port='http': port must be a whole number 1–65,535" in capsys.readouterr().err

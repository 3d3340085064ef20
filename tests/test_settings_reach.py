"""`--config FILE` reaches every command: ingest, ask, serve, eval (its variants and baselines
included), each `train` target, `insights` and `keys`.

One TOML file points every path elsewhere: the documents (two seed policies copied to a
temporary folder), the index, the embedding model (a link to the shipped one under another
name, so that the index manifest shows which was used) and the ANN threshold. `ingest` and
`ask` run for real against it (the end-to-end check); the other commands run until the call
that would do their heavy work, which a spy records and stops.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from app import cli
from app.settings import Settings
from tests.conftest import DOCUMENTS, ROOT

POLICIES = ("cartier-conditions-of-sale", "cartier-us-privacy-policy-2010")
QUESTION = "Is my card charged before the order ships?"  # written here, not taken from evals/


class Stop(Exception):
    """Raised by a spy where the command's heavy work would start."""


@dataclass(frozen=True)
class Site:
    """Where the config file sends everything."""

    config: Path
    documents: Path
    index: Path
    encoder: Path
    work: Path


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_ASSISTANT_")}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("reach")
    documents = work / "policies"
    documents.mkdir()
    for doc_id in POLICIES:
        (documents / f"{doc_id}.txt").write_bytes((DOCUMENTS / f"{doc_id}.txt").read_bytes())
    (documents / "catalogue.toml").write_bytes((DOCUMENTS / "catalogue.toml").read_bytes())
    encoder = work / "encoder"
    encoder.symlink_to(ROOT / "models" / "privacy-minilm", target_is_directory=True)
    config = work / "settings.toml"
    config.write_text(
        f'[paths]\ndocuments = "{documents}"\nindex = "{work / "idx"}"\n'
        f'[model]\nembedding = "{encoder}"\n[index]\nann_threshold = 50000\n'
        '[limits]\nmax_question_chars = 1234\n[server]\nhost = "127.0.0.9"\nport = 7999\n'
        f'[agent]\nuser = "reach"\npassword = "pw"\n[feedback]\ndb = "{work / "fb.sqlite3"}"\n',
        encoding="utf-8",
    )
    with mock.patch.dict(os.environ, _clean_environ(), clear=True):
        assert cli.main(["--config", str(config), "ingest"]) == cli.EXIT_OK
    yield Site(config, documents, work / "idx", encoder, work)


@pytest.fixture(autouse=True)
def loaded(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """No PRIVACY_ASSISTANT_* variable of the caller's; the settings each command loaded."""
    for name in list(os.environ):
        if name.startswith("PRIVACY_ASSISTANT_"):
            monkeypatch.delenv(name)
    found: list[Settings] = []
    real = Settings.load.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Settings], *args: Any, **kwargs: Any) -> Settings:
        found.append(real(cls, *args, **kwargs))
        return found[-1]

    monkeypatch.setattr(Settings, "load", classmethod(spy))
    return found


def _assert_from_config(settings: Settings, site: Site) -> None:
    assert (settings.documents, settings.index, settings.model) == (site.documents, site.index, str(site.encoder))
    assert settings.sources["index"] == "[paths] index" and settings.ann_threshold == 50000


def _manifest(index: Path) -> dict[str, Any]:
    return json.loads((index / "current" / "manifest.json").read_text(encoding="utf-8"))


# -- end to end: ingest, then ask ----------------------------------------------------------------


def test_ingest_built_the_configured_index_from_the_configured_documents(site: Site) -> None:
    manifest = _manifest(site.index)
    assert sorted(manifest["documents"]) == sorted(POLICIES)
    assert manifest["model"]["spec"] == str(site.encoder) and manifest["ann_threshold"] == 50000


def test_ask_answers_from_the_configured_index(site: Site, loaded: list[Settings], capsys: Any) -> None:
    assert cli.main(["--config", str(site.config), "ask", "--json", "--no-llm", QUESTION]) == cli.EXIT_OK
    answer = json.loads(capsys.readouterr().out)
    assert answer["citations"] and {c["doc_id"] for c in answer["citations"]} <= set(POLICIES)
    _assert_from_config(loaded[-1], site)
    assert cli.main(["--config", str(site.config), "ask", "--no-llm", "x" * 1235]) == cli.EXIT_USAGE
    assert "1,234-character limit" in capsys.readouterr().err  # [limits] reached the assistant


# -- serve, without serving ------------------------------------------------------------------------


def test_serve_launches_with_the_configured_settings(
    site: Site, loaded: list[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.web
    from app.web.config import WebConfig

    launched: list[tuple[Any, Settings]] = []
    monkeypatch.setattr(app.web, "launch", lambda assistant, settings, llm=None: launched.append((assistant, settings)))
    assert cli.main(["--config", str(site.config), "serve", "--no-llm"]) == cli.EXIT_OK
    (assistant, settings), = launched
    assert settings is loaded[-1]
    _assert_from_config(settings, site)
    assert (settings.host, settings.port) == ("127.0.0.9", 7999)
    assert assistant.index_dir == site.index and assistant.embedder.spec == str(site.encoder)
    assert assistant.config.max_question_chars == 1234
    web = WebConfig.from_settings(settings)
    assert web.credentials is not None and web.credentials.user == "reach"
    assert web.feedback_db == site.work / "fb.sqlite3"


# -- eval, with a variant and baselines ------------------------------------------------------------


def test_eval_and_its_variants_and_baselines_use_the_configured_settings(
    site: Site, loaded: list[Settings], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import app.evaluation.runner as runner
    import app.evaluation.variants as variants

    items = site.work / "set.jsonl"
    row = {"id": "r1", "question": QUESTION, "answerable": True, "sources": [{"doc_id": POLICIES[0], "quote": "x"}]}
    items.write_text(json.dumps(row) + "\n", encoding="utf-8")
    built: list[tuple[Path, Path, int]] = []
    real_build = variants.build_index

    def build_spy(documents: Path, index: Path, embedder: Any, **kwargs: Any) -> Any:
        built.append((documents, index, kwargs["ann_threshold"]))
        return real_build(documents, index, embedder, **kwargs)

    made: dict[str, Any] = {}
    real_make = runner.make_variant

    def make_spy(name: str, settings: Settings, evaluated: Any) -> Any:
        made[name] = real_make(name, settings, evaluated)
        return made[name]

    baselines: list[Any] = []
    real_baseline = runner.make_baseline

    def baseline_spy(name: str, assistant: Any, embedder: Any) -> Any:
        baselines.append((assistant, embedder))
        return real_baseline(name, assistant, embedder)

    monkeypatch.setattr(variants, "build_index", build_spy)
    monkeypatch.setattr(runner, "make_variant", make_spy)
    monkeypatch.setattr(runner, "make_baseline", baseline_spy)
    command = ["--config", str(site.config), "eval", "--dataset", str(items), "--json", "--no-robustness"]
    extra = ["--no-intent", "--baseline", "tuned-rules", "--baseline", "before", "--baseline", "dense"]
    assert cli.main([*command, *extra]) == cli.EXIT_OK
    assert json.loads(capsys.readouterr().out)
    _assert_from_config(loaded[-1], site)
    tuned, before = made["tuned-rules"], made["before"]
    assert tuned.index_dir == site.index and tuned.embedder.spec == str(site.encoder)  # the `model` setting's
    assert before.index_dir.is_relative_to(site.work) and before.index_dir != site.index  # its own, beside
    assert built == [(site.documents, before.index_dir, 50000)]
    assert tuned.config.max_question_chars == before.config.max_question_chars == 1234
    ((assistant, embedder),) = baselines
    assert assistant.index_dir == site.index and embedder.spec == str(site.encoder)


# -- train: each target's use of the settings ------------------------------------------------------


def _stop(record: dict[str, Any], **named: Any) -> Any:
    def spy(*args: Any, **kwargs: Any) -> Any:
        record.update(named, args=args, kwargs=kwargs)
        raise Stop

    return spy


def test_train_ranker_reads_the_configured_documents(
    site: Site, loaded: list[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.training.ranker as ranker

    data = site.work / "policyqa.json"
    data.write_text("{}", encoding="utf-8")
    record: dict[str, Any] = {}
    monkeypatch.setattr(ranker, "train_ranker", _stop(record))
    with pytest.raises(Stop):
        cli.main(["--config", str(site.config), "train", "ranker", "--data", str(data), "--out", str(site.work / "r")])
    _assert_from_config(loaded[-1], site)
    assert record["args"][-1] == site.documents  # the documents its --eval-set questions are about


def test_train_intent_encodes_with_the_configured_model(
    site: Site, loaded: list[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.training.intent as intent

    record: dict[str, Any] = {}
    monkeypatch.setattr(intent, "train_intent", _stop(record))
    with pytest.raises(Stop):
        cli.main(["--config", str(site.config), "train", "intent", "--out", str(site.work / "i")])
    assert record["args"][0].spec == str(site.encoder)


def test_train_selector_uses_the_configured_index_and_model(
    site: Site, loaded: list[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.training.selector as selector

    record: dict[str, Any] = {}
    monkeypatch.setattr(selector, "fit_selector", _stop(record))
    with pytest.raises(Stop):
        cli.main(["--config", str(site.config), "train", "selector", "--out", str(site.work / "s.json")])
    assistant = record["args"][0]
    assert assistant.index_dir == site.index and assistant.embedder.spec == str(site.encoder)


def test_train_decision_uses_the_configured_index_and_model(
    site: Site, loaded: list[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.training.decision as decision

    record: dict[str, Any] = {}
    monkeypatch.setattr(decision, "clinc_examples", lambda limit: [])
    monkeypatch.setattr(decision, "signal_rows", _stop(record))
    with pytest.raises(Stop):
        cli.main(["--config", str(site.config), "train", "decision", "--out", str(site.work / "d.json")])
    assistant = record["args"][0]
    assert assistant.index_dir == site.index and assistant.embedder.spec == str(site.encoder)


def test_train_reader_loads_the_configured_settings_too(
    site: Site, loaded: list[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader's training reads no setting (its data and base model are flags), but the
    settings it would pass down are the configured ones."""
    import app.training.reader as reader

    data = site.work / "policyqa.json"
    data.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(reader, "train_reader", _stop({}))
    with pytest.raises(Stop):
        cli.main(["--config", str(site.config), "train", "reader", "--data", str(data), "--out", str(site.work / "rd")])
    _assert_from_config(loaded[-1], site)


def test_insights_reads_the_configured_feedback_database(site: Site, loaded: list[Settings], capsys: Any) -> None:
    missing = site.work / "fb.sqlite3"
    assert not missing.exists()
    assert cli.main(["--config", str(site.config), "insights", "--json"]) == cli.EXIT_USAGE
    assert f"no feedback database at {missing}" in capsys.readouterr().err
    assert loaded and loaded[-1].feedback_db == missing


def test_keys_are_kept_in_the_configured_database(site: Site, loaded: list[Settings], capsys: Any) -> None:
    db = site.work / "fb.sqlite3"
    assert cli.main(["--config", str(site.config), "keys", "create", "reach-crm"]) == cli.EXIT_OK
    assert db.is_file() and loaded[-1].feedback_db == db
    capsys.readouterr()
    assert cli.main(["--config", str(site.config), "keys", "list", "--json"]) == cli.EXIT_OK
    assert "reach-crm" in capsys.readouterr().out

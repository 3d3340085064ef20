"""The clause index on disk: manifest, incremental re-ingest, atomic swap, damage, the CLI."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import faiss
import pytest

from app.documents import load_documents
from app.errors import IndexNotReady, InputError
from app.index import CURRENT, build_index, current_build, load_index, manifest_of, texts_to_embed
from app.splitter import SplitterConfig, split_document
from tests.conftest import DOCUMENTS, SEED_IDS, FakeEmbedder, copy_index
from tests.helpers import run_cli

HW = "harry-winston-privacy-policy-2015"
NEW_PARAGRAPH = "Test clause: we keep test data for exactly forty-two days."


def _texts(folder: Path, splitter: SplitterConfig | None = None) -> list[str]:
    """Every text an index of ``folder`` embeds: sentences, then section headings."""
    clauses = [c for doc, norm in load_documents(folder) for c in split_document(doc.doc_id, norm, splitter)]
    sentences, headings = texts_to_embed(clauses)
    return sentences + headings


def _append(path: Path, paragraph: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"\n\n{paragraph}\n")


@pytest.fixture
def fake_build(tmp_path, docs_copy):
    """A fresh index of a private documents copy, built with the fake embedder."""
    index_dir = tmp_path / "index"
    summary = build_index(docs_copy, index_dir, FakeEmbedder())
    return docs_copy, index_dir, summary


# --- the real seed index ------------------------------------------------------------------------


@pytest.mark.slow
def test_seed_manifest(seed_index, embedder):
    manifest = json.loads((current_build(seed_index) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"]["spec"] == "models/privacy-minilm"  # the shipped encoder, portable across clones
    assert manifest["model"]["dimension"] == 384
    assert manifest["model"] == embedder.identity
    assert manifest["splitter"] == {"max_chars": 1200, "short_line_chars": 60, "long_bullet_chars": 200}
    raw = {doc.doc_id: doc.sha256 for doc, _ in load_documents(DOCUMENTS)}
    assert manifest["documents"] == raw
    assert sorted(manifest["documents"]) == sorted(SEED_IDS)
    assert all(len(h) == 64 for h in manifest["documents"].values())
    assert sum(manifest["clause_counts"].values()) == manifest["clauses"]


@pytest.mark.slow
def test_seed_index_loads(seed_index, embedder):
    index = load_index(seed_index, expected=manifest_of(embedder.identity, SplitterConfig()))
    assert len(index.clauses) == index.faiss_index.ntotal == len(index.clause_vectors)
    assert index.clause_vectors.shape[1] == 384
    assert len(index.sentence_vectors) == sum(len(c.sentences) for c in index.clauses)
    assert sorted(index.documents) == sorted(SEED_IDS)
    assert {c.doc_id for c in index.clauses} == set(SEED_IDS)
    retention = [c for c in index.clauses if c.doc_id == "cartier-privacy-policy-2024" and "ten years after" in c.text]
    assert retention and retention[0].section[-1] == "Retaining your personal information"
    for c in index.clauses:
        assert index.documents[c.doc_id].text[c.start : c.end] == c.text


@pytest.mark.slow
def test_seed_vectors_are_unit_length_and_searchable(seed_index, embedder):
    import numpy as np

    index = load_index(seed_index)
    norms = np.linalg.norm(index.clause_vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3)
    query = embedder.embed_query("How long do you keep my personal information?").reshape(1, -1)
    _, rows = index.faiss_index.search(query, 10)
    top = [index.clauses[r] for r in rows[0]]
    assert any(word in c.section_title for c in top for word in ("Retaining", "Retention", "保留"))


@pytest.mark.slow
def test_seed_build_files(seed_index):
    """A build holds what loading reads, and no store that nothing reads (llama-index's
    docstore and index store: llama-index reaches the index through app/llamaindex.py)."""
    build = current_build(seed_index)
    for name in ("default__vector_store.json", "manifest.json", "clauses.jsonl", "documents.jsonl", "vectors.npz"):
        assert (build / name).is_file(), name
    listed = set(json.loads((build / "manifest.json").read_text(encoding="utf-8"))["files"])
    assert {p.name for p in build.iterdir()} == listed | {"manifest.json"}  # every file hashed, none extra
    for name in ("docstore.json", "index_store.json", "graph_store.json", "image__vector_store.json"):
        assert not (build / name).exists(), name


@pytest.mark.slow
def test_seed_current_link_is_relative(seed_index):
    target = os.readlink(seed_index / CURRENT)
    assert not os.path.isabs(target) and target.startswith("builds")


@pytest.mark.slow
def test_ids_are_stable_across_builds(seed_index, embedder, tmp_path):
    """Force a real rebuild (reusing the cached vectors) and compare the clause ids."""
    index_dir = copy_index(seed_index, tmp_path / "index")
    manifest_path = current_build(index_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["documents"][HW] = "0" * 64  # pretend this document changed since
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    summary = build_index(DOCUMENTS, index_dir, embedder)
    assert not summary.up_to_date
    assert summary.changed == [HW]
    assert summary.embedded == 0  # same text, same vectors
    before = load_index(seed_index)
    after = load_index(index_dir)
    assert after.path != before.path
    assert [c.clause_id for c in after.clauses] == [c.clause_id for c in before.clauses]
    assert [c.text for c in after.clauses] == [c.text for c in before.clauses]


@pytest.mark.slow
def test_incremental_reingest_with_the_real_model(seed_index, tmp_path, docs_copy):
    from app.embedding import SentenceTransformerEmbedder

    index_dir = copy_index(seed_index, tmp_path / "index")
    total = len(_texts(DOCUMENTS))

    # 1. one document changes: only its new text is embedded
    _append(docs_copy / f"{HW}.txt", NEW_PARAGRAPH)
    summary = build_index(docs_copy, index_dir, SentenceTransformerEmbedder())
    assert summary.changed == [HW]
    assert summary.removed == []
    assert 1 <= summary.embedded <= 5
    assert summary.reused == total  # every old text is still there, its vector reused
    index = load_index(index_dir)
    [new] = [c for c in index.clauses if "forty-two days" in c.text]
    assert new.doc_id == HW
    assert index.documents[HW].text[new.start : new.end] == new.text

    # 2. a document is deleted: its clauses are gone, nothing is embedded
    (docs_copy / "cartier-conditions-of-sale.txt").unlink()
    summary = build_index(docs_copy, index_dir, SentenceTransformerEmbedder())
    assert summary.removed == ["cartier-conditions-of-sale"]
    assert summary.changed == []
    assert summary.embedded == 0
    index = load_index(index_dir)
    assert "cartier-conditions-of-sale" not in index.documents
    assert all(c.doc_id != "cartier-conditions-of-sale" for c in index.clauses)
    assert len(index.clauses) == index.faiss_index.ntotal

    # 3. nothing changed: up to date, and the model is never loaded
    fresh = SentenceTransformerEmbedder()
    summary = build_index(docs_copy, index_dir, fresh)
    assert summary.up_to_date
    assert summary.embedded == 0
    assert "model" not in vars(fresh)  # the cached_property was never evaluated


@pytest.mark.slow
def test_failed_ingest_leaves_the_last_good_index(seed_index, embedder, tmp_path, docs_copy):
    index_dir = copy_index(seed_index, tmp_path / "index")
    link_before = os.readlink(index_dir / CURRENT)
    count_before = len(load_index(index_dir).clauses)
    (docs_copy / "zz-empty.txt").write_bytes(b"")
    with pytest.raises(InputError, match=r"zz-empty\.txt"):
        build_index(docs_copy, index_dir, embedder)
    assert os.readlink(index_dir / CURRENT) == link_before
    assert len(load_index(index_dir).clauses) == count_before


@pytest.mark.slow
def test_truncated_vector_store_is_refused(seed_index, tmp_path):
    index_dir = copy_index(seed_index, tmp_path / "index")
    build = current_build(index_dir)
    assert tmp_path in build.parents  # the copy's link resolves into the copy
    store = build / "default__vector_store.json"
    store.write_bytes(store.read_bytes()[:100])
    with pytest.raises(IndexNotReady, match=r"re-run `privacy-assistant ingest`") as info:
        load_index(index_dir)
    assert "default__vector_store.json" in str(info.value)
    load_index(seed_index)  # the original is untouched


@pytest.mark.slow
def test_other_model_identity_is_refused(seed_index, embedder):
    other = {**embedder.identity, "spec": "package:some_other_model", "dimension": 768}
    with pytest.raises(IndexNotReady, match="ingest") as info:
        load_index(seed_index, expected={"model": other})
    assert "model" in str(info.value)


@pytest.mark.slow
def test_other_splitter_is_refused(seed_index, embedder):
    with pytest.raises(IndexNotReady, match="ingest"):
        load_index(seed_index, expected=manifest_of(embedder.identity, SplitterConfig(max_chars=300)))


# --- bookkeeping with the fake embedder ----------------------------------------------------------


def test_fresh_build_embeds_each_distinct_text_once(fake_build):
    docs, index_dir, summary = fake_build
    texts = _texts(docs)
    assert not summary.up_to_date
    assert summary.embedded == len(set(texts))
    assert summary.reused == len(texts) - len(set(texts))
    assert summary.changed == sorted(SEED_IDS)
    assert summary.removed == []
    index = load_index(index_dir)
    assert len(index.clauses) == index.faiss_index.ntotal == sum(summary.documents.values())
    assert index.manifest["model"] == FakeEmbedder().identity


def test_two_fresh_builds_give_the_same_ids(fake_build, tmp_path):
    docs, index_dir, _ = fake_build
    build_index(docs, tmp_path / "second", FakeEmbedder())
    first, second = load_index(index_dir), load_index(tmp_path / "second")
    assert [c.clause_id for c in first.clauses] == [c.clause_id for c in second.clauses]
    assert (first.clause_vectors == second.clause_vectors).all()


def test_changed_document_embeds_exactly_its_new_texts(fake_build):
    docs, index_dir, _ = fake_build
    before = set(_texts(docs))
    _append(docs / f"{HW}.txt", NEW_PARAGRAPH)
    _append(docs / "cartier-conditions-of-sale.txt", "Gift cards may not be used to buy other gift cards online.")
    after = _texts(docs)
    fake = FakeEmbedder()
    summary = build_index(docs, index_dir, fake)
    expected_new = {t for t in after if t not in before}
    assert summary.changed == sorted(["cartier-conditions-of-sale", HW])
    assert summary.embedded == len(expected_new) == len(fake.embedded)
    assert set(fake.embedded) == expected_new
    assert summary.reused == len(after) - len(expected_new)
    assert any("forty-two days" in t for t in fake.embedded)


def test_unchanged_reingest_is_up_to_date(fake_build):
    docs, index_dir, first = fake_build
    link = os.readlink(index_dir / CURRENT)
    fake = FakeEmbedder()
    summary = build_index(docs, index_dir, fake)
    assert summary.up_to_date
    assert summary.embedded == 0 and fake.calls == []
    assert summary.documents == first.documents
    assert os.readlink(index_dir / CURRENT) == link


def test_removed_document_leaves_the_index(fake_build):
    docs, index_dir, _ = fake_build
    (docs / f"{HW}.txt").unlink()
    fake = FakeEmbedder()
    summary = build_index(docs, index_dir, fake)
    assert summary.removed == [HW]
    assert summary.embedded == 0 and fake.calls == []
    index = load_index(index_dir)
    assert HW not in index.documents
    assert all(c.doc_id != HW for c in index.clauses)


def test_other_splitter_settings_rebuild(fake_build):
    docs, index_dir, _ = fake_build
    summary = build_index(docs, index_dir, FakeEmbedder(), splitter=SplitterConfig(max_chars=300))
    assert not summary.up_to_date
    index = load_index(index_dir)
    assert index.manifest["splitter"]["max_chars"] == 300
    clauses = [c for doc, norm in load_documents(docs) for c in split_document(doc.doc_id, norm, SplitterConfig(300))]
    assert [c.clause_id for c in index.clauses] == [c.clause_id for c in clauses]
    assert len(index.sentence_vectors) == sum(len(c.sentences) for c in clauses)


def test_other_model_rebuilds_everything(fake_build):
    docs, index_dir, _ = fake_build

    class OtherFake(FakeEmbedder):
        @property
        def identity(self):
            return {**super().identity, "spec": "fake-2"}

    other = OtherFake()
    summary = build_index(docs, index_dir, other)
    assert not summary.up_to_date
    assert summary.embedded == len(set(_texts(docs)))
    assert load_index(index_dir).manifest["model"]["spec"] == "fake-2"


def test_only_two_builds_are_kept(fake_build):
    docs, index_dir, _ = fake_build
    for i in range(3):
        _append(docs / f"{HW}.txt", f"Extra note number {i}: this paragraph exists only to change the file again.")
        build_index(docs, index_dir, FakeEmbedder())
    builds = sorted(p.name for p in (index_dir / "builds").iterdir())
    assert len(builds) == 2
    assert not any(name.startswith(".tmp-") for name in builds)
    assert current_build(index_dir).name in builds


def test_embedding_failure_leaves_the_last_good_index(fake_build):
    docs, index_dir, _ = fake_build
    link = os.readlink(index_dir / CURRENT)
    count = len(load_index(index_dir).clauses)

    class Broken(FakeEmbedder):
        def embed_texts(self, texts, progress=None):
            raise RuntimeError("out of memory")

    _append(docs / f"{HW}.txt", NEW_PARAGRAPH)
    with pytest.raises(RuntimeError):
        build_index(docs, index_dir, Broken())
    assert os.readlink(index_dir / CURRENT) == link
    assert len(load_index(index_dir).clauses) == count
    assert not any(p.name.startswith(".tmp-") for p in (index_dir / "builds").iterdir())


def test_bad_document_is_refused_before_anything_is_written(tmp_path, docs_copy):
    (docs_copy / "broken.txt").write_bytes(b"\x00\x01binary")
    index_dir = tmp_path / "index"
    with pytest.raises(InputError, match=r"broken\.txt"):
        build_index(docs_copy, index_dir, FakeEmbedder())
    assert not (index_dir / CURRENT).exists()


def test_concurrent_ingest_is_refused(fake_build):
    docs, index_dir, _ = fake_build
    with open(index_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(InputError, match="another ingest"):
            build_index(docs, index_dir, FakeEmbedder())


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(IndexNotReady, match="ingest"):
        load_index(tmp_path / "nothing-here")


def test_unreadable_manifest_is_reported(fake_build, tmp_path):
    _, index_dir, _ = fake_build
    (current_build(index_dir) / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexNotReady, match=r"re-run `privacy-assistant ingest`"):
        load_index(index_dir)


@pytest.mark.parametrize("files", [{}, None, "off", {"documents.jsonl": "0" * 64}])
def test_a_manifest_cannot_switch_its_integrity_check_off(fake_build, files):
    _, index_dir, _ = fake_build
    path = current_build(index_dir) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"] = files
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexNotReady, match=r"re-run `privacy-assistant ingest`"):
        load_index(index_dir)


def test_deleted_index_file_is_reported(fake_build):
    _, index_dir, _ = fake_build
    (current_build(index_dir) / "clauses.jsonl").unlink()
    with pytest.raises(IndexNotReady, match=r"clauses\.jsonl"):
        load_index(index_dir)


def test_faiss_store_is_readable_and_matches(fake_build):
    _, index_dir, _ = fake_build
    build = current_build(index_dir)
    store = faiss.read_index(str(build / "default__vector_store.json"))
    index = load_index(index_dir)
    assert store.ntotal == len(index.clauses)
    assert store.d == 384


def test_reingest_repairs_a_corrupted_index(fake_build):
    docs, index_dir, _ = fake_build
    store = current_build(index_dir) / "default__vector_store.json"
    store.write_bytes(store.read_bytes()[:100])
    with pytest.raises(IndexNotReady, match="ingest"):
        load_index(index_dir)
    build_index(docs, index_dir, FakeEmbedder())  # what the message tells the user to do
    load_index(index_dir)


def test_catalogue_change_reaches_the_index(fake_build):
    docs, index_dir, _ = fake_build
    catalogue = docs / "catalogue.toml"
    catalogue.write_text(
        catalogue.read_text(encoding="utf-8").replace(
            'title = "Harry Winston Privacy Policy"', 'title = "Harry Winston Online Privacy Policy"'
        ),
        encoding="utf-8",
    )
    assert load_documents(docs)[-1][0].meta.title == "Harry Winston Online Privacy Policy"
    build_index(docs, index_dir, FakeEmbedder())
    assert load_index(index_dir).documents[HW].meta.title == "Harry Winston Online Privacy Policy"


# --- the command line ----------------------------------------------------------------------------


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_cli_ingest_empty_file(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("We keep your data for one year and then delete it for good.\n", encoding="utf-8")
    (docs / "empty.txt").write_bytes(b"")
    result = run_cli("--documents", str(docs), "--index", str(tmp_path / "index"), "ingest")
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert str(docs / "empty.txt") in line
    assert result.stdout == ""
    assert not (tmp_path / "index" / CURRENT).exists()


def test_cli_ingest_missing_documents_folder(tmp_path):
    result = run_cli("--documents", "/nonexistent", "--index", str(tmp_path / "index"), "ingest")
    assert result.returncode == 2
    assert "/nonexistent" in _one_error_line(result.stderr)


def test_cli_usage_error_is_one_line():
    result = run_cli("frobnicate")
    assert result.returncode == 2
    _one_error_line(result.stderr)


def test_cli_ask_without_index(tmp_path):
    result = run_cli("--index", str(tmp_path / "no-index"), "ask", "How long do you keep my data?")
    assert result.returncode == 2
    assert "ingest" in _one_error_line(result.stderr)


@pytest.mark.slow
def test_cli_ingest_up_to_date(seed_index, tmp_path):
    index_dir = copy_index(seed_index, tmp_path / "index")
    result = run_cli("--documents", str(DOCUMENTS), "--index", str(index_dir), "ingest")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "index up to date: 5 documents" in result.stdout


def test_copy_index_helper_keeps_the_relative_link(fake_build, tmp_path):
    _, index_dir, _ = fake_build
    copied = copy_index(index_dir, tmp_path / "copied")
    assert (copied / CURRENT).is_symlink()
    assert current_build(copied).parent == (copied / "builds").resolve()
    shutil.rmtree(index_dir)
    assert len(load_index(copied).clauses) > 0

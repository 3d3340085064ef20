"""Loading a documents folder: bad input is refused with one line naming the file; metadata."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app.documents import load_documents
from app.errors import InputError
from tests.conftest import DOCUMENTS, SEED_IDS

GOOD = "Privacy notice\nWe keep your order history for five years to answer questions about your purchases.\n"


def _folder(tmp_path: Path, **files: bytes) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, data in files.items():
        (folder / name.replace("__", ".")).write_bytes(data)
    return folder


def _refused(folder: Path, names: str) -> str:
    """Load ``folder``, expecting an InputError whose single-line message names ``names``."""
    with pytest.raises(InputError) as info:
        load_documents(folder)
    message = str(info.value)
    assert "\n" not in message
    assert names in message
    return message


def test_empty_file(tmp_path):
    folder = _folder(tmp_path, good__txt=GOOD.encode(), empty__txt=b"")
    assert "empty" in _refused(folder, str(folder / "empty.txt"))


def test_whitespace_only_file(tmp_path):
    folder = _folder(tmp_path, blank__txt=b"  \n\n\t \n")
    _refused(folder, str(folder / "blank.txt"))


def test_markdown_rule_only_file(tmp_path):
    folder = _folder(tmp_path, rules__md=b"* * *\n---\n")
    assert "no text" in _refused(folder, str(folder / "rules.md"))


def test_binary_file(tmp_path):
    folder = _folder(tmp_path, blob__txt=b"PK\x03\x04\x00\x00binary\x00data")
    assert "binary" in _refused(folder, str(folder / "blob.txt"))


def test_non_utf8_file(tmp_path):
    folder = _folder(
        tmp_path, latin__txt="Politique de confidentialité: données à caractère personnel.".encode("latin-1")
    )
    assert "UTF-8" in _refused(folder, str(folder / "latin.txt"))


def test_utf8_bom_is_accepted(tmp_path):
    folder = _folder(tmp_path, bom__txt=b"\xef\xbb\xbf" + GOOD.encode())
    [(doc, _)] = load_documents(folder)
    assert doc.text.startswith("Privacy notice")


def test_duplicate_doc_id(tmp_path):
    folder = _folder(tmp_path, a__txt=GOOD.encode(), a__md=GOOD.encode())
    message = _refused(folder, "a.")
    assert "duplicate" in message
    assert str(folder / "a.txt") in message or str(folder / "a.md") in message


def test_invalid_doc_id(tmp_path):
    folder = _folder(tmp_path)
    (folder / "my policy.txt").write_text(GOOD, encoding="utf-8")
    _refused(folder, "my policy.txt")


def test_empty_folder(tmp_path):
    folder = _folder(tmp_path)
    _refused(folder, str(folder))


def test_folder_with_only_other_files(tmp_path):
    folder = _folder(tmp_path, notes__pdf=b"%PDF-1.4", **{".hidden__txt": GOOD.encode()})
    _refused(folder, str(folder))


def test_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    assert "does not exist" in _refused(missing, str(missing))


def test_documents_path_is_a_file(tmp_path):
    path = tmp_path / "policy.txt"
    path.write_text(GOOD, encoding="utf-8")
    assert "not a folder" in _refused(path, str(path))


def test_unreadable_folder(tmp_path):
    folder = _folder(tmp_path, good__txt=GOOD.encode())
    folder.chmod(0)
    try:
        if os.access(folder, os.R_OK):
            pytest.skip("running with privileges that read a chmod 000 folder")
        _refused(folder, str(folder))
    finally:
        folder.chmod(0o755)


def test_unreadable_file(tmp_path):
    folder = _folder(tmp_path, secret__txt=GOOD.encode())
    (folder / "secret.txt").chmod(0)
    try:
        if os.access(folder / "secret.txt", os.R_OK):
            pytest.skip("running with privileges that read a chmod 000 file")
        _refused(folder, str(folder / "secret.txt"))
    finally:
        (folder / "secret.txt").chmod(0o644)


def test_broken_symlink(tmp_path):
    folder = _folder(tmp_path, good__txt=GOOD.encode())
    (folder / "x.txt").symlink_to(tmp_path / "does-not-exist.txt")
    _refused(folder, str(folder / "x.txt"))


def test_symlink_loop(tmp_path):
    folder = _folder(tmp_path, good__txt=GOOD.encode())
    (folder / "x.txt").symlink_to(folder / "y.txt")
    (folder / "y.txt").symlink_to(folder / "x.txt")
    _refused(folder, str(folder / "x.txt"))


def test_folder_named_like_a_document(tmp_path):
    folder = _folder(tmp_path, good__txt=GOOD.encode())
    (folder / "sub.txt").mkdir()
    _refused(folder, str(folder / "sub.txt"))


def test_symlink_to_a_good_file_inside_the_folder_is_followed(tmp_path):
    folder = _folder(tmp_path)
    (folder / "versions").mkdir()
    (folder / "versions" / "v2.txt").write_text(GOOD, encoding="utf-8")
    (folder / "linked.txt").symlink_to(folder / "versions" / "v2.txt")
    [(doc, _)] = load_documents(folder)
    assert doc.doc_id == "linked"


@pytest.mark.parametrize("outside", ["elsewhere.txt", "/etc/hostname"])
def test_symlink_leaving_the_folder_is_refused(tmp_path, outside):
    target = tmp_path / outside if not outside.startswith("/") else Path(outside)
    if not target.is_absolute() or not target.exists():
        target = tmp_path / "elsewhere.txt"
        target.write_text(GOOD, encoding="utf-8")
    folder = _folder(tmp_path)
    (folder / "linked.txt").symlink_to(target)
    _refused(folder, str(folder / "linked.txt"))


def test_invalid_catalogue(tmp_path):
    folder = _folder(tmp_path, a__txt=GOOD.encode(), catalogue__toml=b"[a\ntitle = ")
    _refused(folder, str(folder / "catalogue.toml"))


def test_catalogue_unknown_field(tmp_path):
    folder = _folder(tmp_path, a__txt=GOOD.encode(), catalogue__toml=b'[a]\nauthor = "me"\n')
    assert "author" in _refused(folder, str(folder / "catalogue.toml"))


def test_catalogue_wrong_type(tmp_path):
    folder = _folder(tmp_path, a__txt=GOOD.encode(), catalogue__toml=b'[a]\nlanguages = "en"\n')
    assert "languages" in _refused(folder, "catalogue.toml")


# --- plain folders ------------------------------------------------------------------------------


def test_plain_folder_without_catalogue(tmp_path):
    folder = _folder(
        tmp_path,
        alpha__txt=b"Alpha Privacy Notice\nLast updated: 3 March 2021\nWe keep your data for a short while only.\n",
        beta__md="## 隐私政策\n我们会保护您的个人信息。我们不会出售您的个人信息。\n".encode(),
    )
    loaded = load_documents(folder)
    assert [doc.doc_id for doc, _ in loaded] == ["alpha", "beta"]
    alpha, beta = (doc.meta for doc, _ in loaded)
    assert alpha.title == "Alpha Privacy Notice"
    assert alpha.effective_date == "3 March 2021"
    assert alpha.languages == ("en",)
    assert alpha.brand == "" and alpha.region == "" and alpha.superseded_by == "" and alpha.source_url == ""
    assert alpha.is_current
    assert beta.languages == ("zh",)
    assert beta.title == "隐私政策"
    assert beta.effective_date == ""


def test_one_sentence_per_line_corpus(tmp_path):
    lines = [f"Sentence number {i} says the company keeps records for {i} days." for i in range(1, 6)]
    folder = _folder(tmp_path, bench__txt="\n".join(lines).encode())
    [(doc, norm)] = load_documents(folder)
    for line in lines:
        assert line in doc.text
    assert doc.text == norm.text


def test_sha256_is_of_the_raw_bytes(tmp_path):
    import hashlib

    data = GOOD.encode()
    folder = _folder(tmp_path, a__txt=data)
    [(doc, _)] = load_documents(folder)
    assert doc.sha256 == hashlib.sha256(data).hexdigest()


# --- the seed folder ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_meta():
    return {doc.doc_id: doc.meta for doc, _ in load_documents(DOCUMENTS)}


def test_seed_folder_loads_all_documents(seed_meta):
    assert sorted(seed_meta) == sorted(SEED_IDS)


@pytest.mark.parametrize(
    ("doc_id", "field", "value"),
    [
        ("cartier-privacy-policy-2024", "title", "Cartier Privacy Policy"),
        ("cartier-privacy-policy-2024", "brand", "Cartier"),
        ("cartier-privacy-policy-2024", "effective_date", "2024-09"),
        ("cartier-privacy-policy-2024", "superseded_by", ""),
        ("cartier-us-privacy-policy-2010", "region", "United States"),
        ("cartier-us-privacy-policy-2010", "effective_date", "2010-03"),
        ("cartier-us-privacy-policy-2010", "superseded_by", "cartier-privacy-policy-2024"),
        ("cartier-china-privacy-policy-2023", "languages", ("zh", "en")),
        ("cartier-china-privacy-policy-2023", "region", "China (mainland)"),
        ("cartier-china-privacy-policy-2023", "effective_date", "2023-12"),
        ("cartier-conditions-of-sale", "title", "Cartier Conditions of Sale — 7. Payment by credit card (excerpt)"),
        ("harry-winston-privacy-policy-2015", "brand", "Harry Winston"),
        ("harry-winston-privacy-policy-2015", "effective_date", "2015-07-07"),
        ("harry-winston-privacy-policy-2015", "languages", ("en",)),
    ],
)
def test_seed_catalogue_metadata(seed_meta, doc_id, field, value):
    assert getattr(seed_meta[doc_id], field) == value


def test_seed_2010_is_superseded_and_2024_is_current(seed_meta):
    assert not seed_meta["cartier-us-privacy-policy-2010"].is_current
    assert seed_meta["cartier-privacy-policy-2024"].is_current
    assert seed_meta["cartier-us-privacy-policy-2010"].superseded_by in seed_meta


def test_seed_source_url_from_banner(seed_meta):
    url = seed_meta["cartier-us-privacy-policy-2010"].source_url
    assert url.startswith("https://")
    assert "cartier.us/privacy-policy" in url
    assert "harrywinston.com" in seed_meta["harry-winston-privacy-policy-2015"].source_url


def test_catalogue_entry_without_file_is_only_a_warning(tmp_path, caplog):
    folder = _folder(tmp_path, a__txt=GOOD.encode(), catalogue__toml=b'[a]\ntitle = "A"\n[ghost]\ntitle = "G"\n')
    loaded = load_documents(folder)
    assert [d.doc_id for d, _ in loaded] == ["a"]
    assert "ghost" in caplog.text


def test_copied_seed_folder_loads_the_same(tmp_path, seed_meta):
    copy = tmp_path / "documents"
    shutil.copytree(DOCUMENTS, copy)
    assert {d.doc_id: d.meta for d, _ in load_documents(copy)} == seed_meta


def test_permission_denied_on_folder_is_reported(tmp_path, monkeypatch):
    """The same path as chmod 000, reachable when the tests run as root."""
    folder = _folder(tmp_path, good__txt=GOOD.encode())

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("app.documents.os.scandir", denied)
    assert "not readable" in _refused(folder, str(folder))


def test_permission_denied_on_file_is_reported(tmp_path, monkeypatch):
    folder = _folder(tmp_path, secret__txt=GOOD.encode())
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "secret.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert "Permission denied" in _refused(folder, str(folder / "secret.txt"))

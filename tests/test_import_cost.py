"""Importing the web app or the assistant loads no model, no jieba and no torch.

A process that only imports (the CLI's ``--help``, pytest collecting, a server worker starting)
must stay quick; the models and jieba's dictionary load on the first question. Each import
runs in a fresh interpreter with an audit hook that records every file opened, so that a model
read at import is caught even where no module name gives it away. The import time is printed
(``pytest -s``) and recorded as a property, never asserted: it depends on the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Libraries this project imports only where it uses them: each costs seconds or a model load.
LAZY = ("jieba", "torch", "transformers", "sentence_transformers")
# Files that are a model, its tokenizer, an index or jieba's dictionary.
MODEL_FILES = (".safetensors", ".bin", ".pt", ".onnx", ".gguf", ".faiss", "tokenizer.json", "dict.txt", "jieba.cache")
# The project's model objects (module, class): none may exist after an import.
MODEL_CLASSES = (
    ("app.embedding", "SentenceTransformerEmbedder"),
    ("app.lead", "Reader"),
    ("app.intent", "IntentModel"),
)

_PROBE = """
import gc, json, os, sys, time

opened = []

def _audit(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.append(os.fsdecode(args[0]))

sys.addaudithook(_audit)
start = time.perf_counter()
{statement}
seconds = time.perf_counter() - start
modules = sorted(sys.modules)
classes = [getattr(sys.modules[m], c) for m, c in {classes!r} if m in sys.modules]
live = sorted({{type(o).__qualname__ for o in gc.get_objects() if isinstance(o, tuple(classes))}}) if classes else []
print(json.dumps({{"seconds": seconds, "modules": modules, "opened": opened, "models": live}}))
"""


@dataclass(frozen=True)
class ImportCost:
    """What running one statement (an import) did in a fresh interpreter."""

    seconds: float
    modules: frozenset[str]  # top-level packages then loaded
    opened: tuple[str, ...]  # every file it opened
    models: tuple[str, ...]  # the project's model objects alive afterwards (class names)


def probe(statement: str) -> ImportCost:
    """Run ``statement`` in a fresh interpreter (offline, as the app runs) and say what it cost."""
    code = _PROBE.format(statement=statement, classes=MODEL_CLASSES)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    found = json.loads(run.stdout.strip().splitlines()[-1])
    return ImportCost(
        float(found["seconds"]),
        frozenset(m.split(".")[0] for m in found["modules"]),
        tuple(found["opened"]),
        tuple(found["models"]),
    )


def read_models(cost: ImportCost) -> list[str]:
    """The model, tokenizer, index or dictionary files among those opened."""
    models_dir = str(ROOT / "models")
    return [p for p in cost.opened if p.endswith(MODEL_FILES) or p.startswith(models_dir)]


@pytest.mark.parametrize("module", ["app.web", "app.assistant"])
def test_import_loads_no_model_and_no_jieba(module: str, record_property: Callable[[str, object], None]) -> None:
    cost = probe(f"import {module}")
    record_property("import_seconds", round(cost.seconds, 3))
    print(f"import {module}: {cost.seconds:.2f} s")  # for the report (pytest -s); never asserted
    assert cost.modules.isdisjoint(LAZY), f"imported at import time: {sorted(cost.modules & set(LAZY))}"
    assert not cost.models, f"model objects created at import time: {cost.models}"
    assert not read_models(cost), f"model files opened at import time: {read_models(cost)}"


def test_the_probe_sees_what_it_looks_for() -> None:
    """The first Chinese question starts jieba, and an embedder is a model object: the probe must
    see both, or the test above would pass for want of looking."""
    cost = probe(
        "import app.text.lexical, app.embedding; app.text.lexical.tokenize('隐私政策'); "
        "embedder = app.embedding.SentenceTransformerEmbedder('unused')"
    )
    assert "jieba" in cost.modules
    assert any(p.endswith(("dict.txt", "jieba.cache")) for p in read_models(cost))
    assert cost.models == ("SentenceTransformerEmbedder",)

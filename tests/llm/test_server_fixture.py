"""The llama-server fixture reports a dead server by how it died (signal, log tail), not as a
refused connection: on an AMX machine a natively built llama.cpp segfaulted on the first
completion and five tests said only "cannot connect" (issue 22, item 8). No model is needed:
a stand-in process dies the same way."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.llm.conftest import _SERVER, ServerProcess, exit_reason, pytest_runtest_makereport

SEGFAULTS = "import os, signal, sys; print('llama_model_loader: loaded meta data'); sys.stdout.flush(); " \
    "os.kill(os.getpid(), signal.SIGSEGV)"  # fmt: skip


def _start(code: str, log: Path) -> ServerProcess:
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT)
    return ServerProcess(proc, log)


def test_a_segfaulted_server_is_reported_with_its_signal_and_log_tail(tmp_path: Path) -> None:
    server = _start(SEGFAULTS, tmp_path / "server.log")
    server.proc.wait(timeout=30)
    death = server.death()
    assert death is not None
    assert "killed by SIGSEGV (signal 11)" in death and "llama_model_loader: loaded meta data" in death


def test_a_running_server_has_no_death_and_an_exit_status_is_named(tmp_path: Path) -> None:
    server = _start("import time; time.sleep(60)", tmp_path / "server.log")
    try:
        assert server.death() is None
    finally:
        server.proc.kill()
        server.proc.wait()
    assert exit_reason(-signal.SIGKILL) == "was killed by SIGKILL (signal 9)"
    assert exit_reason(139) == "was killed by SIGSEGV (signal 11)"
    assert exit_reason(1) == "exited with status 1"


def test_a_test_failing_on_a_dead_server_says_how_it_died(tmp_path: Path) -> None:
    server = _start(SEGFAULTS, tmp_path / "server.log")
    server.proc.wait(timeout=30)
    stash = pytest.Stash()
    stash[_SERVER] = server
    item = SimpleNamespace(session=SimpleNamespace(stash=stash))
    report = SimpleNamespace(when="call", failed=True, longrepr="httpx.ConnectError: [Errno 111] Connection refused")
    hook = pytest_runtest_makereport(item, None)  # type: ignore[arg-type]
    next(hook)
    with pytest.raises(StopIteration):
        hook.send(SimpleNamespace(get_result=lambda: report))
    assert str(report.longrepr).startswith("the llama-cpp-python server (pid ")
    assert "killed by SIGSEGV" in report.longrepr and report.longrepr.endswith("Connection refused")

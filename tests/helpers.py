"""Starting and stopping the real server (and other subprocesses) for tests, in one place;
and the command line run in this process, for tests that only read its output and exit status."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPResponse
from pathlib import Path

import pytest

from app.web import LoginGuard

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(
    url: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    timeout: float = 180.0,
    ready: Callable[[HTTPResponse], bool] | None = None,
) -> None:
    """Poll ``url`` until it answers 200 (and ``ready`` accepts the response, when given); fail
    with the log's tail if the process dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200 and (ready is None or ready(response)):
                    return
        except (OSError, ValueError):  # not listening yet; or an answer ``ready`` cannot parse yet
            pass
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-4000:]
    pytest.fail(f"the server did not answer at {url} within {timeout:.0f} s:\n{tail}")


def stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Terminate, then kill if it does not exit in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def serving(index: Path, work: Path, env: Mapping[str, str], verbose: bool = False) -> Iterator[str]:
    """`privacy-assistant serve` on a free loopback port with ``env`` over a clean environment
    (no config file, no trusted proxies); yields its URL and stops it after. Log: work/server.log."""
    port = free_port()
    full = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", **env}
    for name in ("PRIVACY_ASSISTANT_CONFIG", "PRIVACY_ASSISTANT_TRUSTED_PROXIES"):
        if name not in env:
            full.pop(name, None)
    log = work / "server.log"
    command = [sys.executable, "-m", "app.cli", *(["-v"] if verbose else []), "--index", str(index)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*command, "serve", "--port", str(port)], cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/", proc, log)
        yield url
    finally:
        stop(proc)


@dataclass(frozen=True)
class CliResult:
    """What `privacy-assistant ARGS` printed and returned (the attributes of a CompletedProcess)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: Mapping[str, str] | None = None, cwd: Path = ROOT) -> CliResult:
    """`privacy-assistant ARGS` in this process (``app.cli.main``) from ``cwd``, with ``env`` laid
    over the environment; both are restored after. For tests that only read the output and exit
    status: a test about a real process (a server, a kill, argv bytes) starts one instead.
    An exception the CLI does not turn into an exit status propagates (a subprocess would show
    it as a traceback on stderr and exit 1)."""
    from app.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    try:
        os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})})
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's --help
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return CliResult(code, out.getvalue(), err.getvalue())


class Clock:
    """A clock a test moves by hand (``clock.now += 60``)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def login_attempt(guard: LoginGuard, client: str, user: str, password: str) -> tuple[bool, float]:
    """One sign-in through ``guard`` as the server makes it from ``client``: (accepted, seconds locked)."""
    result = guard.check(client, user, password)
    return result.ok, result.locked_for


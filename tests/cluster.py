"""Real PostgreSQL, nginx and server replicas on loopback ports, in a temporary folder, for
the replica tests and the replica benchmark. Nothing is mocked: Debian's `postgres` and
`nginx` binaries (`make cluster-deps`), and `privacy-assistant serve` processes."""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def missing() -> str:
    """What the cluster tests lack on this machine ("" when nothing)."""
    lacks = [name for name, ok in (("postgresql", postgres_bin() is not None), ("nginx", shutil.which("nginx")))
             if not ok]  # fmt: skip
    return ", ".join(lacks)


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres() -> Iterator[str]:
    """A fresh PostgreSQL cluster on a free loopback port; yields its URL; stopped and removed after."""
    bindir = postgres_bin()
    assert bindir is not None, "PostgreSQL is not installed (make cluster-deps)"
    work = Path(tempfile.mkdtemp(prefix="pa-pg-"))
    os.chmod(work, 0o777)  # the postgres user writes here when the tests run as root
    data, port = work / "data", free_port()
    run = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "pa", "-A", "trust", "-E", "UTF8"]),
                   **run)  # type: ignore[call-overload]  # fmt: skip
    options = f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=on"
    start = [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(work / "postgres.log"), "-w", "start"]
    subprocess.run(_as_postgres(start), **run)  # type: ignore[call-overload]
    try:
        yield f"postgresql://pa@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)


def render_nginx(listen: int, upstreams: list[int], work: Path, expose_upstream: bool = False) -> str:
    """deploy/nginx.conf with this run's ports and paths (and, for tests, a header naming the
    replica that answered)."""
    text = NGINX_CONF.read_text(encoding="utf-8")
    servers = "".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in upstreams)
    text = re.sub(r"(?m)^        server 127\.0\.0\.1:\d+ .*\n", "", text)
    text = text.replace("        keepalive 32;", servers + "        keepalive 32;")
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    text = text.replace("pid /run/privacy-assistant-nginx.pid;", f"pid {work}/nginx.pid;")
    text = re.sub(r"error_log \S+ warn;", f"error_log {work}/error.log warn;", text)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "".join(f"    {kind}_temp_path {work}/{kind};\n" for kind in kinds)
    text = text.replace("http {\n", "http {\n" + temp, 1)
    if expose_upstream:
        header = "\n            add_header X-Upstream $upstream_addr always;"
        text = text.replace("proxy_pass http://privacy_assistant;", "proxy_pass http://privacy_assistant;" + header)
    if os.geteuid() == 0:
        text = "user root;\n" + text
    return text


@contextmanager
def nginx(upstreams: list[int], expose_upstream: bool = True) -> Iterator[str]:
    """nginx with deploy/nginx.conf in front of ``upstreams``; yields its URL."""
    work = Path(tempfile.mkdtemp(prefix="pa-nginx-"))
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(render_nginx(port, upstreams, work, expose_upstream), encoding="utf-8")
    with open(work / "stderr.log", "wb") as err:
        proc = subprocess.Popen(["nginx", "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
                                stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, work / "stderr.log", timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class Replica:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def start_replica(index: Path, work: Path, env: Mapping[str, str]) -> Replica:
    """`privacy-assistant serve` on a free port (not yet waited for)."""
    port = free_port()
    log = work / f"replica-{port}.log"
    full = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **env}
    full.pop("PRIVACY_ASSISTANT_CONFIG", None)
    command = [sys.executable, "-m", "app.cli", "--index", str(index), "serve", "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT)
    return Replica(port, proc, log)


@contextmanager
def replicas(n: int, index: Path, work: Path, env: Mapping[str, str]) -> Iterator[list[Replica]]:
    """``n`` replicas sharing ``index`` (and whatever ``env`` shares), up and healthy."""
    started = [start_replica(index, work, env) for _ in range(n)]
    try:
        for r in started:
            wait_until_up(r.url + "/healthz", r.proc, r.log, timeout=240)
        yield started
    finally:
        for r in started:
            if r.proc.poll() is None:
                r.proc.terminate()
                try:
                    r.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    r.kill()


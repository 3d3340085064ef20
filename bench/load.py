"""Load test of the web app on loopback: N concurrent clients through the real HTTP API.

    .venv/bin/python bench/load.py [--clients 16] [--seconds 60] [--index index] [--port 0] [--json]

Starts the real server (`python -m app.cli --index INDEX serve`) as a subprocess on
127.0.0.1, waits until it answers, warms it up, reads the server's RSS, then runs N client
threads that each loop over a fixed list of questions, calling the customer chat's `/ask`
API until the time is up (or the hard cap on requests is reached), reads the RSS again,
stops the server and prints throughput, client-side latency percentiles, errors and memory.

Traffic goes to 127.0.0.1 only; the run is bounded in time and in requests and always
stops the server (try/finally). The server is started with a high per-client rate limit
(PRIVACY_ASSISTANT_RATE_PER_MINUTE) so that the clients, all from 127.0.0.1, are not
throttled, with no agent credentials, and with a throwaway feedback database.

Two client kinds (--client):
  http    (default) one httpx.Client per thread speaking Gradio's REST API:
          POST /gradio_api/call/ask, then GET /gradio_api/call/ask/{event_id} (SSE).
          Two round trips per request and no client-side machinery: what it measures is
          the server's latency, the queue wait included.
  gradio  one gradio_client.Client per thread (queue/join + SSE, a heartbeat thread per
          client); heavier on the client side, which on a 2-core machine competes with
          the server for CPU and inflates the figures.
  rest    one httpx.Client per thread calling the REST API, POST /v1/answers: one round
          trip, no Gradio queue (bench/api.py compares it with `http` in one run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # never anything else
API = "ask"
RATE_ENV = "PRIVACY_ASSISTANT_RATE_PER_MINUTE"
HIGH_RATE = "1000000"  # per client per minute: the load clients all come from 127.0.0.1

# A fixed mix: English and Chinese, formal and casual, a few the policies cannot answer
# and a few off-topic (most from evals/dev.jsonl).
QUESTIONS: tuple[str, ...] = (
    "How long do you keep my data?",
    "Do you sell my personal information?",
    "How can I delete my data?",
    "Which credit cards does Cartier accept for online orders?",
    "do u guys take discover card??",
    "why is there a hold for the whole price on my card before anything got shipped",
    "is it 100% safe to send my info over the internet when i buy from cartier online?",
    "can i pay w/ paypal on the cartier site?",
    "what's the name of harry winston's privacy officer?",
    "Under the 2010 policy, how long are recorded Client Relations Center calls retained?",
    "what did the old 2010 cartier us site use cookies for",
    "What must a California resident write in the Regarding line of a Shine the Light request to Harry Winston?",
    "Which web analytics tool does Harry Winston use?",
    "i have DNT turned on, will harry winston's analytics partners stop tracking me?",
    "email address for harry winston privacy stuff?",
    "Does the 2024 Cartier policy commit to notifying customers and regulators of a data incident?",
    "Can Cartier send marketing via WhatsApp under the 2024 policy?",
    "What retention period applies to contract-related information under the 2024 policy?",
    "Which browser signal can California consumers use to opt out of cookie-based selling/sharing?",
    "why would cartier need my passport??",
    "can i opt out of cartier's AI profiling stuff",
    "my address on file with cartier is old, can i get it fixed?",
    "can i get a copy of my data from cartier in like a spreadsheet or something",
    "does cartier or harry winston sell my info? whats the difference",
    "what's the weather like in Paris tomorrow?",
    "Can you recommend a good pizza place near me?",
    "根据卡地亚中国隐私政策,敏感个人信息包括哪些类型?",
    "会话Cookies什么时候会被删除?",
    "跨境传输前卡地亚需要满足哪些条件?",
    "撤回同意的请求,卡地亚多久内回复?",
    "如果发现未满14岁的用户提交了个人信息,卡地亚会怎么处理?",
    "隐私政策有大的变动的话,你们会怎么通知我啊?",
    "打电话给卡地亚客服会被录音吗?为什么要录?",
    "在门店连卡地亚免费Wi-Fi,会收集我设备的哪些信息?",
    "我注销了账号,你们还会留我的支付记录吗?",
    "怎么退订卡地亚的营销邮件?",
    "广告cookies我可以拒绝吗?",
    "卡地亚手表的保修期是多长时间?",
    "你们如何保护我的个人信息？",
    "今天上海天气怎么样?",
)


# -- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """All descendants of `pid` (from /proc/*/stat)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its descendants so far (Linux /proc)."""
    total = 0
    for p in (pid, *_children(pid)):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


def rss_bytes(pid: int) -> int:
    """VmRSS of `pid` and its descendants, in bytes (Linux /proc)."""
    total = 0
    for p in (pid, *_children(pid)):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return total


class Server:
    """`python -m app.cli --index INDEX serve --port PORT` on 127.0.0.1, as a subprocess."""

    def __init__(self, index: Path, port: int, rate_per_minute: str = HIGH_RATE,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self._tmp = tempfile.TemporaryDirectory(prefix="pa-load-")
        env = {k: v for k, v in os.environ.items()
               if k not in ("PRIVACY_ASSISTANT_AGENT_USER", "PRIVACY_ASSISTANT_AGENT_PASSWORD",
                            "PRIVACY_ASSISTANT_CONFIG")}
        env.update({
            RATE_ENV: rate_per_minute,
            "PRIVACY_ASSISTANT_FEEDBACK_DB": str(Path(self._tmp.name) / "feedback.sqlite3"),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            **(extra_env or {}),
        })
        self.log_path = Path(self._tmp.name) / "server.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "--index", str(index), "serve", "--host", HOST,
             "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout_s: float = 300.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=5.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.url}/gradio_api/info").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
        raise RuntimeError(f"server did not answer within {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def rss(self) -> int:
        return rss_bytes(self.proc.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: only what we started
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()
        self._tmp.cleanup()


# -- the clients ----------------------------------------------------------------------------


class Outcome(Exception):
    """A request that did not produce an answer."""


def http_caller(
    url: str, timeout_s: float, session: bool = True
) -> tuple[Callable[[str], dict[str, Any]], Callable[[], None]]:
    """Gradio's REST API with httpx: POST /gradio_api/call/ask, then read the SSE result.
    With `session`, the client keeps one Gradio session (as a browser tab or a
    gradio_client.Client does); without, each call opens a new one on the server."""
    import httpx

    client = httpx.Client(base_url=url, timeout=timeout_s, trust_env=False)
    extra = {"session_hash": uuid.uuid4().hex[:11]} if session else {}

    def call(question: str) -> dict[str, Any]:
        # ASCII-escaped JSON, as many clients send it: a lone surrogate ("\ud800") stays valid JSON
        body = json.dumps({"data": [question, ""], **extra})
        r = client.post(f"/gradio_api/call/{API}", content=body, headers={"content-type": "application/json"})
        if r.status_code != 200:
            raise Outcome(f"POST {r.status_code}")
        event_id = r.json()["event_id"]
        event = ""
        with client.stream("GET", f"/gradio_api/call/{API}/{event_id}") as stream:
            if stream.status_code != 200:
                raise Outcome(f"GET {stream.status_code}")
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = json.loads(line[5:])
                    if event == "error":
                        raise Outcome(f"error event: {str(data)[:120]}")
                    return dict(data[0])
        raise Outcome("stream ended without a result")

    return call, client.close


def gradio_caller(url: str, timeout_s: float) -> tuple[Callable[[str], dict[str, Any]], Callable[[], None]]:
    """One gradio_client.Client."""
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)

    def call(question: str) -> dict[str, Any]:
        job = client.submit(question, "", api_name=f"/{API}")
        return dict(job.result(timeout=timeout_s))

    return call, client.close


def http_nosession_caller(url: str, timeout_s: float) -> tuple[Callable[[str], dict[str, Any]], Callable[[], None]]:
    return http_caller(url, timeout_s, session=False)


def rest_caller(url: str, timeout_s: float) -> tuple[Callable[[str], dict[str, Any]], Callable[[], None]]:
    """The REST API (app/api): one POST /v1/answers per question, answered off Gradio's queue.
    A 429 is a throttled answer, as the Gradio API's `rate_limited` reply is."""
    import httpx

    client = httpx.Client(base_url=url, timeout=timeout_s, trust_env=False)

    def call(question: str) -> dict[str, Any]:
        r = client.post("/v1/answers", json={"question": question})
        if r.status_code == 429:
            return {"answer": r.json()["error"]["message"], "rate_limited": True}
        if r.status_code != 200:
            raise Outcome(f"POST {r.status_code}: {r.text[:120]}")
        return dict(r.json())

    return call, client.close


CALLERS = {"http": http_caller, "http-nosession": http_nosession_caller, "gradio": gradio_caller, "rest": rest_caller}


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    throttled: int = 0
    active_clients: int = 0  # clients that sent at least one request
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def is_throttled(result: dict[str, Any]) -> bool:
    return bool(result.get("rate_limited"))


def run_clients(
    url: str,
    clients: int,
    seconds: float,
    max_requests: int,
    kind: str,
    timeout_s: float = 30.0,
    questions: Sequence[str] = QUESTIONS,
) -> tuple[Tally, float]:
    tally = Tally()
    issued = 0
    issued_lock = threading.Lock()
    start = [0.0, 0.0]  # when the run started, when it ends

    def open_gate() -> None:  # run by the barrier once every client is ready, before any goes
        start[0] = time.monotonic()
        start[1] = start[0] + seconds

    start_gate = threading.Barrier(clients, action=open_gate, timeout=120)

    def take() -> bool:
        nonlocal issued
        with issued_lock:
            if issued >= max_requests or time.monotonic() >= start[1]:
                return False
            issued += 1
            return True

    def worker(n: int) -> None:
        try:
            call, close = CALLERS[kind](url, timeout_s)
        except Exception as exc:  # counted, the run goes on
            with tally.lock:
                tally.errors += 1
                tally.samples.append(f"client setup: {exc!r}"[:200])
            with contextlib.suppress(threading.BrokenBarrierError):
                start_gate.wait()
            return
        try:
            start_gate.wait()
        except threading.BrokenBarrierError:
            close()
            with tally.lock:
                tally.errors += 1
                tally.samples.append("clients not ready within 120 s")
            return
        i = n * 7  # each client starts at a different question
        done = 0
        try:
            while take():
                done += 1
                question = questions[i % len(questions)]
                i += 1
                t0 = time.perf_counter()
                try:
                    result = call(question)
                    ok = isinstance(result.get("answer"), str) and result["answer"] != ""
                    why = "" if ok else f"no answer: {str(result)[:120]}"
                except Exception as exc:  # any failure is an error of the run
                    result, ok, why = {}, False, repr(exc)[:200]
                elapsed = time.perf_counter() - t0
                with tally.lock:
                    tally.latencies.append(elapsed)
                    if ok and is_throttled(result):
                        tally.throttled += 1
                    if not ok:
                        tally.errors += 1
                        if len(tally.samples) < 5:
                            tally.samples.append(why)
        finally:
            close()
            if done:
                with tally.lock:
                    tally.active_clients += 1

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    give_up = time.monotonic() + seconds + 2 * timeout_s + 60  # client setup, the run, the last requests
    for t in threads:
        t.join(max(0.0, give_up - time.monotonic()))
    if any(t.is_alive() for t in threads):
        tally.errors += 1
        tally.samples.append("clients still running at the time limit")
    return tally, time.monotonic() - start[0] if start[0] else 0.0


# What hostile callers send (issue 22's findings), each attack a kind of its own:
# - questions: a 1 MB question full of card numbers, a lone UTF-16 surrogate (valid JSON), nothing
#   but control characters, and 2,000-character digit-group questions ("1 1 1 …?", "1-1-…")
#   that made redaction cubic;
# - body: a 5 MB JSON body to the ask API (the body limit must refuse it unread);
# - upload: a 1 MB multipart file to Gradio's upload and recording routes (must be refused,
#   nothing left on disk);
# - guess: wrong agent passwords, each from another forwarded-for address (the server is
#   started trusting loopback as its proxy when there are hostile clients).
HOSTILE = (
    "4111 1111 1111 1111 " * 50_000,
    "How long \ud800 do you keep my data?",
    "\x00\x01\x02" * 100,
    "1 " * 999 + "?",
    "1-" * 1000,
)
ATTACKS = ("question", "body", "upload", "guess")
AGENT_USER, AGENT_PASSWORD = "bench-agent", "bench-password-not-guessed"


def _attack(client: Any, call: Callable[[str], dict[str, Any]], kind: str, i: int) -> str:
    """One hostile request of ``kind``: "answered" when the server did the work, else "refused"."""
    if kind == "question":
        try:
            call(HOSTILE[i % len(HOSTILE)])
            return "answered"
        except Exception:  # refused with an error event or a 4xx: expected
            return "refused"
    if kind == "body":
        body = b'{"data": ["' + b"a" * 5_000_000 + b'", ""]}'
        r = client.post(f"/gradio_api/call/{API}", content=body, headers={"content-type": "application/json"})
    elif kind == "upload":
        route = ("/gradio_api/upload", "/gradio_api/process_recording")[i % 2]
        r = client.post(route, files={"files" if i % 2 == 0 else "video": ("x.webm", b"\0" * 1_000_000)})
    else:
        address = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
        r = client.post("/agent/login", data={"username": AGENT_USER, "password": f"guess-{i}"},
                        headers={"x-forwarded-for": address})
    return "answered" if r.status_code < 300 else "refused"


def run_hostile(url: str, clients: int, stop: threading.Event, timeout_s: float = 30.0) -> dict[str, int]:
    """`clients` threads, each sending one kind of attack (ATTACKS in turn) back to back until
    `stop` is set; counts what each kind sent and how the server answered."""
    import httpx

    counts: dict[str, int] = {"requests": 0, "refused": 0, "answered": 0}
    lock = threading.Lock()

    def worker(n: int) -> None:
        kind = ATTACKS[n % len(ATTACKS)]
        call, close = http_caller(url, timeout_s, session=False)
        client = httpx.Client(base_url=url, timeout=timeout_s, trust_env=False)
        i = n
        try:
            while not stop.is_set():
                try:
                    outcome = _attack(client, call, kind, i)
                except httpx.HTTPError:  # the server closed a refused upload or body early
                    outcome = "refused"
                i += 1
                with lock:
                    for key in ("requests", outcome, f"{kind}/{outcome}"):
                        counts[key] = counts.get(key, 0) + 1
        finally:
            close()
            client.close()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    stop.wait()
    for t in threads:
        t.join(timeout_s + 5)
    return counts


def warm_up(url: str, kind: str, rounds: int = 2) -> None:
    call, close = CALLERS[kind](url, 60.0)
    try:
        for _ in range(rounds):
            for question in QUESTIONS:
                call(question)
    finally:
        close()


# -- the report -----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass
class Report:
    clients: int
    active_clients: int
    client_kind: str
    duration_s: float
    requests: int
    errors: int
    throttled: int
    throughput_rps: float
    latency_ms_p50: float
    latency_ms_p95: float
    latency_ms_p99: float
    latency_ms_mean: float
    latency_ms_max: float
    rss_mib_idle: float  # after the one-client warm-up, before the concurrent one
    rss_mib_before: float
    rss_mib_after: float
    rss_mib_growth: float
    rss_mib_growth_second_half: float  # from the run's midpoint to its end: a leak keeps growing
    server_cpu_percent: float  # of one core, over the measured run
    client_cpu_percent: float  # this process (the client threads)
    other_cpu_percent: float  # everything else on the machine: well above 0, and the figures are disturbed
    load_average_before: tuple[float, float, float]
    load_average: tuple[float, float, float]
    cpus: int
    error_samples: list[str]


def make_report(tally: Tally, duration: float, clients: int, kind: str, rss0: int, rss1: int,
                load: tuple[float, float, float], load_before: tuple[float, float, float] = (0.0, 0.0, 0.0),
                server_cpu_s: float = 0.0, client_cpu_s: float = 0.0, rss_mid: int | None = None,
                rss_idle: int | None = None, machine_cpu_s: float | None = None) -> Report:
    ms = [x * 1000 for x in tally.latencies]
    mib = 1024 * 1024
    return Report(
        clients=clients, active_clients=tally.active_clients, client_kind=kind, duration_s=round(duration, 2),
        requests=len(ms),
        errors=tally.errors, throttled=tally.throttled,
        throughput_rps=round(len(ms) / duration, 2) if duration else 0.0,
        latency_ms_p50=round(percentile(ms, 50), 1), latency_ms_p95=round(percentile(ms, 95), 1),
        latency_ms_p99=round(percentile(ms, 99), 1),
        latency_ms_mean=round(statistics.fmean(ms), 1) if ms else 0.0,
        latency_ms_max=round(max(ms), 1) if ms else 0.0,
        rss_mib_idle=round((rss0 if rss_idle is None else rss_idle) / mib, 1),
        rss_mib_before=round(rss0 / mib, 1), rss_mib_after=round(rss1 / mib, 1),
        rss_mib_growth=round((rss1 - rss0) / mib, 1),
        rss_mib_growth_second_half=round((rss1 - (rss0 if rss_mid is None else rss_mid)) / mib, 1),
        server_cpu_percent=round(100 * server_cpu_s / duration, 1) if duration else 0.0,
        client_cpu_percent=round(100 * client_cpu_s / duration, 1) if duration else 0.0,
        other_cpu_percent=round(max(0.0, 100 * (machine_cpu_s - server_cpu_s - client_cpu_s) / duration), 1)
        if duration and machine_cpu_s is not None else 0.0,
        load_average_before=load_before, load_average=load, cpus=os.cpu_count() or 0,
        error_samples=tally.samples,
    )


def format_table(r: Report) -> str:
    rows = [
        ("clients", f"{r.clients} ({r.client_kind} client; {r.active_clients} sent requests)"),
        ("duration", f"{r.duration_s:.1f} s"),
        ("requests", f"{r.requests}"),
        ("errors", f"{r.errors}"),
        ("throttled", f"{r.throttled}"),
        ("throughput", f"{r.throughput_rps:.1f} req/s"),
        ("latency p50", f"{r.latency_ms_p50:.0f} ms"),
        ("latency p95", f"{r.latency_ms_p95:.0f} ms"),
        ("latency p99", f"{r.latency_ms_p99:.0f} ms"),
        ("latency mean / max", f"{r.latency_ms_mean:.0f} / {r.latency_ms_max:.0f} ms"),
        ("server RSS idle / before", f"{r.rss_mib_idle:.1f} / {r.rss_mib_before:.1f} MiB"),
        ("server RSS after", f"{r.rss_mib_after:.1f} MiB"),
        ("server RSS growth", f"{r.rss_mib_growth:+.1f} MiB ({r.rss_mib_growth_second_half:+.1f} MiB in the 2nd half)"),
        ("CPU server / client / other", f"{r.server_cpu_percent:.0f} / {r.client_cpu_percent:.0f} / "
                                        f"{r.other_cpu_percent:.0f} % of one core"),
        ("load avg before (1/5/15)", " ".join(f"{x:.2f}" for x in r.load_average_before) + f" on {r.cpus} CPUs"),
        ("load avg after (1/5/15)", " ".join(f"{x:.2f}" for x in r.load_average)),
    ]
    width = max(len(k) for k, _ in rows)
    vwidth = max(len(v) for _, v in rows)
    lines = [f"| {'metric':<{width}} | {'value':<{vwidth}} |", f"|{'-' * (width + 2)}|{'-' * (vwidth + 2)}|"]
    lines += [f"| {k:<{width}} | {v:<{vwidth}} |" for k, v in rows]
    lines += [f"error: {s}" for s in r.error_samples]
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="bench/load.py")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients (threads)")
    p.add_argument("--seconds", type=float, default=60.0, help="measured duration")
    p.add_argument("--index", type=Path, default=Path("index"), help="index folder the server loads")
    p.add_argument("--port", type=int, default=0, help="server port on 127.0.0.1 (0: a free one)")
    p.add_argument("--client", choices=sorted(CALLERS), default="http", help="client kind (see above)")
    p.add_argument("--max-requests", type=int, default=100_000, help="hard cap on measured requests")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    p.add_argument("--warmup", type=int, default=1, help="warm-up passes over the question list, one client")
    p.add_argument("--warmup-seconds", type=float, default=10.0,
                   help="then this long with all the clients (not measured), so that the memory figures "
                        "compare a server warmed up at this concurrency")
    p.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra environment for the server (repeatable), e.g. to try a Gradio setting")
    p.add_argument("--hostile", type=int, default=0, metavar="N",
                   help="also run N hostile clients (client n sends attack n mod 4: questions — 1 MB, "
                        "surrogate, control characters, digit groups —, 5 MB bodies, uploads, password guesses "
                        "from many addresses) during the measured run; the report is the other clients'")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 1 <= args.clients <= 256:
        raise SystemExit("--clients: 1..256")
    if not 0 < args.seconds <= 3600:
        raise SystemExit("--seconds: up to 3600")
    index = args.index if args.index.is_absolute() else Path.cwd() / args.index
    if not index.exists():
        raise SystemExit(f"no index at {index}: run `.venv/bin/privacy-assistant ingest` first")
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    note = (lambda msg: None) if args.json else (lambda msg: print(msg, file=sys.stderr, flush=True))
    extra_env = dict(item.split("=", 1) for item in args.server_env if "=" in item)
    if args.hostile:  # an agent login to guess at, and loopback trusted as the proxy that forwards addresses
        extra_env = {"PRIVACY_ASSISTANT_AGENT_USER": AGENT_USER, "PRIVACY_ASSISTANT_AGENT_PASSWORD": AGENT_PASSWORD,
                     "PRIVACY_ASSISTANT_TRUSTED_PROXIES": "127.0.0.1/32", **extra_env}
    server = Server(index, args.port, extra_env=extra_env)
    try:
        note(f"starting server on {server.url} (index {index}) …")
        server.wait_ready()
        note(f"warming up ({args.warmup} × {len(QUESTIONS)} questions, then {args.warmup_seconds:g} s "
             f"with {args.clients} clients) …")
        if args.warmup:
            warm_up(server.url, args.client, args.warmup)
        rss_idle = server.rss()
        if args.warmup_seconds > 0:
            warm, _ = run_clients(server.url, args.clients, min(args.warmup_seconds, 60.0), args.max_requests,
                                  args.client, args.timeout)
            if warm.errors:
                note(f"warm-up: {warm.errors} errors, e.g. {warm.samples[:1]}")
        time.sleep(1.0)
        rss0 = server.rss()
        load_before = os.getloadavg()
        note(f"running {args.clients} {args.client} clients for {args.seconds:g} s "
             f"(load average {load_before[0]:.2f}) …")
        cpu0, mine0, all0 = server.cpu(), time.process_time(), machine_busy_seconds()
        midpoint: list[int] = []
        timer = threading.Timer(args.seconds / 2, lambda: midpoint.append(server.rss()))
        timer.start()
        stop_hostile = threading.Event()
        hostile: dict[str, int] = {}
        hostile_thread = threading.Thread(
            target=lambda: hostile.update(run_hostile(server.url, args.hostile, stop_hostile, args.timeout)),
            daemon=True,
        )
        if args.hostile:
            hostile_thread.start()
        tally, duration = run_clients(server.url, args.clients, args.seconds, args.max_requests, args.client,
                                      args.timeout)
        stop_hostile.set()
        if args.hostile:
            hostile_thread.join(args.timeout + 10)
        server_cpu, client_cpu = server.cpu() - cpu0, time.process_time() - mine0
        machine_cpu = machine_busy_seconds() - all0
        timer.cancel()
        time.sleep(1.0)
        rss1 = server.rss()
        if server.proc.poll() is not None:
            tally.errors += 1
            tally.samples.append(f"server died (exit {server.proc.returncode})")
    finally:
        server.stop()
    report = make_report(tally, duration, args.clients, args.client, rss0, rss1, os.getloadavg(), load_before,
                         server_cpu, client_cpu, midpoint[0] if midpoint else None, rss_idle,
                         machine_cpu)
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False))
    else:
        shown = " ".join(sys.argv[1:] if argv is None else argv)
        print(f"command: bench/load.py {shown}  (client: {args.client}, warm-up {args.warmup_seconds:g} s)")
        print(format_table(report))
        if args.hostile:
            kinds = ", ".join(f"{k} {hostile.get(k + '/refused', 0):,} refused / {hostile.get(k + '/answered', 0):,} "
                              "answered" for k in ATTACKS[: args.hostile])
            print(f"hostile clients: {args.hostile}, {hostile.get('requests', 0):,} requests ({kinds}); "
                  "the table counts the other clients only")
    return 1 if report.errors or report.throttled or report.active_clients < report.clients else 0


if __name__ == "__main__":
    sys.exit(main())

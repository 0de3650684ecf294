"""The live stack's processes and clients: Prometheus, Alertmanager, the app, a webhook recorder.

Everything listens on 127.0.0.1 only. Each server is a child process whose
output goes to a log file (shown when it fails to start); children get
SIGTERM if the test process dies, so nothing outlives a killed run.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

HOST = "127.0.0.1"
POLL = 0.1  # seconds between polls of a condition
T = TypeVar("T")


class Timeout(AssertionError):
    pass


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, poll: float = POLL) -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds saying `what`."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except (OSError, urllib.error.URLError, ValueError) as exc:  # server not up yet, connection refused
            last = exc
        if time.monotonic() > deadline:
            raise Timeout(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last})" if last else ""))
        time.sleep(poll)


# Ports for the servers the tests start: below the kernel's ephemeral range (32768 and up
# on Linux), where client sockets never land, and a range of their own for each pytest-xdist
# worker, so two workers never hand out the same port. Within a worker each port is handed
# out once, so a server that has not bound its port yet cannot lose it to the next request.
PORTS_FROM, PORTS_PER_WORKER = 20000, 1500  # 8 workers at most (make test: --maxprocesses 4)
_handed_out: set[int] = set()


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # gw0, gw1, ... ("gw0" without xdist)
    return int(worker.removeprefix("gw") or 0) % 8


def free_port() -> int:
    """A port nothing listens on right now, from this worker's own range (see PORTS_FROM)."""
    start = PORTS_FROM + _worker_index() * PORTS_PER_WORKER
    for port in range(start + (os.getpid() % 97), start + PORTS_PER_WORKER):
        if port in _handed_out:
            continue
        _handed_out.add(port)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue  # something else listens there
        return port
    raise AssertionError(f"no free port left in {start}-{start + PORTS_PER_WORKER - 1}")


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise AssertionError(
            f"{name} is not installed: apt-get install -y --no-install-recommends prometheus prometheus-alertmanager"
        )
    return path


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def http_json(url: str, method: str = "GET", timeout: float = 5.0) -> Any:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
    return json.loads(body) if body else None


@dataclass
class Process:
    """A child server process, its port and log.

    Ready when `ready_path` answers 200, or when `probe` returns true (for a
    server that speaks no HTTP). `stop_signal` ends it: PostgreSQL's SIGTERM is
    a smart shutdown that waits for every client, its SIGINT a fast one.
    """

    name: str
    argv: list[str]
    port: int
    log: Path
    env: dict[str, str] | None = None
    popen: subprocess.Popen[bytes] | None = None
    probe: Callable[[], bool] | None = None
    stop_signal: int = signal.SIGTERM

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, ready_path: str = "/metrics", timeout: float = 20.0) -> "Process":
        log = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.env, preexec_fn=_die_with_parent,
        )
        log.close()

        def ready() -> bool:
            if self.popen is not None and self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.popen.returncode} at start:\n{self.log_tail()}")
            if self.probe is not None:
                return self.probe()
            with urllib.request.urlopen(self.url + ready_path, timeout=2) as response:
                return response.status == 200

        try:
            wait_for(f"{self.name} to be ready on {self.url}", ready, timeout)
        except Timeout as exc:
            self.stop()
            raise AssertionError(f"{exc}\n{self.log_tail()}") from None
        return self

    def stop(self) -> None:
        popen, self.popen = self.popen, None
        if popen is None or popen.poll() is not None:
            return
        popen.send_signal(self.stop_signal)
        try:
            popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return f"({self.log} missing)"
        return "\n".join(f"  {self.name}| {line}" for line in text.splitlines()[-lines:])


def prometheus(config: Path, workdir: Path) -> Process:
    binary = require_binary("prometheus")
    port = free_port()
    data = workdir / "prometheus-data"
    data.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        f"--config.file={config}",
        f"--web.listen-address={HOST}:{port}",
        f"--storage.tsdb.path={data}",
        # Without it Prometheus re-sends a firing alert to Alertmanager only every minute.
        "--rules.alert.resend-delay=1s",
        "--log.level=warn",
    ]
    return Process("prometheus", argv, port, workdir / "prometheus.log")


def alertmanager(config: Path, workdir: Path, port: int) -> Process:
    binary = require_binary("prometheus-alertmanager")
    data = workdir / "alertmanager-data"
    data.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        f"--config.file={config}",
        f"--web.listen-address={HOST}:{port}",
        "--cluster.listen-address=",  # no gossip: a single instance, nothing on other interfaces
        f"--storage.path={data}",
        "--log.level=warn",
    ]
    return Process("alertmanager", argv, port, workdir / "alertmanager.log")


def app(workdir: Path, port: int) -> Process:
    """The instrumented app (tests/e2e/app.py) under uvicorn, in the test's own interpreter."""
    argv = [sys.executable, str(Path(__file__).with_name("app.py")), "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k.upper() != "PROMETHEUS_MULTIPROC_DIR"}
    return Process("app", argv, port, workdir / "app.log", env=env)


# --- clients ------------------------------------------------------------------


class Traffic:
    """Steady GET /api/accounts to each app at `ports` (one connection each) from a
    background thread while the block runs; `sent` counts the answered requests."""

    def __init__(self, ports: Mapping[str, int], per_second: float):
        self.ports, self.pause = dict(ports), 1.0 / per_second
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="e2e-traffic", daemon=True)
        self.sent = 0

    def _run(self) -> None:
        conns = {name: http.client.HTTPConnection(HOST, port, timeout=5) for name, port in self.ports.items()}
        try:
            while not self.stop_event.wait(self.pause):
                for name, conn in list(conns.items()):
                    try:
                        conn.request("GET", "/api/accounts")
                        conn.getresponse().read()
                        self.sent += 1
                    except (OSError, http.client.HTTPException):  # the app restarting: reconnect
                        conn.close()
                        conns[name] = http.client.HTTPConnection(HOST, self.ports[name], timeout=5)
        finally:
            for conn in conns.values():
                conn.close()

    def __enter__(self) -> "Traffic":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)


class PrometheusAPI:
    def __init__(self, url: str):
        self.url = url

    def get(self, path: str, **params: str) -> Any:
        query = "?" + urllib.parse.urlencode(params) if params else ""
        body = http_json(f"{self.url}{path}{query}")
        if body.get("status") != "success":
            raise AssertionError(f"Prometheus {path}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/query", query=expr)["result"])

    def targets(self) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/targets", state="active")["activeTargets"])

    def alerts(self, name: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        alerts = self.get("/api/v1/alerts")["alerts"]
        return [
            a for a in alerts
            if (name is None or a["labels"].get("alertname") == name) and (state is None or a["state"] == state)
        ]


class AlertmanagerAPI:
    def __init__(self, url: str):
        self.url = url

    def alerts(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every alert Alertmanager holds (active, silenced and inhibited)."""
        alerts = http_json(f"{self.url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true")
        return [a for a in alerts if name is None or a["labels"].get("alertname") == name]


# --- the stand-in for PagerDuty, Slack and Email ----------------------------------


@dataclass(frozen=True)
class Notification:
    receiver: str  # the URL path: /<receiver-name>
    at: float  # time.monotonic() when it arrived
    payload: dict[str, Any]

    def alerts(self, name: str, status: str | None = None) -> list[dict[str, Any]]:
        return [
            a for a in self.payload.get("alerts", [])
            if a["labels"].get("alertname") == name and (status is None or a["status"] == status)
        ]


@dataclass
class WebhookRecorder:
    """An HTTP server recording every POST by path; Alertmanager's webhooks point here."""

    notifications: list[Notification] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> "WebhookRecorder":
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                with recorder._lock:
                    recorder.notifications.append(Notification(self.path.strip("/"), time.monotonic(), payload))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="webhook-recorder", daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{HOST}:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self, name: str, status: str, since: float) -> dict[str, Notification]:
        """The first notification per receiver carrying alert `name` in `status`, after `since`."""
        first: dict[str, Notification] = {}
        with self._lock:
            for note in self.notifications:
                if note.at >= since and note.alerts(name, status) and note.receiver not in first:
                    first[note.receiver] = note
        return first

"""The rollout gate against real servers: blue and green apps, a real Prometheus, Alertmanager.

Two instrumented apps (tests/e2e/app.py) run as the blue and the green
deployment on 127.0.0.1. Prometheus scrapes both with the config generated
from the real definitions through the e2e profile (each target labelled
with its deployment), and evaluates the generated rollout rules;
Alertmanager routes with the generated routing to the webhook recorder.
Only the rollout's timing is shortened (12-second steps, 20 events a
verdict, the alert's `for` 2s); its checks are Sergas's, on the SLIs of its
HTTP SLOs. The gate runs as the CLI a deploy script calls.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sergas_observability import profiles, toolchain
from sergas_observability.compile import alertmanager, prometheus, rollout
from sergas_observability.model import Rollout, RolloutStep, Stack
from sergas_observability.output import render_all, write_tree

from . import servers
from .servers import HOST, PrometheusAPI, WebhookRecorder, wait_for

pytestmark = pytest.mark.slow

STEP_SECONDS = 12
MIN_EVENTS = 20
RATE = 40.0  # requests a second, split between blue and green


def _test_rollout(real: Rollout) -> Rollout:
    """The real rollout with its steps and thresholds shortened for a test run, its checks unchanged otherwise."""
    checks = tuple(type(c)(**{**dict(c), "min_events": MIN_EVENTS}) for c in real.checks)
    steps = tuple(RolloutStep(traffic=s.traffic, monitor=f"{STEP_SECONDS}s") for s in real.steps)
    return type(real)(**{**dict(real), "steps": steps, "checks": checks, "alert_for": "2s"})


class Split:
    """Requests from a few worker threads at RATE a second in all, a share to green read from a file
    (the traffic switch: `sergas-obs gate --switch` writes it)."""

    def __init__(self, ports: dict[str, int], share_file: Path, workers: int = 8):
        self.ports, self.share_file, self.workers = ports, share_file, workers
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.sent = {"blue": 0, "green": 0}
        self.count = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def share(self) -> float:
        return float(self.share_file.read_text() or "0") / 100

    def _next(self) -> str:
        with self.lock:
            self.count += 1
            share = self.share()
            green = int(self.count * share) > int((self.count - 1) * share)
            return "green" if green else "blue"

    def _run(self) -> None:
        conns: dict[str, http.client.HTTPConnection] = {}
        pause = self.workers / RATE
        while not self.stop_event.wait(pause):
            name = self._next()
            conn = conns.get(name) or http.client.HTTPConnection(HOST, self.ports[name], timeout=10)
            conns[name] = conn
            try:
                conn.request("GET", "/api/accounts")
                conn.getresponse().read()
                with self.lock:
                    self.sent[name] += 1
            except (OSError, http.client.HTTPException):
                conn.close()
                conns.pop(name, None)
        for conn in conns.values():
            conn.close()

    def __enter__(self) -> "Split":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=15)


def _gate(spec: Path, prom: str, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "sergas_observability.cli", "gate", "blue-green", "--prometheus", prom,
         "--spec", str(spec), "--format", "json", *args],
        capture_output=True, text=True, timeout=300,
    )
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


def _check(result: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = result["steps"][-1:]
    return next(c for c in step["checks"] if c["name"] == name)


def _control(port: int, action: str, **params: Any) -> None:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    servers.http_json(f"http://{HOST}:{port}/control/{action}?{query}", method="POST")


def test_the_gate_judges_green_against_blue_and_the_regression_alert_pages(stack: Stack, tmp_path: Path) -> None:
    for binary in ("prometheus", "prometheus-alertmanager", "amtool"):
        servers.require_binary(binary)
    real = next(r for r in stack.rollouts if r.name == "blue-green")
    recorder = WebhookRecorder().start()
    processes: list[servers.Process] = []
    try:
        ports = {"blue": servers.free_port(), "green": servers.free_port()}
        am_port = servers.free_port()
        profile = profiles.e2e(
            Stack(**{**{k: getattr(stack, k) for k in stack.model_fields_set}, "rollouts": (_test_rollout(real),)}),
            app_deployments={name: (f"{HOST}:{port}",) for name, port in ports.items()},
            alertmanager=f"{HOST}:{am_port}",
            webhook_base=recorder.url,
        )
        config = tmp_path / "config"
        write_tree(render_all({**prometheus.compile(profile), **rollout.compile(profile), **alertmanager.compile(profile)}), config)
        spec = config / "prometheus/rollouts/blue-green.json"
        scrape = next(j for j in (config / "prometheus/e2e/prometheus.yml").read_text().split("- job_name: ")[1:] if j.startswith("sergas-app"))
        assert "deployment: blue" in scrape and "deployment: green" in scrape  # the generated config labels each colour
        am_config = config / "alertmanager/e2e/alertmanager.yml"
        am = servers.alertmanager(am_config, tmp_path, am_port)
        prom = servers.prometheus(config / "prometheus/e2e/prometheus.yml", tmp_path)
        apps = {name: servers.app(tmp_path / name, port) for name, port in ports.items()}
        for name in apps:
            (tmp_path / name).mkdir()
        processes += [am, *apps.values(), prom]
        am.start("/-/ready")
        for app in apps.values():
            app.start("/metrics")
        prom.start("/-/ready")
        api = PrometheusAPI(prom.url)
        wait_for("both deployments scraped", lambda: len(api.query('up{job="sergas-app",deployment=~"blue|green"} == 1')) == 2, 30)

        share = tmp_path / "share"
        share.write_text("0")
        switch = tmp_path / "switch.py"
        switch.write_text(f"import sys\nopen({str(share)!r}, 'w').write(sys.argv[1])\n")
        with Split(ports, share) as traffic:
            time.sleep(3)
            # 1. A healthy green passes every step, the gate switching traffic itself (10 %, 50 %, 100 %).
            code, result, err = _gate(spec, prom.url, "--wait", "--poll", "4", "--switch", f"{sys.executable} {switch} {{traffic}}")
            assert code == 0, (result, err)
            assert result["verdict"] == "pass" and [s["traffic_percent"] for s in result["steps"]] == [10, 50, 100]
            assert all(c["verdict"] == "pass" for s in result["steps"] for c in s["checks"])
            assert all(c["candidate_events"] >= MIN_EVENTS for s in result["steps"] for c in s["checks"])
            assert "watched" in err  # --wait showed its progress
            assert share.read_text() == "100" and traffic.sent["green"] > 0  # the switch ran before each step
            assert not [a for a in api.alerts() if a["labels"]["alertname"].startswith("BlueGreen")]

            # 2. Too little traffic on green: no verdict yet.
            share.write_text("1")
            time.sleep(STEP_SECONDS + 2)
            code, result, err = _gate(spec, prom.url, "--step", "1")
            assert code == 3, (result, err)
            assert result["verdict"] == "undecided"
            assert "fewer than the 20 a verdict needs" in _check(result, "availability")["reason"]

            # 3. Green answers 5 % errors: the availability check fails with its value and threshold ...
            share.write_text("50")
            _control(ports["green"], "errors", every=20)
            since = time.monotonic()
            # The step's window holds only the failing traffic before the gate reads it: --wait decides at
            # the first poll past the threshold, and a window still half clean reads half the error ratio.
            time.sleep(STEP_SECONDS + 2)
            code, result, err = _gate(spec, prom.url, "--step", "2", "--wait", "--poll", "4")
            assert code == 1, (result, err)
            failed = _check(result, "availability")
            assert failed["verdict"] == "fail" and failed["max_error_ratio"] == 0.005
            assert 0.03 <= failed["candidate_error_ratio"] <= 0.08, failed
            assert "green's error ratio" in failed["reason"] and "above 0.5%" in failed["reason"]
            # ... and the regression alert reaches every receiver P0 routes to, naming green.
            name = "BlueGreenAvailabilityRegression"
            first = wait_for("the regression alert at the webhook", lambda: recorder.received(name, "firing", since) or None, 90)
            labels = next(iter(first.values())).alerts(name, "firing")[0]["labels"]
            assert labels["deployment"] == "green" and labels["severity"] == "P0" and labels["env"] == profiles.E2E_ENV
            expected = set(toolchain.routes(am_config, labels))
            assert {"pagerduty", "slack"} <= expected  # P0 pages
            got = wait_for(f"{name} at {sorted(expected)}", lambda: (lambda r: r if set(r) >= expected else None)(recorder.received(name, "firing", since)), 60)
            alerts = [a for note in got.values() for a in note.alerts(name, "firing")]
            assert {a["labels"]["deployment"] for a in alerts} == {"green"}  # blue is never the worse one

            # 4. A slow green (3 s a request, over the latency SLO's 2.5 s): the latency check fails.
            _control(ports["green"], "errors", every=0)
            _control(ports["green"], "slow", seconds=3)
            time.sleep(STEP_SECONDS + 2)  # the window clear of step 3's errors: else availability fails first
            code, result, err = _gate(spec, prom.url, "--step", "2", "--wait", "--poll", "4")
            assert code == 1, (result, err)
            slow = _check(result, "latency")
            assert slow["verdict"] == "fail" and slow["max_error_ratio"] == 0.05, result
            assert slow["candidate_error_ratio"] > 0.05 and "above 5% (SLO sergas-app/http-latency" in slow["reason"]
    finally:
        for process in reversed(processes):
            process.stop()
        recorder.stop()


def test_the_gate_logs_in_with_the_credentials_in_a_file(tmp_path: Path) -> None:
    """A real Prometheus behind basic auth (its web config): the gate's file credentials get it
    in, no or wrong credentials are refused by Prometheus (exit 4)."""
    import bcrypt
    import socket

    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\n")
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  gate: {bcrypt.hashpw(b's3cret', bcrypt.gensalt(rounds=4)).decode()}\n")
    prom = servers.prometheus(config, tmp_path)
    prom.argv.append(f"--web.config.file={web}")

    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex((HOST, prom.port)) == 0

    prom.probe = listening
    spec = Path(__file__).resolve().parents[2] / "generated/prometheus/rollouts/blue-green.json"
    good, wrong = tmp_path / "good", tmp_path / "wrong"
    good.write_text("gate:s3cret\n")
    wrong.write_text("gate:guess\n")
    try:
        prom.start()
        code, result, err = _gate(spec, prom.url, "--step", "1", "--basic-auth-file", str(good))
        assert code == 3 and result["verdict"] == "undecided", err  # in: no deployment has served anything yet
        for args in ((), ("--basic-auth-file", str(wrong))):
            code, result, err = _gate(spec, prom.url, "--step", "1", *args)
            assert code == 4 and "HTTP 401" in err, (args, err)
    finally:
        prom.stop()

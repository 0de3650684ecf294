"""One live stack for the whole e2e session: Prometheus, Alertmanager, the app, a webhook recorder.

The configs are compiled from the real definitions through the `e2e`
profile (sergas_observability.profiles): same rules, routes, receivers'
names and inhibitions, one-second intervals, everything on 127.0.0.1.
Every process is stopped in the fixture's `finally`, also when a test fails.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sergas_observability import profiles
from sergas_observability.compile import alertmanager, prometheus, rules
from sergas_observability.lint import lint_stack
from sergas_observability.lint.latency import breakdown
from sergas_observability.loader import load_stack
from sergas_observability.model import Alert, Environment, Stack
from sergas_observability.output import render_all, write_tree

from . import servers
from .servers import HOST, AlertmanagerAPI, PrometheusAPI, Process, WebhookRecorder, wait_for

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Timing:
    scenario: str
    alert: str
    event: str  # what was measured, e.g. "5xx injected -> delivered"
    seconds: float


TIMINGS: list[Timing] = []
PROFILES: list[Stack] = []  # the e2e profile of this session, for the static budget table


@dataclass
class LiveStack:
    real: Stack  # the definitions as written
    profile: Stack  # the e2e profile derived from them
    workdir: Path
    app: Process
    prom: PrometheusAPI
    am: AlertmanagerAPI
    recorder: WebhookRecorder
    processes: list[Process] = field(default_factory=list)

    @property
    def env(self) -> Environment:
        return self.profile.environments[0]

    def alert(self, name: str) -> Alert:
        """The alert as the e2e profile runs it."""
        return next(a for a in self.profile.alerts if a.name == name)

    # -- the app -----------------------------------------------------------------

    def control(self, action: str, **params: Any) -> dict[str, Any]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return servers.http_json(f"{self.app.url}/control/{action}?{query}", method="POST")  # type: ignore[no-any-return]

    def requests(self, count: int, path: str = "/api/accounts") -> None:
        """`count` requests to the app, one keep-alive connection, as fast as it answers."""
        conn = http.client.HTTPConnection(HOST, self.app.port, timeout=10)
        try:
            for _ in range(count):
                conn.request("GET", path)
                conn.getresponse().read()
        finally:
            conn.close()

    def traffic(self, per_second: float) -> servers.Traffic:
        return servers.Traffic({"app": self.app.port}, per_second)

    def restart_app(self) -> None:
        self.app.stop()
        self.app.start("/metrics")

    # -- waiting -----------------------------------------------------------------

    def wait_quiet(self, timeout: float = 40.0) -> None:
        """No alert pending or firing in Prometheus: a scenario starts from a quiet stack."""
        try:
            wait_for("Prometheus to have no pending or firing alert", lambda: not self.prom.alerts(), timeout)
        except servers.Timeout:
            active = sorted((a["labels"]["alertname"], a["state"]) for a in self.prom.alerts())
            raise AssertionError(f"alerts still active after {timeout:.0f}s: {active}") from None


def compile_profile(profile: Stack, out: Path) -> tuple[Path, Path]:
    """Write the profile's prometheus.yml, rules and alertmanager.yml; return the two config paths."""
    documents = {**prometheus.compile(profile), **rules.compile(profile), **alertmanager.compile(profile)}
    write_tree(render_all(documents), out)
    env = profile.environments[0].name
    return out / f"prometheus/{env}/prometheus.yml", out / f"alertmanager/{env}/alertmanager.yml"


@pytest.fixture(scope="session")
def live(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    # A missing server is a failure with the install command, never a skip.
    for binary in ("prometheus", "prometheus-alertmanager"):
        servers.require_binary(binary)
    workdir = tmp_path_factory.mktemp("e2e")
    recorder = WebhookRecorder().start()
    processes: list[Process] = []
    try:
        app_port, am_port = servers.free_port(), servers.free_port()
        profile = profiles.e2e(
            stack,
            app_targets=(f"{HOST}:{app_port}",),
            alertmanager=f"{HOST}:{am_port}",
            webhook_base=recorder.url,
        )
        PROFILES.append(profile)
        prom_config, am_config = compile_profile(profile, workdir / "config")
        am = servers.alertmanager(am_config, workdir, am_port)
        prom = servers.prometheus(prom_config, workdir)
        app = servers.app(workdir, app_port)
        for process in (am, app, prom):
            processes.append(process)
        am.start("/-/ready")
        app.start("/metrics")
        prom.start("/-/ready")
        api = PrometheusAPI(prom.url)
        # Every scenario reads rates of the app's counters: they need a sample from before it
        # injects anything (a counter first seen at 10 has risen by nothing), whichever test runs first.
        wait_for("Prometheus to scrape the app once", lambda: api.query(f'up{{instance="{HOST}:{app_port}"}} == 1'), timeout=30)
        yield LiveStack(stack, profile, workdir, app, api, AlertmanagerAPI(am.url), recorder, processes)
    finally:
        for process in reversed(processes):
            process.stop()
        recorder.stop()


# --- the timing table ------------------------------------------------------------


def static_budgets(stack: Stack) -> dict[str, Any]:
    """The lint's worst-case latency figure per alert (scrape + evaluation + window + for + group_wait)."""
    return {figure.alert: figure for figure in lint_stack(stack, promtool=False).latency}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TIMINGS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("e2e timings (fault injection -> notification)")
    write(f"{'scenario':<26} {'alert':<24} {'event':<44} {'measured':>8}")
    for t in TIMINGS:
        write(f"{t.scenario:<26} {t.alert:<24} {t.event:<44} {t.seconds:>7.1f}s")
    real = static_budgets(profiles.only(load_stack("definitions", ROOT), "production"))
    e2e = static_budgets(PROFILES[0]) if PROFILES else {}
    write("")
    write("static worst case (the lint's latency model: scrape + evaluation + window + for + group_wait):")
    write(f"  {'alert':<24} {'e2e profile':>11} {'production':>10} {'budget':>7}  production terms")
    for name in dict.fromkeys(t.alert for t in TIMINGS):
        if name in real:
            figure = real[name]
            quick = f"{e2e[name].total:.0f}s" if name in e2e else "-"
            budget = f"{figure.budget:.0f}s" if figure.budget else "-"
            write(f"  {name:<24} {quick:>11} {figure.total:>9.0f}s {budget:>7}  {breakdown(figure)}")

"""The central view on a real engine: staging and production remote-write to VictoriaMetrics, vmalert rules.

On 127.0.0.1: two Prometheus servers with the staging and production configs
(the `central_e2e` profile of the real definitions: one-second intervals,
loopback targets), each scraping its own instrumented app and remote-writing
to a real VictoriaMetrics; one real vmalert per environment evaluating the
generated victoriametrics/ rules against it, with the generated flags, and
notifying that environment's real Alertmanager (its generated routing),
which posts to the webhook recorder. Each rule is evaluated in one place:
the Prometheus servers load no rule files.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sergas_observability import profiles, toolchain
from sergas_observability.compile import alertmanager, distributed, prometheus
from sergas_observability.model import Stack
from sergas_observability.output import render_all, write_tree

from . import servers
from .servers import HOST, Process, WebhookRecorder, wait_for

pytestmark = pytest.mark.slow

ENVS = ("staging", "production")
INTERVAL = "1s"  # the profile's scrape and evaluation interval


def _victoria_metrics(workdir: Path) -> Process:
    port = servers.free_port()
    data = workdir / "vm-data"
    data.mkdir()
    argv = [servers.require_binary("victoria-metrics"), f"-httpListenAddr={HOST}:{port}", f"-storageDataPath={data}",
            "-retentionPeriod=1d", "-search.latencyOffset=1s", "-loggerLevel=ERROR"]
    return Process("victoria-metrics", argv, port, workdir / "vm.log")


def _vmalert(profile: Stack, env_name: str, rules: Path, workdir: Path) -> Process:
    env = next(e for e in profile.environments if e.name == env_name)
    port = servers.free_port()
    flags = distributed.vmalert_flags(profile, env, rules_dir=str(rules))
    argv = [servers.require_binary("vmalert"), *flags, f"-httpListenAddr={HOST}:{port}", "-remoteWrite.flushInterval=1s",
            "-loggerLevel=ERROR"]
    return Process(f"vmalert-{env_name}", argv, port, workdir / f"vmalert-{env_name}.log")


def _query(vm: Process, expr: str) -> list[dict[str, Any]]:
    import urllib.parse

    answer = servers.http_json(f"{vm.url}/api/v1/query?query={urllib.parse.quote(expr)}")
    return answer["data"]["result"]  # type: ignore[no-any-return]


def _firing(recorder: WebhookRecorder, name: str, since: float, env: str) -> dict[str, Any]:
    """receiver -> the firing notification of alert `name` in `env` received since `since`"""
    with recorder._lock:
        notes = list(recorder.notifications)
    found: dict[str, Any] = {}
    for note in notes:
        if note.at >= since:
            for alert in note.alerts(name, "firing"):
                if alert["labels"].get("env") == env:
                    found.setdefault(note.receiver, alert)
    return found


def _control(port: int, action: str, **params: Any) -> None:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    servers.http_json(f"http://{HOST}:{port}/control/{action}?{query}", method="POST")


def test_two_environments_on_victoriametrics_with_vmalert(stack: Stack, tmp_path: Path) -> None:
    recorder = WebhookRecorder().start()
    processes: list[Process] = []
    try:
        app_ports = {env: servers.free_port() for env in ENVS}
        am_ports = {env: servers.free_port() for env in ENVS}
        vm = _victoria_metrics(tmp_path)
        profile = profiles.central_e2e(
            stack,
            app_targets={env: (f"{HOST}:{port}",) for env, port in app_ports.items()},
            alertmanagers={env: f"{HOST}:{port}" for env, port in am_ports.items()},
            central_url=vm.url, webhook_base=recorder.url, interval=INTERVAL,
        )
        config = tmp_path / "config"
        documents = {**prometheus.compile(profile), **alertmanager.compile(profile)}
        rules = {p: d for p, d in distributed.compile(profile).items() if p.startswith("victoriametrics/rules/")}
        # Timing only, as the profile does for everything else: the SLO groups' own 1m (2m30s)
        # intervals become the profile's second, so their chains of records settle in seconds.
        documents.update({p: {"groups": [{**g, "interval": INTERVAL} if "interval" in g else g for g in d["groups"]]}
                          for p, d in rules.items()})
        write_tree(render_all(documents), config)
        assert not (config / "prometheus/rules").exists()  # the environments' Prometheus load no rules: vmalert does
        vm.start("/health")
        processes.append(vm)
        proms: dict[str, Process] = {}
        for env in ENVS:
            (tmp_path / env).mkdir()
            am = servers.alertmanager(config / f"alertmanager/{env}/alertmanager.yml", tmp_path / env, am_ports[env])
            app = servers.app(tmp_path / env, app_ports[env])
            prom = servers.prometheus(config / f"prometheus/{env}/prometheus.yml", tmp_path / env)
            ruler = _vmalert(profile, env, config / "victoriametrics/rules", tmp_path)
            processes += [am, app, prom, ruler]
            am.start("/-/ready")
            app.start("/metrics")
            prom.start("/-/ready")
            ruler.start("/health")
            proms[env] = prom

        with servers.Traffic(app_ports, 20.0):
            # 1. Both environments' series arrive, told apart by their external labels.
            wait_for("both environments' series in VictoriaMetrics", lambda: {
                r["metric"].get("env") for r in _query(vm, 'up{job="sergas-app"}')} >= set(ENVS) or None, 60)
            for env in ENVS:
                (series,) = _query(vm, f'sum by (env, cluster) (up{{job="sergas-app",env="{env}"}})')
                assert series["metric"]["env"] == env and series["metric"]["cluster"]

            # 2. A fault in production fires production's alert, with env="production", routed as production routes it.
            since = time.monotonic()
            _control(app_ports["production"], "errors", every=2)
            name = "HighErrorRate"
            got = wait_for(f"{name} from production at the webhook", lambda: _firing(recorder, name, since, "production") or None, 90)
            labels = next(iter(got.values()))["labels"]
            expected = set(toolchain.routes(config / "alertmanager/production/alertmanager.yml", labels))
            assert "pagerduty" in expected  # production pages
            got = wait_for(f"{name} at every receiver production routes it to", lambda: (
                lambda r: r if set(r) >= expected else None)(_firing(recorder, name, since, "production")), 60)
            assert set(got) == expected
            assert not _firing(recorder, name, since, "staging")  # staging stays quiet

            # 3. An SLO alert evaluated centrally fires like the local one.
            slo_alert = "HttpAvailabilityBudgetBurn1h"
            page = wait_for(f"{slo_alert} from production", lambda: _firing(recorder, slo_alert, since, "production") or None, 180)
            assert next(iter(page.values()))["labels"]["slo"] == "http-availability"
            assert not _firing(recorder, slo_alert, since, "staging")

            # 4. The same fault in staging reaches staging's receivers and never pages.
            staged = time.monotonic()
            _control(app_ports["staging"], "errors", every=2)
            got = wait_for(f"{name} from staging at the webhook", lambda: _firing(recorder, name, staged, "staging") or None, 90)
            staging_labels = next(iter(got.values()))["labels"]
            staging_routes = set(toolchain.routes(config / "alertmanager/staging/alertmanager.yml", staging_labels))
            assert "pagerduty" not in staging_routes
            time.sleep(5)
            assert set(_firing(recorder, name, staged, "staging")) <= staging_routes

            # 5. Staging's Prometheus stops: production's alert neither resolves nor fires again.
            _control(app_ports["staging"], "errors", every=0)
            proms["staging"].stop()
            stopped = time.monotonic()
            time.sleep(20)
            with recorder._lock:
                resolved = [a for n in recorder.notifications if n.at >= stopped
                            for a in n.alerts(name, "resolved") if a["labels"].get("env") == "production"]
            assert not resolved
            active = servers.http_json(f"{processes[-1].url}/api/v1/alerts")["data"]["alerts"]  # production's vmalert
            assert any(a["name"] == name and a["state"] == "firing" and a["labels"].get("env") == "production" for a in active)
    finally:
        for process in reversed(processes):
            process.stop()
        recorder.stop()

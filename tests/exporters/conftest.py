"""One real monitored rig per test module: PostgreSQL, Redis, a loop-mounted disk, the exporters, Prometheus.

Prometheus runs the Sergas stack through the `e2e` profile
(sergas_observability.profiles), as the live-stack tests do: the same alert
expressions and labels, `for` capped at two seconds, each exporter's scrape
job aimed at the exporter started here, scrape and evaluation every INTERVAL
(2 s, see there why not 1 s).
The files the servers read come from the definitions as `make generate`
writes them (the `tree` fixture): postgres_exporter's custom queries, the
blackbox modules, the monitoring role's init script once it is generated.
No Alertmanager: the tests read Prometheus' /api/v1/alerts.

Every process is stopped by PID and the disk unmounted in the fixture's
`finally`, also when a test fails.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from e2e import servers as e2e_servers
from e2e.servers import HOST, PrometheusAPI, free_port, wait_for
from sergas_observability import profiles
from sergas_observability.compile import prometheus, rules
from sergas_observability.model import Stack
from sergas_observability.output import render_all, write_tree

from . import servers
from .servers import LoopDisk, Postgres, Server

MONITOR_USER = "sergas_monitor"
MAX_CONNECTIONS = 25
POSTGRES_SETTINGS = {
    "max_connections": str(MAX_CONNECTIONS),  # small, so connection pressure takes a handful of sessions
    "deadlock_timeout": "100ms",  # PostgreSQL's default is 1s: the same detection, sooner
    "fsync": "off",  # a throw-away cluster
}
# Files of the generated tree the servers read (relative to generated/).
QUERIES = "exporters/postgres_exporter/queries.yml"
BLACKBOX = "compose/blackbox.yml"
INIT_SCRIPT = "compose/postgres-init/10-monitoring-role.sh"
JOBS = ("postgres-exporter", "redis-exporter", "node-exporter", "blackbox-exporter")
# Scrape and evaluation interval (and so scrape timeout). Not the e2e default of 1s:
# when PostgreSQL refuses connections, postgres_exporter 0.11 sleeps 1 s before
# it answers (its GetServer retry), so a 1 s scrape timeout turns "database
# down" (pg_up 0) into "exporter down" (up 0) and DatabaseDown could never fire.
# Production's 10 s timeout has room for it.
INTERVAL = "2s"


@dataclass
class Timing:
    fault: str
    alert: str
    fired: float | None  # seconds from the fault injected to the alert firing
    cleared: float | None  # seconds from the fault removed to the alert gone
    note: str = ""


TIMINGS: list[Timing] = []


@dataclass
class Rig:
    profile: Stack
    workdir: Path
    pg: Postgres
    redis: Server
    disk: LoopDisk
    exporters: dict[str, Server]  # by scrape job
    prometheus: e2e_servers.Process
    prom: PrometheusAPI
    queries: Path | None
    init_script: Path | None
    password_file: Path
    extra: list[Server] = field(default_factory=list)  # started by a test, stopped at the end in any case
    # What fired on the healthy rig before any test injected a fault (tests may run in any order).
    at_rest: list[tuple[str, str, str]] = field(default_factory=list)

    def active_alerts(self) -> list[tuple[str, str, str]]:
        """(alertname, state, mountpoint) of every pending or firing alert of the rig."""
        mine = str(self.disk.mountpoint)
        return [
            (a["labels"]["alertname"], a["state"], a["labels"].get("mountpoint", ""))
            for a in self.prom.alerts()
            # The host's own disks are not the rig's: a full root filesystem on the machine is a real alert, not ours.
            if not (a["labels"]["alertname"] == "DiskSpaceLow" and a["labels"].get("mountpoint") != mine)
        ]

    def instance(self, job: str) -> str:
        return f"{HOST}:{self.exporters[job].port}"

    def defined(self, alert: str) -> bool:
        return any(a.name == alert for a in self.profile.all_alerts)

    def firing(self, name: str, match: dict[str, str] | None = None) -> list[dict[str, Any]]:
        return [
            a for a in self.prom.alerts(name, state="firing")
            if all(a["labels"].get(k) == v for k, v in (match or {}).items())
        ]

    def active(self, name: str, match: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Pending or firing."""
        return [a for a in self.prom.alerts(name) if all(a["labels"].get(k) == v for k, v in (match or {}).items())]

    def firing_names(self) -> set[str]:
        return {a["labels"]["alertname"] for a in self.prom.alerts(state="firing")}

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.prom.query(expr)

    def restart(self, job: str) -> None:
        self.exporters[job].start("/metrics")

    def stop(self, job: str) -> None:
        self.exporters[job].stop()


def compile_configs(profile: Stack, out: Path) -> Path:
    """Write the profile's prometheus.yml and rule files; the config's path."""
    write_tree(render_all({**prometheus.compile(profile), **rules.compile(profile)}), out)
    return out / f"prometheus/{profile.environments[0].name}/prometheus.yml"


@pytest.fixture(scope="module")
def rig(stack: Stack, tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    # A missing server is a failure with the install command, never a skip.
    servers.require_all()
    workdir = tmp_path_factory.mktemp("exporters")
    started: list[Any] = []
    pg: Postgres | None = None
    disk = LoopDisk(workdir / "disk")
    rig: Rig | None = None
    try:
        pg = Postgres.create(POSTGRES_SETTINGS, workdir / "postgres.log")
        pg.start()
        pg.psql("CREATE DATABASE sergas")
        pg.psql("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL DEFAULT 0)", db="sergas")
        pg.psql("INSERT INTO accounts (id) SELECT generate_series(1, 40)", db="sergas")
        password = "monitor-" + str(free_port())
        init_script = tree / INIT_SCRIPT if (tree / INIT_SCRIPT).exists() else None
        servers.create_monitoring_role(pg, MONITOR_USER, password, init_script=init_script)
        password_file = workdir / "postgres-exporter-password"
        password_file.write_text(password + "\n")
        disk.mount()

        redis = servers.redis_server(workdir)
        started.append(redis)
        redis.start()
        queries = tree / QUERIES if (tree / QUERIES).exists() else None
        exporters = {
            "postgres-exporter": servers.postgres_exporter(workdir, "postgres-exporter", pg, MONITOR_USER, password_file, queries),
            "redis-exporter": servers.redis_exporter(workdir, redis),
            "node-exporter": servers.node_exporter(workdir),
            "blackbox-exporter": servers.blackbox_exporter(workdir, tree / BLACKBOX),
        }
        for exporter in exporters.values():
            started.append(exporter)
            exporter.start("/metrics")

        profile = profiles.e2e(
            stack,
            alertmanager=f"{HOST}:{free_port()}",  # nothing listens there: these tests read Prometheus' alerts
            webhook_base=f"http://{HOST}:{free_port()}",
            targets={job: (f"{HOST}:{exporters[job].port}",) for job in JOBS},
            interval=INTERVAL,
        )
        config = compile_configs(profile, workdir / "config")
        prom = e2e_servers.prometheus(config, workdir)
        started.append(prom)
        prom.start("/-/ready")
        rig = Rig(profile, workdir, pg, redis, disk, exporters, prom, PrometheusAPI(prom.url), queries, init_script, password_file)
        wait_for(
            "every exporter's target to be up in Prometheus",
            lambda: {t["labels"]["job"] for t in rig.prom.targets() if t["health"] == "up"} >= set(JOBS),
            30,
        )
        time.sleep(6)  # several evaluations past the 2 s `for`, before any fault
        rig.at_rest = rig.active_alerts()
        yield rig
    finally:
        for process in reversed((rig.extra if rig else []) + started):
            process.stop()
        if pg is not None:
            pg.remove()
        disk.unmount()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TIMINGS:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"exporter faults (real exporters, e2e profile: {INTERVAL} scrape/eval, for <= 2s)")
    write(f"{'fault':<28} {'alert':<30} {'fired':>7} {'cleared':>8}  note")
    for t in TIMINGS:
        fired = f"{t.fired:.1f}s" if t.fired is not None else "-"
        cleared = f"{t.cleared:.1f}s" if t.cleared is not None else "-"
        write(f"{t.fault:<28} {t.alert:<30} {fired:>7} {cleared:>8}  {t.note}")

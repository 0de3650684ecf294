"""The exporter side proven against real exporters: inject a fault, the real alert fires, remove it, it clears.

One rig for the module (conftest.py): PostgreSQL 15, Redis 7, an ext4 image
loop-mounted under a temporary directory, Debian's postgres_exporter,
redis_exporter, node_exporter and blackbox_exporter, and Prometheus
evaluating the stack's own alert expressions (e2e profile: 2 s scrape and
evaluation, `for` capped at 2 s). Faults run one after another in FAULTS
order; each row says which alert(s) it must fire, how the fault is injected,
how it is removed, and the PromQL of the data the alert reads.

DiskSpaceLow is proven on a real nearly full filesystem: a 32 MB ext4 image
(mkfs.ext4 -m 0) mounted with `mount -o loop` and filled to 95 % with
fallocate. node_exporter's filesystem collector reports it from /proc/mounts
like any disk (device /dev/loopN, fstype ext4); a tmpfs would be excluded by
the alert's fstype filter, so no stand-in is used: if the mount is refused,
the test fails saying so.

PENDING holds the names of alerts a row expects that the generated rules do
not have yet. Such a row still injects and removes its fault and asserts the
data its alert will read (the row's `evidence` PromQL returns the expected
series during the fault and nothing after); only the wait for the alert
itself is left out. Empty PENDING as the alerts land.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from e2e.servers import HOST, free_port, wait_for
from sergas_observability.model import Stack

from . import servers
from .conftest import MAX_CONNECTIONS, MONITOR_USER, TIMINGS, Rig, Timing
from .servers import Resp

pytestmark = pytest.mark.slow

# Alerts a row expects that generated/prometheus/rules/alerts.yml does not define yet (see the module docstring).
# Empty: every alert of FAULTS is generated. A new row whose alert is still to come names it here.
PENDING: set[str] = set()

# An alert over a long range window (HighDeadlockRate: increase(...[10m])) keeps
# firing for that window after the fault is gone; the module does not wait for
# it unless this is set (then it does: about eleven minutes more).
FULL_WINDOWS = os.environ.get("SERGAS_EXPORTER_TESTS_FULL_WINDOWS") == "1"

PG = 'job="postgres-exporter"'
REDIS = 'job="redis-exporter"'


# --- how each fault is injected and removed ------------------------------------------


def open_idle_connections(rig: Rig) -> str:
    """Idle psql sessions until the connections in use are just above 80 % of max_connections.

    Idle, not running pg_sleep: an active query would also be a slow query.
    The exporter's own connections are counted (postgres_exporter 0.11 holds
    two); enough slots stay free above superuser_reserved_connections (3) for
    the exporter to reconnect.
    """
    name = "sergas-fault-connections"
    in_use = int(rig.pg.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"))
    wanted = int(0.8 * MAX_CONNECTIONS) + 1 - in_use
    for _ in range(wanted):
        rig.pg.session(None, name)
    wait_for(f"{wanted} idle sessions", lambda: rig.pg.count_sessions(name, "idle") == wanted, 20)
    return name


def end_sessions(rig: Rig, name: str) -> None:
    rig.pg.end_sessions(name)


def start_slow_query(rig: Rig) -> str:
    name = "sergas-fault-slow-query"
    rig.pg.session("SELECT pg_sleep(600)", name)
    wait_for("the slow query to run", lambda: rig.pg.count_sessions(name, "active") == 1, 20)
    return name


def deadlock_count(rig: Rig) -> int:
    return int(rig.pg.psql("SELECT deadlocks FROM pg_stat_database WHERE datname = 'sergas'"))


def make_deadlocks(rig: Rig, wanted: int = 7) -> int:
    """Real deadlocks: pairs of sessions updating two rows in opposite order, until `wanted` more were detected.

    HighDeadlockRate wants more than 5 in 10 minutes. Prometheus must hold a
    sample of the counter before they happen, or increase() has no start.
    """
    wait_for("a sample of pg_stat_database_deadlocks{datname=\"sergas\"}",
             lambda: rig.query(f'pg_stat_database_deadlocks{{{PG},datname="sergas"}}'), 20)
    start = deadlock_count(rig)
    for _ in range(5):
        sessions = []
        for pair in range(wanted):
            first, second = 2 * pair + 1, 2 * pair + 2
            for a, b in ((first, second), (second, first)):
                sessions.append(rig.pg.session([
                    "BEGIN",
                    f"UPDATE accounts SET balance = balance + 1 WHERE id = {a}",
                    "SELECT pg_sleep(0.3)",
                    f"UPDATE accounts SET balance = balance + 1 WHERE id = {b}",
                    "COMMIT",
                ], "sergas-fault-deadlock"))
        for session in sessions:
            session.wait(timeout=30)
        if deadlock_count(rig) - start >= wanted:
            break
    made = deadlock_count(rig) - start
    assert made >= wanted, f"only {made} deadlocks after 5 rounds"
    return start


def deadlocks_stopped(rig: Rig, _start: int) -> None:
    """No more deadlocks: the counter stays where the fault left it across several scrapes."""
    rig.pg.end_sessions("sergas-fault-deadlock")
    settled = deadlock_count(rig)
    time.sleep(3)
    assert deadlock_count(rig) == settled


def fill_disk(rig: Rig) -> None:
    rig.disk.fill(leave=0.05)
    assert rig.disk.fraction_free() < 0.10


def empty_disk(rig: Rig, _: Any) -> None:
    rig.disk.empty()
    assert rig.disk.fraction_free() > 0.5


class Misses:
    """GETs of keys that do not exist, from a thread over a raw RESP socket, until stopped."""

    def __init__(self, rig: Rig, batch: int = 100, pause: float = 0.05):
        self.port, self.batch, self.pause = rig.redis.port, batch, pause
        self.sent = 0
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="redis-misses", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with Resp(self.port) as redis:
                while not self.stopping.is_set():
                    replies = redis.pipeline([("GET", f"sergas:absent:{self.sent + i}") for i in range(self.batch)])
                    assert all(r is None for r in replies)
                    self.sent += self.batch
                    self.stopping.wait(self.pause)
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def stop(self) -> int:
        self.stopping.set()
        self.thread.join(timeout=10)
        if self.error:
            raise AssertionError(f"the miss loop failed: {self.error!r}")
        return self.sent


def start_misses(rig: Rig) -> Misses:
    return Misses(rig)


def warm_cache(rig: Rig, misses: Misses) -> None:
    """The fault removed: misses stop and look-ups hit again, twenty hits per miss sent, so the ratio falls under 5 %."""
    sent = misses.stop()
    with Resp(rig.redis.port) as redis:
        assert redis.command("SET", "sergas:warm", "1") == "OK"
        hits = 20 * sent
        while hits > 0:
            n = min(hits, 5000)
            assert all(r == b"1" for r in redis.pipeline([("GET", "sergas:warm")] * n))
            hits -= n


def stop_postgres(rig: Rig) -> None:
    rig.pg.stop()  # SIGINT: fast shutdown, under its clients


def start_postgres(rig: Rig, _: Any) -> None:
    rig.pg.start()


def stop_redis(rig: Rig) -> None:
    rig.redis.stop()


def start_redis(rig: Rig, _: Any) -> None:
    rig.redis.start()


def stop_exporter(job: str) -> Callable[[Rig], None]:
    return lambda rig: rig.stop(job)


def start_exporter(job: str) -> Callable[[Rig, Any], None]:
    return lambda rig, _: rig.restart(job)


# --- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    name: str
    alerts: tuple[str, ...]  # must fire during the fault (unless in PENDING) and clear after it
    inject: Callable[[Rig], Any]  # returns what `heal` needs
    heal: Callable[[Rig, Any], None]
    evidence: Callable[[Rig], str]  # PromQL: the alert's data, non-empty during the fault, empty after
    match: Callable[[Rig], dict[str, str]] = lambda rig: {}  # labels the firing alert must carry
    fire_within: float = 30.0
    clear_within: float = 30.0
    window: float | None = None  # seconds the alert keeps firing after the fault (a range window), if it does


def _target_down(job: str, alert: str) -> Fault:
    return Fault(
        f"{job}-stopped", (alert,), stop_exporter(job), start_exporter(job),
        evidence=lambda rig: f'up{{job="{job}"}} == 0',
        match=lambda rig: {"job": job, "instance": rig.instance(job)},
    )


FAULTS: tuple[Fault, ...] = (
    Fault(
        "connections-above-80pct", ("HighConnectionUtilization",), open_idle_connections, end_sessions,
        evidence=lambda rig: (f"sum by (job, instance) (pg_stat_activity_count{{{PG}}})"
                              f" / sum by (job, instance) (pg_settings_max_connections{{{PG}}}) > 0.8"),
        match=lambda rig: {"job": "postgres-exporter", "instance": rig.instance("postgres-exporter")},
    ),
    Fault(
        "query-running-600s", ("SlowQueries",), start_slow_query, end_sessions,
        evidence=lambda rig: f'pg_active_queries_max_duration_seconds{{{PG},datname="sergas"}} > 5',
        match=lambda rig: {"datname": "sergas", "instance": rig.instance("postgres-exporter")},
    ),
    Fault(
        "seven-deadlocks", ("HighDeadlockRate",), make_deadlocks, deadlocks_stopped,
        evidence=lambda rig: f'increase(pg_stat_database_deadlocks{{{PG},datname="sergas"}}[10m]) > 5',
        match=lambda rig: {"datname": "sergas", "instance": rig.instance("postgres-exporter")},
        fire_within=40.0,
        window=600.0,
    ),
    Fault(
        "disk-95pct-full", ("DiskSpaceLow",), fill_disk, empty_disk,
        evidence=lambda rig: (f'node_filesystem_avail_bytes{{mountpoint="{rig.disk.mountpoint}"}}'
                              f' / node_filesystem_size_bytes{{mountpoint="{rig.disk.mountpoint}"}} < 0.10'),
        match=lambda rig: {"mountpoint": str(rig.disk.mountpoint), "fstype": "ext4", "instance": rig.instance("node-exporter")},
    ),
    Fault(
        "redis-misses", ("RedisMissRateHigh",), start_misses, warm_cache,
        evidence=lambda rig: (f"sum by (job, instance) (rate(redis_keyspace_misses_total{{{REDIS}}}[10m]))"
                              f" / (sum by (job, instance) (rate(redis_keyspace_hits_total{{{REDIS}}}[10m]))"
                              f" + sum by (job, instance) (rate(redis_keyspace_misses_total{{{REDIS}}}[10m]))) > 0.3"),
        match=lambda rig: {"instance": rig.instance("redis-exporter")},
    ),
    Fault(
        "redis-stopped", ("RedisDown",), stop_redis, start_redis,
        evidence=lambda rig: f"redis_up{{{REDIS}}} == 0",
        match=lambda rig: {"instance": rig.instance("redis-exporter")},
    ),
    Fault(
        "postgres-stopped", ("DatabaseDown",), stop_postgres, start_postgres,
        evidence=lambda rig: f"pg_up{{{PG}}} == 0",
        match=lambda rig: {"instance": rig.instance("postgres-exporter")},
    ),
    _target_down("postgres-exporter", "PostgresExporterTargetDown"),
    _target_down("redis-exporter", "RedisExporterTargetDown"),
    _target_down("node-exporter", "NodeExporterTargetDown"),
    _target_down("blackbox-exporter", "BlackboxExporterTargetDown"),
)


# --- the tests ------------------------------------------------------------------------------


def test_quiet_at_rest(rig: Rig) -> None:
    """Nothing fires on a healthy rig: every metric the alerts read is there (no *MetricsMissing), no threshold crossed.

    Judged when the rig came up, before any fault: under xdist the module's tests run in any order,
    and a fault's alert over a long window (HighDeadlockRate) keeps firing after it."""
    assert rig.at_rest == []


def test_pg_monitor_is_what_lets_the_exporter_see_other_sessions(rig: Rig) -> None:
    """The monitoring role's pg_monitor grant matters: without it another session's running query is invisible.

    A second postgres_exporter connects as a role with LOGIN only. While a
    superuser session runs a long query in database sergas, the real
    exporter (pg_monitor) reports it as an active session and as a running
    query; the one without the grant reports neither, so SlowQueries and
    HighConnectionUtilization would stay blind.
    """
    pg = rig.pg
    assert pg.psql(
        f"SELECT rolsuper, pg_has_role('{MONITOR_USER}', 'pg_monitor', 'member') FROM pg_roles WHERE rolname = '{MONITOR_USER}'"
    ) == "f|t", "the exporter's role must be a non-superuser member of pg_monitor"
    users = pg.psql("SELECT DISTINCT usename FROM pg_stat_activity WHERE backend_type = 'client backend' AND usename <> 'postgres'")
    assert users.split() == [MONITOR_USER], "postgres_exporter connects as the monitoring role"

    blind_user, blind_password = "sergas_blind", f"blind-{free_port()}"
    servers.create_monitoring_role(pg, blind_user, blind_password, pg_monitor=False)
    secret = rig.workdir / "blind-password"
    secret.write_text(blind_password + "\n")
    blind = servers.postgres_exporter(rig.workdir, "postgres-exporter-blind", pg, blind_user, secret, rig.queries)
    rig.extra.append(blind)
    blind.start("/metrics")
    name = "sergas-hidden-query"
    try:
        # In database postgres: the exporters connect to sergas, so their own sessions are not counted here.
        pg.session("SELECT pg_sleep(600)", name, db="postgres")
        wait_for("the query to run", lambda: pg.count_sessions(name, "active") == 1, 20)
        time.sleep(1.5)  # so its running time is clearly above zero

        def seen(url: str) -> tuple[float, float, float]:
            samples = servers.scrape(url + "/metrics")

            def value(metric: str, **labels: str) -> float:
                return sum(v for l, v in samples.get(metric, []) if all(l.get(k) == x for k, x in labels.items()))

            return (
                value("pg_stat_activity_count", datname="postgres", state="active"),
                value("pg_stat_activity_max_tx_duration", datname="postgres", state="active"),
                value("pg_active_queries_max_duration_seconds", datname="postgres"),
            )

        def granted_sees() -> tuple[float, float, float] | None:
            found = seen(rig.exporters["postgres-exporter"].url)
            return found if found[0] >= 1 else None

        granted = wait_for("the monitoring exporter to see the query", granted_sees, 10)
        hidden = seen(blind.url)
        assert granted[1] > 1 and (rig.queries is None or granted[2] > 1), granted
        assert hidden == (0, 0, 0), f"without pg_monitor the exporter still saw the query: {hidden}"
    finally:
        pg.end_sessions(name)
        blind.stop()


def _exposed(rig: Rig) -> dict[str, dict[str, list[tuple[dict[str, str], float]]]]:
    """Every exporter's samples, by catalog exporter name; blackbox's through a probe of a loopback URL."""
    probe = f"{rig.exporters['blackbox-exporter'].url}/probe?module=http_2xx&target=http://{HOST}:{rig.exporters['node-exporter'].port}/metrics"
    return {
        "postgres_exporter": servers.scrape(rig.exporters["postgres-exporter"].url + "/metrics"),
        "redis_exporter": servers.scrape(rig.exporters["redis-exporter"].url + "/metrics"),
        "node_exporter": servers.scrape(rig.exporters["node-exporter"].url + "/metrics"),
        "blackbox_exporter": servers.scrape(probe),
    }


# Catalog metrics the rig cannot make an exporter expose, and why.
NOT_ON_THE_RIG = {
    "probe_ssl_earliest_cert_expiry": "only on a TLS probe; the rig probes plain HTTP on loopback",
}


def test_exporter_catalogs_match_the_real_exporters(rig: Rig, stack: Stack) -> None:
    """definitions/exporters.py declares the metrics our rules and panels read, with the exporters' real labels.

    Its label sets are the union over the versions we run (compose's pinned
    images and Debian's packages here), so on this rig each declared metric
    must be exposed, and every label it carries must be declared (a declared
    label may belong to the other version only).
    """
    exposed = _exposed(rig)
    problems = []
    for metric in stack.metrics:
        if metric.exporter not in exposed or metric.name in NOT_ON_THE_RIG:
            continue
        samples = exposed[metric.exporter].get(metric.name)
        if not samples:
            problems.append(f"{metric.exporter}: {metric.name} not exposed")
            continue
        labels = set().union(*(set(l) for l, _ in samples))
        undeclared = labels - set(metric.label_names)
        if undeclared:
            problems.append(f"{metric.exporter}: {metric.name} carries undeclared label(s) {sorted(undeclared)}"
                            f" (declared: {sorted(metric.label_names)})")
    assert problems == []


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_fault_fires_and_clears(rig: Rig, fault: Fault) -> None:
    match = fault.match(rig)
    asserted = [name for name in fault.alerts if name not in PENDING]
    for name in asserted:
        assert rig.defined(name), f"{name} is not defined in the stack: define it, or add it to PENDING until it is"
    evidence = fault.evidence(rig)
    wait_for(f"{fault.alerts} quiet before the fault",
             lambda: not rig.query(evidence) and not any(rig.active(n, match) for n in asserted), 30)
    before = rig.firing_names()

    start = time.monotonic()
    handle = None
    fired: dict[str, float] = {}
    try:
        handle = fault.inject(rig)
        wait_for(f"the data of {fault.name}: {evidence}", lambda: rig.query(evidence), fault.fire_within)
        seen = time.monotonic() - start
        for name in asserted:
            left = max(1.0, fault.fire_within - (time.monotonic() - start))
            wait_for(f"{name}{match} to fire", lambda: rig.firing(name, match), left)
            fired[name] = time.monotonic() - start
        also = sorted({f"{a['labels']['alertname']} ({a['state']})" for a in rig.prom.alerts()
                       if a["labels"]["alertname"] not in before | set(fault.alerts)})
    except BaseException:
        with contextlib.suppress(Exception):  # leave the next rows a healthy rig; the failure is the one above
            fault.heal(rig, handle)
        raise
    healed = time.monotonic()
    fault.heal(rig, handle)

    notes = [f"also: {', '.join(also)}"] if also else []
    if fault.window and not FULL_WINDOWS:
        # The fault is gone (its heal checked that); the range window keeps the alert up, as it should.
        for name in asserted:
            assert rig.firing(name, match), f"{name} stopped firing before its window passed"
        notes.insert(0, f"keeps firing for its {fault.window / 60:.0f}m window (SERGAS_EXPORTER_TESTS_FULL_WINDOWS=1 waits)")
        for name in fault.alerts:
            TIMINGS.append(Timing(fault.name, name, fired.get(name), None, "; ".join(notes)))
        return

    clear_within = fault.clear_within + (fault.window or 0)
    wait_for(f"the data of {fault.name} back to normal: {evidence}", lambda: not rig.query(evidence), clear_within)
    gone = time.monotonic() - healed
    cleared: dict[str, float] = {}
    for name in asserted:
        left = max(1.0, clear_within - (time.monotonic() - healed))
        wait_for(f"{name}{match} to clear", lambda: not rig.active(name, match), left)
        cleared[name] = time.monotonic() - healed
    for name in fault.alerts:
        if name in PENDING:
            note = f"PENDING: data only (seen after {seen:.1f}s, gone {gone:.1f}s after the fix)"
            TIMINGS.append(Timing(fault.name, name, None, None, "; ".join([note] + notes)))
        else:
            TIMINGS.append(Timing(fault.name, name, fired[name], cleared[name], "; ".join(notes)))

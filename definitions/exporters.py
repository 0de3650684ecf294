"""Catalogs of the exporter metrics our rules and dashboards read.

Only what we use is declared, with the labels the exporters really expose, so
a query on a renamed or misspelt exporter metric fails at generate time.

The labels are the union over the two versions we run: the images the
compose stack pins (sergas_observability/compile/compose.py: postgres-exporter
0.15.0, redis_exporter 1.62.0, node-exporter 1.8.2, cAdvisor 0.49.1,
blackbox-exporter 0.25.0) and Debian 12's packages the live tests run
(prometheus-postgres-exporter 0.11.1, prometheus-redis-exporter 1.45.0,
prometheus-node-exporter 1.5.0, prometheus-blackbox-exporter 0.23.0). The
Debian label sets were read from the /metrics of those exporters against a
PostgreSQL 15 and a Redis 7.0; the pinned ones from the exporters' source at
those tags. Where the versions differ:

- postgres_exporter: 0.11 puts `server` (host:port) on every pg_stat_*,
  pg_settings_* and pg_locks_* series; 0.15 keeps it on pg_stat_activity_*
  and pg_settings_* (its built-in queries) but not on what moved to its
  collectors (pg_stat_database_*, pg_locks_count). 0.15 also labels
  pg_stat_activity_* by `usename` and `application_name`. pg_up has no labels.
- node_exporter 1.8 adds `device_error` to every node_filesystem_* series.
- redis_exporter's and blackbox_exporter's series here carry no labels of
  their own in either version.

So a legend or `by` on `server` is safe for pg_stat_activity_* and
pg_settings_*, not for pg_stat_database_* or pg_locks_count (empty on 0.15).
"""

from sergas_observability.model import Metric


def _catalog(exporter: str, *entries: tuple[str, str, str, tuple[str, ...]]) -> tuple[Metric, ...]:
    return tuple(
        Metric(name=name, kind=kind, help=help_text, labels=labels, exporter=exporter)
        for name, kind, help_text, labels in entries
    )


PG_ACTIVITY = ("datname", "state", "server", "usename", "application_name")
PG_DATABASE = ("datid", "datname", "server")  # server: 0.11 only
PG_SETTING = ("server",)

POSTGRES = _catalog(
    "postgres_exporter",
    ("pg_up", "gauge", "Whether the last scrape could connect to PostgreSQL (1 up, 0 down).", ()),
    ("pg_stat_activity_count", "gauge", "Connections by database, state (and user, application on 0.15).", PG_ACTIVITY),
    ("pg_stat_activity_max_tx_duration", "gauge", "Longest running transaction, in seconds, by database and state.", PG_ACTIVITY),
    ("pg_settings_max_connections", "gauge", "The max_connections server setting.", PG_SETTING),
    ("pg_settings_superuser_reserved_connections", "gauge", "The superuser_reserved_connections server setting.", PG_SETTING),
    ("pg_stat_database_deadlocks", "counter", "Deadlocks detected, by database.", PG_DATABASE),
    ("pg_stat_database_xact_commit", "counter", "Transactions committed, by database.", PG_DATABASE),
    ("pg_stat_database_xact_rollback", "counter", "Transactions rolled back, by database.", PG_DATABASE),
    ("pg_locks_count", "gauge", "Locks held, by database and lock mode.", ("datname", "mode", "server")),  # server: 0.11 only
)

REDIS = _catalog(
    "redis_exporter",
    ("redis_up", "gauge", "Whether the last scrape could reach Redis.", ()),
    ("redis_connected_clients", "gauge", "Client connections.", ()),
    ("redis_memory_used_bytes", "gauge", "Memory used by Redis.", ()),
    ("redis_memory_max_bytes", "gauge", "The maxmemory setting (0: no limit).", ()),
    ("redis_keyspace_hits_total", "counter", "Key look-ups that hit.", ()),
    ("redis_keyspace_misses_total", "counter", "Key look-ups that missed.", ()),
)

FILESYSTEM = ("device", "fstype", "mountpoint", "device_error")  # device_error: 1.8 on

NODE = _catalog(
    "node_exporter",
    ("node_filesystem_avail_bytes", "gauge", "Filesystem space available to non-root users.", FILESYSTEM),
    ("node_filesystem_size_bytes", "gauge", "Filesystem size.", FILESYSTEM),
    ("node_filesystem_readonly", "gauge", "Whether the filesystem is mounted read-only (1) or not (0).", FILESYSTEM),
)

CADVISOR = _catalog(
    "cadvisor",
    ("container_memory_working_set_bytes", "gauge", "Working-set memory of a container.", ("id", "name", "image")),
    ("container_spec_memory_limit_bytes", "gauge", "Memory limit of a container (0: no limit).", ("id", "name", "image")),
)

BLACKBOX = _catalog(
    "blackbox_exporter",
    ("probe_success", "gauge", "Whether the probe succeeded (1) or failed (0).", ()),
)

EXPORTER_METRICS = POSTGRES + REDIS + NODE + CADVISOR + BLACKBOX

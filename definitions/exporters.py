"""Catalogs of the exporter metrics our rules and dashboards read.

Only what we use is declared, with the labels the exporters really expose, so
a query on a renamed or misspelt exporter metric fails at generate time.
"""

from sergas_observability.model import Metric


def _catalog(exporter: str, *entries: tuple[str, str, str, tuple[str, ...]]) -> tuple[Metric, ...]:
    return tuple(
        Metric(name=name, kind=kind, help=help_text, labels=labels, exporter=exporter)
        for name, kind, help_text, labels in entries
    )


POSTGRES = _catalog(
    "postgres_exporter",
    ("pg_up", "gauge", "Whether the last scrape could connect to PostgreSQL (1 up, 0 down).", ()),
    ("pg_stat_activity_count", "gauge", "Connections by database and state.", ("datname", "state")),
    ("pg_stat_activity_max_tx_duration", "gauge", "Longest running transaction, in seconds, by database and state.", ("datname", "state")),
    ("pg_settings_max_connections", "gauge", "The max_connections server setting.", ("server",)),
    ("pg_stat_database_deadlocks", "counter", "Deadlocks detected, by database.", ("datid", "datname")),
    ("pg_stat_database_xact_commit", "counter", "Transactions committed, by database.", ("datid", "datname")),
    ("pg_stat_database_xact_rollback", "counter", "Transactions rolled back, by database.", ("datid", "datname")),
    ("pg_locks_count", "gauge", "Locks held, by database and lock mode.", ("datname", "mode")),
)

REDIS = _catalog(
    "redis_exporter",
    ("redis_up", "gauge", "Whether the last scrape could reach Redis.", ()),
    ("redis_connected_clients", "gauge", "Client connections.", ()),
    ("redis_config_maxclients", "gauge", "The maxclients setting.", ()),
    ("redis_memory_used_bytes", "gauge", "Memory used by Redis.", ()),
    ("redis_memory_max_bytes", "gauge", "The maxmemory setting.", ()),
    ("redis_keyspace_hits_total", "counter", "Key look-ups that hit.", ()),
    ("redis_keyspace_misses_total", "counter", "Key look-ups that missed.", ()),
    ("redis_commands_processed_total", "counter", "Commands processed.", ()),
)

NODE = _catalog(
    "node_exporter",
    ("node_filesystem_avail_bytes", "gauge", "Filesystem space available to non-root users.", ("device", "fstype", "mountpoint")),
    ("node_filesystem_size_bytes", "gauge", "Filesystem size.", ("device", "fstype", "mountpoint")),
    ("node_cpu_seconds_total", "counter", "CPU time spent per mode.", ("cpu", "mode")),
    ("node_memory_MemAvailable_bytes", "gauge", "Memory available to start new applications.", ()),
    ("node_memory_MemTotal_bytes", "gauge", "Total memory.", ()),
    ("node_load1", "gauge", "One-minute load average.", ()),
)

CADVISOR = _catalog(
    "cadvisor",
    ("container_cpu_usage_seconds_total", "counter", "Cumulative CPU time consumed by a container.", ("id", "name", "image", "cpu")),
    ("container_memory_working_set_bytes", "gauge", "Working-set memory of a container.", ("id", "name", "image")),
    ("container_spec_memory_limit_bytes", "gauge", "Memory limit of a container.", ("id", "name", "image")),
    ("container_spec_cpu_quota", "gauge", "CPU quota of a container (microseconds per period).", ("id", "name", "image")),
    ("container_spec_cpu_period", "gauge", "CPU period of a container (microseconds).", ("id", "name", "image")),
)

BLACKBOX = _catalog(
    "blackbox_exporter",
    ("probe_success", "gauge", "Whether the probe succeeded (1) or failed (0).", ()),
    ("probe_duration_seconds", "gauge", "How long the probe took.", ()),
    ("probe_http_status_code", "gauge", "HTTP status code of the probe's response.", ()),
    ("probe_ssl_earliest_cert_expiry", "gauge", "Earliest expiry of the TLS certificate chain, as a Unix time.", ()),
)

EXPORTER_METRICS = POSTGRES + REDIS + NODE + CADVISOR + BLACKBOX

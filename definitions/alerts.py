"""The eleven alerts of seed section 4.3 (and three the real exporters called for), each with a scenario that proves it.

Thresholds come from the seed. Every alert carries a `test`: input series
where it must fire (with the labels and value its expression returns) and
where it must stay quiet; `make test` runs them through `promtool test rules`.
Series values use promtool's notation: "0+60x20" is 0, 60, 120, ... one
sample a minute.
"""

from sergas_observability.model import Alert, AlertScenario, AlertTest

from .runbooks import RUNBOOKS
# Dashboard uids (definitions/dashboards.py) linked from each alert's annotations.
OVERVIEW = "sergas-system-overview"
DATABASE = "sergas-database-performance"
APPROVALS = "sergas-approval-workflow"
APP = 'job="sergas-app"'
PG = {"job": "postgres-exporter", "instance": "postgres-exporter:9187"}


def _series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _http(status: str, values: str) -> dict[str, str]:
    labels = {"job": "sergas-app", "instance": "app:9090", "method": "GET", "route": "/api/accounts", "status": status}
    return {_series("http_requests_total", labels): values}


# --- P0: critical -----------------------------------------------------------

database_down = Alert(
    name="DatabaseDown",
    severity="P0",
    service="postgres",
    expr='pg_up{job="postgres-exporter"} == 0',
    for_="1m",
    summary="PostgreSQL is unreachable.",
    description="postgres_exporter {{ $labels.instance }} cannot connect to PostgreSQL for more than 1 minute.",
    runbook_url=f"{RUNBOOKS}/DATABASE_ISSUES.md#connection-failures",
    dashboard=DATABASE,
    test=AlertTest(
        firing=AlertScenario(series={_series("pg_up", PG): "1 1 0x10"}, labels=PG, value=0),
        quiet=AlertScenario(series={_series("pg_up", PG): "1x12"}),
    ),
)

application_down = Alert(
    name="ApplicationDown",
    severity="P0",
    service="sergas-app",
    expr='sum by (job) (up{job="sergas-app"}) == 0',
    for_="1m",
    summary="No instance of the Sergas application is up.",
    description="Every target of job {{ $labels.job }} has failed its scrape for more than 1 minute.",
    runbook_url=f"{RUNBOOKS}/incident_response.md#application-down",
    dashboard=OVERVIEW,
    test=AlertTest(
        firing=AlertScenario(
            series={'up{job="sergas-app", instance="blue:9090"}': "1 0x10", 'up{job="sergas-app", instance="green:9090"}': "0x11"},
            labels={"job": "sergas-app"},
            value=0,
        ),
        # Blue-green: one colour down while the other serves is not an outage.
        quiet=AlertScenario(
            series={'up{job="sergas-app", instance="blue:9090"}': "1x11", 'up{job="sergas-app", instance="green:9090"}': "0x11"},
        ),
    ),
)

high_error_rate = Alert(
    name="HighErrorRate",
    severity="P0",
    service="sergas-app",
    # A 2m window and for: 1m keep the worst-case latency inside the 5 min P0 budget.
    expr=(
        f'sum by (job) (rate(http_requests_total{{{APP},status=~"5.."}}[2m]))\n'
        f"/ sum by (job) (rate(http_requests_total{{{APP}}}[2m])) > 0.05"
    ),
    for_="1m",
    summary="More than 5% of HTTP requests fail with a 5xx status.",
    description="{{ $value | humanizePercentage }} of the requests to {{ $labels.job }} returned 5xx over the last 2 minutes.",
    runbook_url=f"{RUNBOOKS}/incident_response.md#high-error-rate",
    dashboard=OVERVIEW,
    test=AlertTest(
        firing=AlertScenario(
            series={**_http("200", "0+60x20"), **_http("500", "0+10x20")}, labels={"job": "sergas-app"}, value=1 / 7
        ),
        quiet=AlertScenario(series={**_http("200", "0+60x20"), **_http("500", "0+1x20")}),
    ),
)

disk_space_low = Alert(
    name="DiskSpaceLow",
    severity="P0",
    service="node",
    # A read-only filesystem (an image, a snapshot) is full by design: not a disk filling up.
    expr=(
        'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"}\n'
        '/ node_filesystem_size_bytes{fstype!~"tmpfs|overlay"} < 0.10\n'
        "and on (job, instance, device, mountpoint) node_filesystem_readonly == 0"
    ),
    for_="2m",
    summary="A filesystem has less than 10% space left.",
    description="{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} space left.",
    runbook_url=f"{RUNBOOKS}/DATABASE_ISSUES.md#disk-space-management",
    dashboard=OVERVIEW,
    test=AlertTest(
        firing=AlertScenario(
            series={
                'node_filesystem_avail_bytes{job="node-exporter", instance="node-1:9100", device="/dev/sda1", fstype="ext4", mountpoint="/"}': "5x12",
                'node_filesystem_size_bytes{job="node-exporter", instance="node-1:9100", device="/dev/sda1", fstype="ext4", mountpoint="/"}': "100x12",
                'node_filesystem_readonly{job="node-exporter", instance="node-1:9100", device="/dev/sda1", fstype="ext4", mountpoint="/"}': "0x12",
            },
            labels={"job": "node-exporter", "instance": "node-1:9100", "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"},
            value=0.05,
        ),
        quiet=AlertScenario(
            series={
                'node_filesystem_avail_bytes{job="node-exporter", instance="node-1:9100", device="/dev/sda1", fstype="ext4", mountpoint="/"}': "50x12",
                'node_filesystem_size_bytes{job="node-exporter", instance="node-1:9100", device="/dev/sda1", fstype="ext4", mountpoint="/"}': "100x12",
                # tmpfs filling up is not disk space.
                'node_filesystem_avail_bytes{job="node-exporter", instance="node-1:9100", device="tmpfs", fstype="tmpfs", mountpoint="/run"}': "1x12",
                'node_filesystem_size_bytes{job="node-exporter", instance="node-1:9100", device="tmpfs", fstype="tmpfs", mountpoint="/run"}': "100x12",
                # A read-only squashfs is always full.
                'node_filesystem_avail_bytes{job="node-exporter", instance="node-1:9100", device="/dev/loop0", fstype="squashfs", mountpoint="/snap/core"}': "0x12",
                'node_filesystem_size_bytes{job="node-exporter", instance="node-1:9100", device="/dev/loop0", fstype="squashfs", mountpoint="/snap/core"}': "100x12",
                'node_filesystem_readonly{job="node-exporter", instance="node-1:9100", device="/dev/loop0", fstype="squashfs", mountpoint="/snap/core"}': "1x12",
            },
        ),
    ),
)

# --- P1: warning ------------------------------------------------------------

high_connection_utilization = Alert(
    name="HighConnectionUtilization",
    severity="P1",
    service="postgres",
    # Per server, against the connections ordinary roles may open (max_connections
    # less the slots reserved for superusers).
    expr=(
        "sum by (job, instance, server) (pg_stat_activity_count)\n"
        "/ on (job, instance, server) (pg_settings_max_connections - pg_settings_superuser_reserved_connections) > 0.8"
    ),
    for_="5m",
    summary="PostgreSQL connections are above 80% of what applications may open.",
    description="{{ $labels.server }} ({{ $labels.instance }}) uses {{ $value | humanizePercentage }} of its max_connections less the superuser-reserved slots.",
    runbook_url=f"{RUNBOOKS}/APPROVAL_TIMEOUTS.md#connection-pool-exhaustion",
    dashboard=DATABASE,
    test=AlertTest(
        firing=AlertScenario(
            # Two servers behind one exporter: the busy one alerts although the sum is at 50 %.
            series={
                _series("pg_stat_activity_count", {**PG, "server": "db-a:5432", "datname": "sergas", "state": "active"}): "60x15",
                _series("pg_stat_activity_count", {**PG, "server": "db-a:5432", "datname": "sergas", "state": "idle"}): "30x15",
                _series("pg_settings_max_connections", {**PG, "server": "db-a:5432"}): "103x15",
                _series("pg_settings_superuser_reserved_connections", {**PG, "server": "db-a:5432"}): "3x15",
                _series("pg_stat_activity_count", {**PG, "server": "db-b:5432", "datname": "sergas", "state": "active"}): "10x15",
                _series("pg_settings_max_connections", {**PG, "server": "db-b:5432"}): "103x15",
                _series("pg_settings_superuser_reserved_connections", {**PG, "server": "db-b:5432"}): "3x15",
            },
            labels={**PG, "server": "db-a:5432"},
            value=0.9,
        ),
        # 77 of the 97 slots ordinary roles may open: under 80 %.
        quiet=AlertScenario(
            series={
                _series("pg_stat_activity_count", {**PG, "server": "db:5432", "datname": "sergas", "state": "active"}): "77x15",
                _series("pg_settings_max_connections", {**PG, "server": "db:5432"}): "100x15",
                _series("pg_settings_superuser_reserved_connections", {**PG, "server": "db:5432"}): "3x15",
            },
        ),
    ),
)

slow_queries = Alert(
    name="SlowQueries",
    severity="P1",
    service="postgres",
    # The running time of queries (now - query_start, definitions/postgres_queries.py),
    # not of transactions: a transaction of many short queries is not slow.
    expr="max by (job, instance, datname) (pg_active_queries_max_duration_seconds) > 5",
    for_="2m",
    summary="A database query has been running for more than 5 seconds.",
    description="The longest active query on {{ $labels.datname }} ({{ $labels.instance }}) has run for {{ $value | humanizeDuration }}.",
    runbook_url=f"{RUNBOOKS}/DATABASE_ISSUES.md#performance-degradation",
    dashboard=DATABASE,
    test=AlertTest(
        firing=AlertScenario(
            series={_series("pg_active_queries_max_duration_seconds", {**PG, "datname": "sergas"}): "12x12"},
            labels={**PG, "datname": "sergas"},
            value=12,
        ),
        quiet=AlertScenario(
            series={
                _series("pg_active_queries_max_duration_seconds", {**PG, "datname": "sergas"}): "2x12",
                # A long transaction of short queries grows its transaction age only.
                _series("pg_stat_activity_max_tx_duration", {**PG, "datname": "sergas", "state": "active"}): "60x12",
            },
        ),
    ),
)

long_running_transaction = Alert(
    name="LongRunningTransaction",
    severity="P2",
    service="postgres",
    # A transaction open for minutes holds locks and blocks vacuum, however short its queries.
    expr='max by (job, instance, datname) (pg_stat_activity_max_tx_duration{state=~"active|idle in transaction"}) > 300',
    for_="5m",
    summary="A database transaction has been open for more than 5 minutes.",
    description="The oldest open transaction on {{ $labels.datname }} ({{ $labels.instance }}) started {{ $value | humanizeDuration }} ago.",
    runbook_url=f"{RUNBOOKS}/DATABASE_ISSUES.md#long-transactions",
    dashboard=DATABASE,
    test=AlertTest(
        firing=AlertScenario(
            series={_series("pg_stat_activity_max_tx_duration", {**PG, "datname": "sergas", "state": "idle in transaction"}): "600x15"},
            labels={**PG, "datname": "sergas"},
            value=600,
        ),
        quiet=AlertScenario(
            series={_series("pg_stat_activity_max_tx_duration", {**PG, "datname": "sergas", "state": "active"}): "20x15"},
        ),
    ),
)

high_approval_timeout_rate = Alert(
    name="HighApprovalTimeoutRate",
    severity="P1",
    service="approval-workflow",
    # 10m window + for 3m keeps the worst case (about 14 min) inside the 15 min P1 budget.
    expr=(
        "sum by (job) (rate(sergas_approval_timeouts_total[10m]))\n"
        "/ (sum by (job) (rate(sergas_approval_timeouts_total[10m])) + sum by (job) (rate(sergas_approvals_completed_total[10m])))\n"
        "> 0.05"
    ),
    for_="3m",
    summary="More than 5% of approval requests time out.",
    description="{{ $value | humanizePercentage }} of approval requests in {{ $labels.job }} expired without a decision over the last 10 minutes.",
    runbook_url=f"{RUNBOOKS}/APPROVAL_TIMEOUTS.md",
    dashboard=APPROVALS,
    test=AlertTest(
        firing=AlertScenario(
            series={
                f"sergas_approval_timeouts_total{{{APP}, instance=\"app:9090\"}}": "0+1x40",
                f"sergas_approvals_completed_total{{{APP}, instance=\"app:9090\", decision=\"approved\"}}": "0+9x40",
            },
            labels={"job": "sergas-app"},
            value=0.1,
        ),
        quiet=AlertScenario(
            series={
                f"sergas_approval_timeouts_total{{{APP}, instance=\"app:9090\"}}": "0x40",
                f"sergas_approvals_completed_total{{{APP}, instance=\"app:9090\", decision=\"approved\"}}": "0+9x40",
            },
        ),
        at="30m",
    ),
)

sse_disconnect_rate_high = Alert(
    name="SSEDisconnectRateHigh",
    severity="P1",
    service="sergas-app",
    # Abnormal endings only: a client closing its tab is normal.
    expr=(
        'sum by (job) (rate(sergas_sse_disconnects_total{job="sergas-app",reason!="client_closed"}[5m])) * 60\n'
        '/ clamp_min(sum by (job) (sergas_sse_connections_active{job="sergas-app"}), 1) > 0.1'
    ),
    for_="5m",
    summary="Server-sent-event streams drop abnormally.",
    description="{{ $value | humanizePercentage }} of the open SSE streams of {{ $labels.job }} end abnormally every minute.",
    runbook_url=f"{RUNBOOKS}/SSE_CONNECTION_DROPS.md",
    dashboard=OVERVIEW,
    test=AlertTest(
        firing=AlertScenario(
            series={
                f'sergas_sse_disconnects_total{{{APP}, instance="app:9090", stream="approvals", reason="timeout"}}': "0+20x20",
                f'sergas_sse_connections_active{{{APP}, instance="app:9090", stream="approvals"}}': "100x20",
            },
            labels={"job": "sergas-app"},
            value=0.2,
        ),
        quiet=AlertScenario(
            series={
                f'sergas_sse_disconnects_total{{{APP}, instance="app:9090", stream="approvals", reason="client_closed"}}': "0+50x20",
                f'sergas_sse_disconnects_total{{{APP}, instance="app:9090", stream="approvals", reason="timeout"}}': "0+1x20",
                f'sergas_sse_connections_active{{{APP}, instance="app:9090", stream="approvals"}}': "100x20",
            },
        ),
    ),
)

# --- P2: info ---------------------------------------------------------------

CONTAINER = {"job": "cadvisor", "instance": "node-1:8080", "id": "/docker/abc", "name": "sergas-app-blue", "image": "sergas/app:1.0.0"}

approaching_max_capacity = Alert(
    name="ApproachingMaxCapacity",
    severity="P2",
    service="sergas-app",
    # A limit of 0 means "no limit": drop those series instead of dividing by zero.
    expr=(
        'container_memory_working_set_bytes{name=~"sergas-app.*"}\n'
        '/ (container_spec_memory_limit_bytes{name=~"sergas-app.*"} > 0) > 0.8'
    ),
    for_="15m",
    summary="An application container uses more than 80% of its memory limit.",
    description="Container {{ $labels.name }} on {{ $labels.instance }} uses {{ $value | humanizePercentage }} of its memory limit.",
    runbook_url=f"{RUNBOOKS}/SCALING.md#capacity-planning",
    dashboard=OVERVIEW,
    test=AlertTest(
        firing=AlertScenario(
            series={
                _series("container_memory_working_set_bytes", CONTAINER): "1800000000x25",
                _series("container_spec_memory_limit_bytes", CONTAINER): "2000000000x25",
            },
            labels=CONTAINER,
            value=0.9,
        ),
        quiet=AlertScenario(
            series={
                _series("container_memory_working_set_bytes", CONTAINER): "1800000000x25",
                _series("container_spec_memory_limit_bytes", CONTAINER): "0x25",
            },
        ),
    ),
)

high_deadlock_rate = Alert(
    name="HighDeadlockRate",
    severity="P2",
    service="postgres",
    expr="sum by (job, instance, datname) (increase(pg_stat_database_deadlocks[10m])) > 5",
    for_="5m",
    summary="PostgreSQL detects deadlocks frequently.",
    description="{{ $labels.datname }} on {{ $labels.instance }} had {{ $value | humanize }} deadlocks in the last 10 minutes.",
    runbook_url=f"{RUNBOOKS}/DATABASE_ISSUES.md#transaction-deadlocks",
    dashboard=DATABASE,
    test=AlertTest(
        firing=AlertScenario(
            series={_series("pg_stat_database_deadlocks", {**PG, "datid": "16384", "datname": "sergas"}): "0+1x30"},
            labels={**PG, "datname": "sergas"},
            value=10,
        ),
        quiet=AlertScenario(
            series={_series("pg_stat_database_deadlocks", {**PG, "datid": "16384", "datname": "sergas"}): "0+0.2x30"},
        ),
        at="20m",
    ),
)

cache_miss_rate_high = Alert(
    name="CacheMissRateHigh",
    severity="P2",
    # The application's own cache look-ups (its counters), whatever store serves them;
    # RedisMissRateHigh watches Redis itself.
    service="sergas-app",
    # Seed section 9.1: the cache hit ratio target is above 70%.
    expr=(
        "sum by (job) (rate(sergas_cache_misses_total[10m]))\n"
        "/ (sum by (job) (rate(sergas_cache_hits_total[10m])) + sum by (job) (rate(sergas_cache_misses_total[10m])))\n"
        "> 0.3"
    ),
    for_="15m",
    summary="The application cache misses more than 30% of look-ups.",
    description="{{ $value | humanizePercentage }} of cache look-ups in {{ $labels.job }} missed over the last 10 minutes (target: under 30%).",
    runbook_url=f"{RUNBOOKS}/SCALING.md#caching",
    dashboard=OVERVIEW,
    test=AlertTest(
        firing=AlertScenario(
            series={
                f'sergas_cache_hits_total{{{APP}, instance="app:9090", cache="session"}}': "0+50x30",
                f'sergas_cache_misses_total{{{APP}, instance="app:9090", cache="session"}}': "0+50x30",
            },
            labels={"job": "sergas-app"},
            value=0.5,
        ),
        quiet=AlertScenario(
            series={
                f'sergas_cache_hits_total{{{APP}, instance="app:9090", cache="session"}}': "0+90x30",
                f'sergas_cache_misses_total{{{APP}, instance="app:9090", cache="session"}}': "0+10x30",
            },
        ),
    ),
)

REDIS = {"job": "redis-exporter", "instance": "redis-exporter:9121"}

redis_down = Alert(
    name="RedisDown",
    severity="P1",
    service="redis",
    expr='redis_up{job="redis-exporter"} == 0',
    for_="1m",
    summary="Redis is unreachable.",
    description="redis_exporter {{ $labels.instance }} cannot reach Redis for more than 1 minute: sessions and caches fall back to the database.",
    runbook_url=f"{RUNBOOKS}/SCALING.md#redis-down",
    dashboard=OVERVIEW,
    test=AlertTest(
        firing=AlertScenario(series={_series("redis_up", REDIS): "1 1 0x10"}, labels=REDIS, value=0),
        quiet=AlertScenario(series={_series("redis_up", REDIS): "1x12"}),
    ),
)

redis_miss_rate_high = Alert(
    name="RedisMissRateHigh",
    severity="P2",
    service="redis",
    # Seed section 9.1: cache hit ratio above 70 %. Over one look-up a second only:
    # a few misses on an idle server are no storm.
    expr=(
        "sum by (job, instance) (rate(redis_keyspace_misses_total[10m]))\n"
        "/ (sum by (job, instance) (rate(redis_keyspace_hits_total[10m])) + sum by (job, instance) (rate(redis_keyspace_misses_total[10m])))\n"
        "> 0.3\n"
        "and (sum by (job, instance) (rate(redis_keyspace_hits_total[10m])) + sum by (job, instance) (rate(redis_keyspace_misses_total[10m]))) > 1"
    ),
    for_="15m",
    summary="Redis misses more than 30% of key look-ups.",
    description="{{ $value | humanizePercentage }} of the key look-ups on {{ $labels.instance }} missed over the last 10 minutes (target: under 30%).",
    runbook_url=f"{RUNBOOKS}/SCALING.md#caching",
    dashboard=OVERVIEW,
    test=AlertTest(
        firing=AlertScenario(
            series={
                _series("redis_keyspace_hits_total", REDIS): "0+3000x30",
                _series("redis_keyspace_misses_total", REDIS): "0+3000x30",
            },
            labels=REDIS,
            value=0.5,
        ),
        quiet=AlertScenario(
            series={
                # Every look-up misses, but there are only 30 a minute.
                _series("redis_keyspace_hits_total", REDIS): "0x30",
                _series("redis_keyspace_misses_total", REDIS): "0+30x30",
            },
        ),
    ),
)

ALERTS = (
    database_down,
    application_down,
    high_error_rate,
    disk_space_low,
    high_connection_utilization,
    slow_queries,
    high_approval_timeout_rate,
    sse_disconnect_rate_high,
    approaching_max_capacity,
    high_deadlock_rate,
    cache_miss_rate_high,
    long_running_transaction,
    redis_down,
    redis_miss_rate_high,
)

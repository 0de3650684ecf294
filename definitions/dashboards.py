"""The five Grafana dashboards of seed section 4.2: its panels, then the exporters'.

Every query reads metrics declared in metrics.py or exporters.py (the Stack
rejects anything else). Rates use `$__rate_interval` so they stay correct at
any zoom and scrape interval. Thresholds repeat the alert thresholds of seed
section 4.3 where a panel shows the alerted quantity (error rate 5 %,
connection utilisation 80 %, slow queries 5 s, approval timeouts 5 %, disk
space 10 %, memory 80 %, cache misses 30 %, SSE drops 10 %, open transactions
5 min).

Every alert's dashboard has a panel reading the alert's metrics (lint rule
`dashboard/alert-metric-missing`): after the seed's panels come rows of
exporter data (PostgreSQL, node, cAdvisor, Redis) and of the batch jobs' runs
(definitions/batch.py), so the on-call who follows
DatabaseDown or DiskSpaceLow sees the series that fired. Legends use only
labels every exporter version we run puts on the series (exporters.py).
"""

from sergas_observability.model import Dashboard, Panel, Query, Row

RATE = "[$__rate_interval]"
OK_ABOVE_5_PERCENT = ((None, "green"), (0.05, "red"))
UP_DOWN = {"0": "DOWN", "1": "UP"}
# Real filesystems only: tmpfs and overlay come and go with containers (as in DiskSpaceLow).
DISKS = '{fstype!~"tmpfs|overlay"}'
TAGS = ("sergas", "generated")


def quantile(q: float, bucket: str, by: str = "", where: str = "") -> str:
    """histogram_quantile over a histogram's buckets, optionally split by labels."""
    group = ", ".join(filter(None, (by, "le")))
    return f"histogram_quantile({q}, sum by ({group}) (rate({bucket}{where}{RATE})))"


def ratio(part: str, whole: str, by: str = "") -> str:
    """Share of `whole`'s rate that `part` makes up, optionally per label."""
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({part}{RATE})) / sum{grouping} (rate({whole}{RATE}))"


def miss_ratio(misses: str, hits: str, by: str) -> str:
    """Share of look-ups that missed, per label: misses / (hits + misses)."""
    return (
        f"sum by ({by}) (rate({misses}{RATE}))\n"
        f"/ (sum by ({by}) (rate({hits}{RATE})) + sum by ({by}) (rate({misses}{RATE})))"
    )


system_overview = Dashboard(
    title="System Overview",
    uid="sergas-system-overview",
    file="system_overview.json",
    description="Is the Sergas API up, failing, slow or busy?",
    tags=TAGS,
    rows=(
        Row(
            title="Health and errors",
            panels=(
                Panel(
                    title="Service health",
                    kind="stat",
                    description="1 when the app's /metrics scrape and the blackbox health probes succeed.",
                    queries=(
                        Query(expr='up{job="sergas-app"}', legend="scrape {{instance}}"),
                        Query(expr='probe_success{job="sergas-health"}', legend="probe {{instance}}"),
                    ),
                    unit="none",
                    thresholds=((None, "red"), (1, "green")),
                    value_text=UP_DOWN,
                    width=8,
                ),
                Panel(
                    title="Error rate trends",
                    description="Share of requests answered with a 5xx status. The P0 alert fires above 5 %.",
                    queries=(
                        Query(expr=ratio('http_requests_total{status=~"5.."}', "http_requests_total"), legend="all routes"),
                        Query(
                            expr=ratio('http_requests_total{status=~"5.."}', "http_requests_total", by="route"),
                            legend="{{route}}",
                        ),
                    ),
                    unit="percentunit",
                    min=0,
                    thresholds=OK_ABOVE_5_PERCENT,
                    width=16,
                ),
            ),
        ),
        Row(
            title="Traffic",
            panels=(
                Panel(
                    title="Request latency (p50, p95, p99)",
                    queries=tuple(
                        Query(expr=quantile(q, "http_request_duration_seconds_bucket"), legend=f"p{round(q * 100)}")
                        for q in (0.5, 0.95, 0.99)
                    ),
                    unit="s",
                    min=0,
                    width=8,
                ),
                Panel(
                    title="Throughput (requests/sec)",
                    queries=(
                        Query(expr=f"sum(rate(http_requests_total{RATE}))", legend="all routes"),
                        Query(expr=f"sum by (route) (rate(http_requests_total{RATE}))", legend="{{route}}"),
                    ),
                    unit="reqps",
                    min=0,
                    width=8,
                ),
                Panel(
                    title="SSE streams dropped",
                    description=(
                        "Streams ending abnormally (not closed by the client) per minute, per open stream. "
                        "The P1 alert fires above 10 %."
                    ),
                    queries=(
                        Query(
                            expr=(
                                f'sum by (stream) (rate(sergas_sse_disconnects_total{{reason!="client_closed"}}{RATE})) * 60\n'
                                "/ clamp_min(sum by (stream) (sergas_sse_connections_active), 1)"
                            ),
                            legend="{{stream}}",
                        ),
                    ),
                    unit="percentunit",
                    min=0,
                    thresholds=((None, "green"), (0.1, "red")),
                    width=8,
                ),
            ),
        ),
        Row(
            title="Capacity (node-exporter, cAdvisor)",
            panels=(
                Panel(
                    title="Disk space available",
                    description="Share of each filesystem still free (tmpfs and overlay left out). The P0 alert fires below 10 %.",
                    queries=(
                        Query(
                            expr=(
                                f"min by (instance, mountpoint) (node_filesystem_avail_bytes{DISKS}\n"
                                f"/ node_filesystem_size_bytes{DISKS})"
                            ),
                            legend="{{instance}} {{mountpoint}}",
                        ),
                    ),
                    unit="percentunit",
                    min=0,
                    max=1,
                    thresholds=((None, "red"), (0.1, "green")),
                ),
                Panel(
                    title="Container memory vs limit",
                    description=(
                        "Working set over the memory limit, per container with a limit. "
                        "The P2 alert fires above 80 % for the application's containers."
                    ),
                    queries=(
                        Query(
                            expr=(
                                'max by (instance, name) (container_memory_working_set_bytes{name!=""}\n'
                                '/ (container_spec_memory_limit_bytes{name!=""} > 0))'
                            ),
                            legend="{{name}} ({{instance}})",
                        ),
                    ),
                    unit="percentunit",
                    min=0,
                    thresholds=((None, "green"), (0.8, "red")),
                ),
            ),
        ),
        Row(
            title="Redis (redis-exporter)",
            panels=(
                Panel(
                    title="Redis up",
                    kind="stat",
                    description="1 when redis-exporter reaches Redis, and when Prometheus reaches redis-exporter.",
                    queries=(
                        Query(expr="max by (instance) (redis_up)", legend="Redis {{instance}}"),
                        Query(expr='up{job="redis-exporter"}', legend="exporter {{instance}}"),
                    ),
                    unit="none",
                    thresholds=((None, "red"), (1, "green")),
                    value_text=UP_DOWN,
                    width=4,
                ),
                Panel(
                    title="Cache miss ratio",
                    description=(
                        "Share of look-ups that missed: Redis keyspace look-ups, and the application's cache look-ups "
                        "per cache. The P2 alerts fire above 30 % (seed: hit ratio above 70 %)."
                    ),
                    queries=(
                        Query(
                            expr=miss_ratio("redis_keyspace_misses_total", "redis_keyspace_hits_total", by="instance"),
                            legend="Redis {{instance}}",
                        ),
                        Query(
                            expr=miss_ratio("sergas_cache_misses_total", "sergas_cache_hits_total", by="cache"),
                            legend="app {{cache}}",
                        ),
                    ),
                    unit="percentunit",
                    min=0,
                    max=1,
                    thresholds=((None, "green"), (0.3, "red")),
                    width=8,
                ),
                Panel(
                    title="Redis memory vs maxmemory",
                    description="Memory used over the maxmemory setting (no line when maxmemory is 0, no limit).",
                    queries=(
                        Query(
                            expr="max by (instance) (redis_memory_used_bytes) / max by (instance) (redis_memory_max_bytes > 0)",
                            legend="{{instance}}",
                        ),
                    ),
                    unit="percentunit",
                    min=0,
                    thresholds=((None, "green"), (0.8, "red")),
                    width=6,
                ),
                Panel(
                    title="Redis clients",
                    queries=(Query(expr="max by (instance) (redis_connected_clients)", legend="{{instance}}"),),
                    unit="short",
                    min=0,
                    width=6,
                ),
            ),
        ),
    ),
)

agent_execution = Dashboard(
    title="Agent Execution",
    uid="sergas-agent-execution",
    file="agent_execution.json",
    description="How often the orchestrator and its subagents run, how long they take and how often they fail.",
    tags=TAGS,
    rows=(
        Row(
            title="Invocations",
            panels=(
                Panel(
                    title="Agent invocation count",
                    kind="stat",
                    description="Executions per agent over the selected time range.",
                    queries=(
                        Query(expr="sum by (agent) (increase(sergas_agent_executions_total[$__range]))", legend="{{agent}}"),
                    ),
                    unit="short",
                ),
                Panel(
                    title="Agent execution duration",
                    queries=(
                        Query(
                            expr=quantile(0.5, "sergas_agent_execution_duration_seconds_bucket", by="agent"),
                            legend="{{agent}} p50",
                        ),
                        Query(
                            expr=quantile(0.95, "sergas_agent_execution_duration_seconds_bucket", by="agent"),
                            legend="{{agent}} p95",
                        ),
                    ),
                    unit="s",
                    min=0,
                ),
            ),
        ),
        Row(
            title="Errors and coordination",
            panels=(
                Panel(
                    title="Agent error rate",
                    description="Share of executions per agent that ended in an error.",
                    queries=(
                        Query(
                            expr=ratio(
                                'sergas_agent_executions_total{outcome="error"}', "sergas_agent_executions_total", by="agent"
                            ),
                            legend="{{agent}}",
                        ),
                    ),
                    unit="percentunit",
                    min=0,
                    thresholds=OK_ABOVE_5_PERCENT,
                ),
                Panel(
                    title="Subagent coordination metrics",
                    description="Subagent tasks running now, and tasks the orchestrator delegates per second by outcome.",
                    queries=(
                        Query(expr="sum by (subagent) (sergas_subagents_active)", legend="{{subagent}} running"),
                        Query(
                            expr=f"sum by (subagent, outcome) (rate(sergas_subagent_tasks_total{RATE}))",
                            legend="{{subagent}} {{outcome}}/s",
                        ),
                    ),
                    unit="short",
                    min=0,
                ),
            ),
        ),
    ),
)

database_performance = Dashboard(
    title="Database Performance",
    uid="sergas-database-performance",
    file="database_performance.json",
    description="PostgreSQL as the application sees it (pool, queries, locks) and as postgres-exporter reports it.",
    tags=TAGS,
    rows=(
        Row(
            title="Connections and queries",
            panels=(
                Panel(
                    title="Connection pool utilization",
                    kind="gauge",
                    description="Connections in use over the most allowed. The P1 alert fires above 80 %.",
                    queries=(
                        Query(
                            expr='sum(sergas_db_pool_connections{state="in_use"}) / sum(sergas_db_pool_max_connections)',
                            legend="app pool",
                        ),
                        Query(
                            expr="sum(pg_stat_activity_count) / max(pg_settings_max_connections)",
                            legend="PostgreSQL server",
                        ),
                    ),
                    unit="percentunit",
                    min=0,
                    max=1,
                    thresholds=((None, "green"), (0.6, "yellow"), (0.8, "red")),
                    width=8,
                ),
                Panel(
                    title="Query duration",
                    description=(
                        "The application's queries per operation (its histogram), and the longest query running now "
                        "per database (postgres_exporter, every client). The P1 SlowQueries alert fires above 5 s."
                    ),
                    queries=(
                        Query(
                            expr=quantile(0.95, "sergas_db_query_duration_seconds_bucket", by="operation"),
                            legend="{{operation}} p95",
                        ),
                        Query(expr=quantile(0.99, "sergas_db_query_duration_seconds_bucket"), legend="all p99"),
                        Query(expr="max by (datname) (pg_active_queries_max_duration_seconds)", legend="running now: {{datname}}"),
                    ),
                    unit="s",
                    min=0,
                    thresholds=((None, "green"), (5, "red")),
                    width=16,
                ),
            ),
        ),
        Row(
            title="Locks and transactions",
            panels=(
                Panel(
                    title="Lock wait time",
                    description="Time the application waited for row locks.",
                    queries=tuple(
                        Query(expr=quantile(q, "sergas_db_lock_wait_seconds_bucket"), legend=f"p{round(q * 100)}")
                        for q in (0.5, 0.95, 0.99)
                    ),
                    unit="s",
                    min=0,
                ),
                Panel(
                    title="Transaction rate",
                    queries=(
                        Query(
                            expr=f"sum by (datname) (rate(pg_stat_database_xact_commit{RATE}))",
                            legend="{{datname}} commits",
                        ),
                        Query(
                            expr=f"sum by (datname) (rate(pg_stat_database_xact_rollback{RATE}))",
                            legend="{{datname}} rollbacks",
                        ),
                    ),
                    unit="ops",
                    min=0,
                ),
            ),
        ),
        Row(
            title="PostgreSQL server (postgres-exporter)",
            panels=(
                Panel(
                    title="PostgreSQL up",
                    kind="stat",
                    description="1 when postgres-exporter connects to PostgreSQL, and when Prometheus reaches postgres-exporter.",
                    queries=(
                        Query(expr="max by (instance) (pg_up)", legend="PostgreSQL {{instance}}"),
                        Query(expr='up{job="postgres-exporter"}', legend="exporter {{instance}}"),
                    ),
                    unit="none",
                    thresholds=((None, "red"), (1, "green")),
                    value_text=UP_DOWN,
                    width=4,
                ),
                Panel(
                    title="Server connections vs max_connections",
                    description="Connections of every state over max_connections, per server. The P1 alert fires above 80 %.",
                    queries=(
                        Query(
                            expr=(
                                "sum by (instance, server) (pg_stat_activity_count)\n"
                                "/ sum by (instance, server) (pg_settings_max_connections)"
                            ),
                            legend="{{server}}",
                        ),
                    ),
                    unit="percentunit",
                    min=0,
                    max=1,
                    thresholds=((None, "green"), (0.6, "yellow"), (0.8, "red")),
                    width=10,
                ),
                Panel(
                    title="Connections by state",
                    description="Server connections per state, against max_connections.",
                    queries=(
                        Query(expr="sum by (server, state) (pg_stat_activity_count)", legend="{{server}} {{state}}"),
                        Query(expr="max by (server) (pg_settings_max_connections)", legend="{{server}} max_connections"),
                    ),
                    unit="short",
                    min=0,
                    width=10,
                ),
            ),
        ),
        Row(
            title="Contention (postgres-exporter)",
            panels=(
                Panel(
                    title="Longest open transaction",
                    description=(
                        "Age of the oldest transaction per database, active or idle in transaction. "
                        "The P2 alert fires above 5 minutes."
                    ),
                    queries=(
                        Query(
                            expr=(
                                "max by (datname, state) "
                                '(pg_stat_activity_max_tx_duration{state=~"active|idle in transaction"})'
                            ),
                            legend="{{datname}} {{state}}",
                        ),
                    ),
                    unit="s",
                    min=0,
                    thresholds=((None, "green"), (300, "red")),
                    width=8,
                ),
                Panel(
                    title="Deadlocks",
                    description="Deadlocks PostgreSQL detected per query interval. The P2 alert fires above 5 in 10 minutes.",
                    queries=(
                        Query(
                            # datname "" is PostgreSQL's row for shared objects (datid 0): no database.
                            expr=f'sum by (datname) (increase(pg_stat_database_deadlocks{{datname!=""}}{RATE}))',
                            legend="{{datname}}",
                        ),
                    ),
                    unit="short",
                    min=0,
                    width=8,
                ),
                Panel(
                    title="Locks held",
                    description="Locks held per database and mode, from pg_locks (the lock wait panel shows the application's side).",
                    queries=(
                        Query(
                            expr='sum by (datname, mode) (pg_locks_count{datname!~"template0|template1"})',
                            legend="{{datname}} {{mode}}",
                        ),
                    ),
                    unit="short",
                    min=0,
                    width=8,
                ),
            ),
        ),
        Row(
            title="Backups and migrations (batch jobs)",
            panels=(
                Panel(
                    title="Batch jobs: last run",
                    kind="stat",
                    description="Whether each batch job's last run succeeded (definitions/batch.py; the P1 alerts fire on a failed run).",
                    queries=(Query(expr="max by (job) (batch_job_last_run_success)", legend="{{job}}", instant=True),),
                    unit="none",
                    thresholds=((None, "red"), (1, "green")),
                    value_text={"0": "FAILED", "1": "OK"},
                    width=8,
                ),
                Panel(
                    title="Batch jobs: time since last success",
                    description="Age of each batch job's last successful run; the backups alert past their max_age (WAL 1 h, snapshot 26 h).",
                    queries=(
                        Query(expr="time() - max by (job) (batch_job_last_success_timestamp_seconds)", legend="{{job}}"),
                    ),
                    unit="s",
                    min=0,
                    width=16,
                ),
            ),
        ),
    ),
)

zoho_integration = Dashboard(
    title="Zoho Integration",
    uid="sergas-zoho-integration",
    file="zoho_integration.json",
    description="Calls to Zoho CRM through the three tiers (MCP, SDK, REST), their circuit breakers and fail-overs.",
    tags=TAGS,
    rows=(
        Row(
            title="Traffic and breakers",
            panels=(
                Panel(
                    title="API request count by tier (MCP, SDK, REST)",
                    queries=(
                        Query(expr=f"sum by (tier) (rate(sergas_zoho_api_calls_total{RATE}))", legend="{{tier}}"),
                        Query(
                            expr=f'sum by (tier) (rate(sergas_zoho_api_calls_total{{outcome="error"}}{RATE}))',
                            legend="{{tier}} errors",
                        ),
                    ),
                    unit="reqps",
                    min=0,
                    width=16,
                ),
                Panel(
                    title="Circuit breaker states",
                    kind="stat",
                    queries=(Query(expr="max by (tier) (sergas_zoho_circuit_breaker_state)", legend="{{tier}}"),),
                    unit="none",
                    thresholds=((None, "green"), (1, "yellow"), (2, "red")),
                    value_text={"0": "closed", "1": "half-open", "2": "open"},
                    width=8,
                ),
            ),
        ),
        Row(
            title="Fail-overs and limits",
            panels=(
                Panel(
                    title="Failover events",
                    description="Fail-overs from one tier to the next, per query interval.",
                    queries=(
                        Query(
                            expr=f"sum by (from_tier, to_tier) (increase(sergas_zoho_failover_events_total{RATE}))",
                            legend="{{from_tier}} to {{to_tier}}",
                        ),
                    ),
                    unit="short",
                    min=0,
                ),
                Panel(
                    title="Rate limit hits",
                    queries=(
                        Query(expr=f"sum by (tier) (rate(sergas_zoho_rate_limit_hits_total{RATE}))", legend="{{tier}}"),
                    ),
                    unit="reqps",
                    min=0,
                ),
            ),
        ),
    ),
)

approval_workflow = Dashboard(
    title="Approval Workflow",
    uid="sergas-approval-workflow",
    file="approval_workflow.json",
    description="Recommendations waiting for an account owner's decision, and how long decisions take.",
    tags=TAGS,
    rows=(
        Row(
            title="Queue",
            panels=(
                Panel(
                    title="Approval queue depth",
                    queries=(Query(expr="max(sergas_approval_queue_depth)", legend="waiting"),),
                    unit="short",
                    min=0,
                ),
                Panel(
                    title="Approval timeout rate",
                    description="Share of approval requests that expired undecided. The P1 alert fires above 5 %.",
                    queries=(
                        Query(
                            expr=(
                                f"sum(rate(sergas_approval_timeouts_total{RATE})) / "
                                f"(sum(rate(sergas_approval_timeouts_total{RATE})) "
                                f"+ sum(rate(sergas_approvals_completed_total{RATE})))"
                            ),
                            legend="timed out",
                        ),
                    ),
                    unit="percentunit",
                    min=0,
                    thresholds=OK_ABOVE_5_PERCENT,
                ),
            ),
        ),
        Row(
            title="Decisions",
            panels=(
                Panel(
                    title="Approval duration (p95)",
                    queries=(
                        Query(
                            expr=quantile(0.95, "sergas_approval_duration_seconds_bucket", by="decision"),
                            legend="{{decision}}",
                        ),
                    ),
                    unit="s",
                    min=0,
                ),
                Panel(
                    title="Pending approvals by owner",
                    kind="table",
                    queries=(Query(expr="sort_desc(sum by (owner) (sergas_approvals_pending))", legend="{{owner}}", instant=True),),
                    unit="short",
                ),
            ),
        ),
    ),
)

DASHBOARDS = (system_overview, agent_execution, database_performance, zoho_integration, approval_workflow)

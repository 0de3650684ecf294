"""The Sergas application's own metrics.

Each metric is written once here; the instrumentation module the app imports,
the alert and recording rules and the dashboards are all derived from it.
Labels are bounded: either the allowed values are listed (anything else is
recorded under the overflow value by the runtime label guard) or the
description says what bounds them.
"""

from sergas_observability.model import Label, Metric

# Request latencies of an API that calls LLM agents: sub-second reads up to
# minute-long agent runs.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
AGENT_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
QUERY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
APPROVAL_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0)

METHOD = Label(name="method", values=("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"))
ROUTE = Label(name="route", description="route template (e.g. /api/approvals/{id}), never the raw path")
STATUS = Label(name="status", description="HTTP status code, e.g. 200 or 503")
OUTCOME = Label(name="outcome", values=("success", "error"))
AGENT = Label(
    name="agent",
    values=("orchestrator", "zoho_data_scout", "memory_analyst", "recommendation_author"),
    description="the agent that ran",
)
TIER = Label(name="tier", values=("mcp", "sdk", "rest"), description="Zoho integration tier")
CACHE = Label(
    name="cache",
    values=("session", "approval_state", "zoho_response", "rate_limit"),
    description="Redis cache namespace (seed section 9.1)",
)

http_requests_total = Metric(
    name="http_requests_total",
    kind="counter",
    help="HTTP requests served, by method, route template and status code.",
    labels=(METHOD, ROUTE, STATUS),
)
http_request_duration_seconds = Metric(
    name="http_request_duration_seconds",
    kind="histogram",
    unit="seconds",
    help="Time to serve an HTTP request, by method, route template and status code.",
    labels=(METHOD, ROUTE, STATUS),
    buckets=HTTP_BUCKETS,
)
briefs_generated = Metric(
    name="sergas_briefs_generated_total",
    kind="counter",
    help="Account briefs generated for account owners.",
    labels=(OUTCOME,),
)
approvals_completed = Metric(
    name="sergas_approvals_completed_total",
    kind="counter",
    help="Approval requests decided by a person before their timeout.",
    labels=(Label(name="decision", values=("approved", "rejected", "modified")),),
)
approval_timeouts = Metric(
    name="sergas_approval_timeouts_total",
    kind="counter",
    help="Approval requests that expired without a decision.",
)
approval_duration_seconds = Metric(
    name="sergas_approval_duration_seconds",
    kind="histogram",
    unit="seconds",
    help="Time from an approval request to its decision.",
    labels=(Label(name="decision", values=("approved", "rejected", "modified")),),
    buckets=APPROVAL_BUCKETS,
)
approval_queue_depth = Metric(
    name="sergas_approval_queue_depth",
    kind="gauge",
    help="Approval requests waiting for a decision (read from the shared queue, so every worker sees the same value).",
    multiprocess_mode="max",
)
approvals_pending = Metric(
    name="sergas_approvals_pending",
    kind="gauge",
    help="Approval requests waiting for a decision, by account owner.",
    labels=(Label(name="owner", description="account owner; bounded by the size of the sales team"),),
    multiprocess_mode="max",
)
agent_executions = Metric(
    name="sergas_agent_executions_total",
    kind="counter",
    help="Agent executions, by agent and outcome.",
    labels=(AGENT, OUTCOME),
)
agent_execution_duration_seconds = Metric(
    name="sergas_agent_execution_duration_seconds",
    kind="histogram",
    unit="seconds",
    help="Wall time of one agent execution.",
    labels=(AGENT,),
    buckets=AGENT_BUCKETS,
)
agent_errors = Metric(
    name="sergas_agent_errors_total",
    kind="counter",
    help="Agent execution errors, by agent and error type.",
    labels=(AGENT, Label(name="error_type", values=("timeout", "api_error", "validation", "internal"))),
)
subagent_tasks = Metric(
    name="sergas_subagent_tasks_total",
    kind="counter",
    help="Tasks the orchestrator delegated to subagents, by subagent and outcome.",
    labels=(Label(name="subagent", values=("zoho_data_scout", "memory_analyst", "recommendation_author")), OUTCOME),
)
subagents_active = Metric(
    name="sergas_subagents_active",
    kind="gauge",
    help="Subagent tasks currently running.",
    labels=(Label(name="subagent", values=("zoho_data_scout", "memory_analyst", "recommendation_author")),),
    multiprocess_mode="livesum",
)
db_pool_connections = Metric(
    name="sergas_db_pool_connections",
    kind="gauge",
    help="Connections of the application's database pool, by state.",
    labels=(Label(name="state", values=("in_use", "idle", "overflow")),),
    multiprocess_mode="livesum",
)
db_pool_max_connections = Metric(
    name="sergas_db_pool_max_connections",
    kind="gauge",
    help="Most connections the application's database pool may open (pool size plus overflow).",
    multiprocess_mode="livesum",
)
db_query_duration_seconds = Metric(
    name="sergas_db_query_duration_seconds",
    kind="histogram",
    unit="seconds",
    help="Database query duration, by operation.",
    labels=(Label(name="operation", values=("select", "insert", "update", "delete")),),
    buckets=QUERY_BUCKETS,
)
db_lock_wait_seconds = Metric(
    name="sergas_db_lock_wait_seconds",
    kind="histogram",
    unit="seconds",
    help="Time the application waited for database row locks.",
    buckets=QUERY_BUCKETS,
)
zoho_api_calls = Metric(
    name="sergas_zoho_api_calls_total",
    kind="counter",
    help="Calls to the Zoho CRM API, by integration tier and outcome.",
    labels=(TIER, OUTCOME),
)
zoho_api_call_duration_seconds = Metric(
    name="sergas_zoho_api_call_duration_seconds",
    kind="histogram",
    unit="seconds",
    help="Duration of a Zoho CRM API call, by integration tier.",
    labels=(TIER,),
    buckets=HTTP_BUCKETS,
)
zoho_circuit_breaker_state = Metric(
    name="sergas_zoho_circuit_breaker_state",
    kind="gauge",
    help="Zoho circuit breaker state per tier: 0 closed, 1 half-open, 2 open.",
    labels=(TIER,),
    multiprocess_mode="max",
)
zoho_failover_events = Metric(
    name="sergas_zoho_failover_events_total",
    kind="counter",
    help="Fail-overs from one Zoho integration tier to the next.",
    labels=(Label(name="from_tier", values=("mcp", "sdk", "rest")), Label(name="to_tier", values=("mcp", "sdk", "rest"))),
)
zoho_rate_limit_hits = Metric(
    name="sergas_zoho_rate_limit_hits_total",
    kind="counter",
    help="Zoho API calls rejected or delayed by a rate limit.",
    labels=(TIER,),
)
sse_connections_active = Metric(
    name="sergas_sse_connections_active",
    kind="gauge",
    help="Server-sent-event streams currently open.",
    labels=(Label(name="stream", values=("approvals", "agent_events")),),
    multiprocess_mode="livesum",
)
sse_disconnects = Metric(
    name="sergas_sse_disconnects_total",
    kind="counter",
    help="Server-sent-event streams that ended, by stream and reason.",
    labels=(
        Label(name="stream", values=("approvals", "agent_events")),
        Label(name="reason", values=("client_closed", "timeout", "error", "server_shutdown")),
    ),
)
cache_hits = Metric(
    name="sergas_cache_hits_total",
    kind="counter",
    help="Redis cache look-ups that found a value.",
    labels=(CACHE,),
)
cache_misses = Metric(
    name="sergas_cache_misses_total",
    kind="counter",
    help="Redis cache look-ups that found nothing.",
    labels=(CACHE,),
)

APP_METRICS = (
    http_requests_total,
    http_request_duration_seconds,
    briefs_generated,
    approvals_completed,
    approval_timeouts,
    approval_duration_seconds,
    approval_queue_depth,
    approvals_pending,
    agent_executions,
    agent_execution_duration_seconds,
    agent_errors,
    subagent_tasks,
    subagents_active,
    db_pool_connections,
    db_pool_max_connections,
    db_query_duration_seconds,
    db_lock_wait_seconds,
    zoho_api_calls,
    zoho_api_call_duration_seconds,
    zoho_circuit_breaker_state,
    zoho_failover_events,
    zoho_rate_limit_hits,
    sse_connections_active,
    sse_disconnects,
    cache_hits,
    cache_misses,
)

"""A small, clean monitoring stack for the lint tests, and helpers to break it one way at a time."""

from __future__ import annotations

from typing import Any

from sergas_observability.model import (
    Alert,
    Dashboard,
    Environment,
    Label,
    Metric,
    Panel,
    RecordingRule,
    Row,
    ScrapeJob,
    Severity,
    SlackReceiver,
    Stack,
)

RUNBOOK = "https://runbooks.example.com/app.md"

METRICS = (
    Metric(
        name="http_requests_total", kind="counter", help="Requests.",
        labels=(Label(name="method", values=("GET", "POST")), "route", "status"),
    ),
    Metric(
        name="http_request_duration_seconds", kind="histogram", unit="seconds", help="Latency.",
        labels=("route",), buckets=(0.1, 0.5, 1.0),
    ),
    Metric(name="app_queue_depth", kind="gauge", help="Queue depth."),
    Metric(name="pg_up", kind="gauge", help="PostgreSQL reachable.", exporter="postgres_exporter"),
    Metric(name="pg_stat_database_deadlocks", kind="counter", help="Deadlocks.", labels=("datname",), exporter="postgres_exporter"),
    Metric(name="redis_up", kind="gauge", help="Redis reachable.", exporter="redis_exporter"),
)

JOBS = (
    ScrapeJob(name="app", exporter="app", targets={"development": ("app:9090",)}),
    ScrapeJob(name="postgres", exporter="postgres_exporter", targets={"development": ("pg:9187",)}),
    ScrapeJob(name="redis", exporter="redis_exporter", targets={"development": ("redis:9121",)}),
)

SEVERITIES = (
    Severity(name="P0", description="page", receivers=("slack",), group_wait="10s", group_interval="1m",
             repeat_interval="1h", latency_budget="5m"),
    Severity(name="P1", description="ticket", receivers=("slack",), group_wait="30s", latency_budget="15m"),
)

RULES = (
    RecordingRule(record="job:http_requests:rate5m", expr="sum by (job) (rate(http_requests_total[5m]))"),
)


def alert(**fields: Any) -> Alert:
    """A clean alert; override any field."""
    values: dict[str, Any] = dict(
        name="HighErrorRate",
        expr='sum by (job) (rate(http_requests_total{status=~"5.."}[2m])) / sum by (job) (rate(http_requests_total[2m])) > 0.05',
        for_="1m",
        severity="P0",
        service="app",
        summary="Too many requests fail.",
        description="{{ $value | humanizePercentage }} of the requests to {{ $labels.job }} fail.",
        runbook_url=RUNBOOK,
        dashboard="app-overview",
    )
    values.update(fields)
    return Alert(**values)


def panel(**fields: Any) -> Panel:
    values: dict[str, Any] = dict(
        title="Requests",
        queries=("sum by (route) (rate(http_requests_total[$__rate_interval]))",),
        unit="reqps",
    )
    values.update(fields)
    return Panel(**values)


def dashboard(*panels: Panel, **fields: Any) -> Dashboard:
    values: dict[str, Any] = dict(title="App overview", uid="app-overview", rows=(Row(title="Traffic", panels=panels or (panel(),)),))
    values.update(fields)
    if values["uid"] is None:  # let the model derive it from the title
        del values["uid"]
    return Dashboard(**values)


def stack(**fields: Any) -> Stack:
    """The clean stack, with any field replaced (e.g. alerts=(alert(expr=...),))."""
    values: dict[str, Any] = dict(
        name="lint-test",
        environments=(Environment(name="development", external_labels={"env": "development", "cluster": "c1"}),),
        metrics=METRICS,
        scrape_jobs=JOBS,
        receivers=(SlackReceiver(name="slack", api_url_file="/secrets/slack", channel="#alerts"),),
        severities=SEVERITIES,
        default_receiver="slack",
        slo_page_severity="P0",
        slo_ticket_severity="P1",
        alerts=(alert(),),
        recording_rules=RULES,
        dashboards=(dashboard(),),
    )
    values.update(fields)
    return Stack(**values)


def with_alert(**fields: Any) -> Stack:
    return stack(alerts=(alert(**fields),))


def with_query(query: str, legend: str = "", **panel_fields: Any) -> Stack:
    from sergas_observability.model import Query

    return stack(dashboards=(dashboard(panel(queries=(Query(expr=query, legend=legend),), **panel_fields)),))

"""Service level objectives (seed: 99.5 % uptime, alert latency under 5 minutes).

Each SLO compiles to 8 rules (recording rules + one alert per burn-rate
tier), a promtool unit test proving when its alerts fire and clear, and a row
of its service's SLO dashboard. Pages go to P0, tickets to P1 (the Stack's
slo_page_severity and slo_ticket_severity, definitions/__init__.py).
"""

from sergas_observability.model import SLO, LatencySLI, ProbeSLI, RatioSLI

from .runbooks import RUNBOOKS

http_availability = SLO(
    service="sergas-app",
    name="http-availability",
    description="Requests answered without a server error (the seed's 99.5 % uptime SLA).",
    objective=99.5,
    sli=RatioSLI(bad='http_requests_total{status=~"5.."}', total="http_requests_total"),
    # An SLA is counted per calendar month: the month so far, beside the rolling 30 days.
    calendar="month",
    runbook_url=f"{RUNBOOKS}/incident_response.md#high-error-rate",
)

health_probe = SLO(
    service="sergas-app",
    name="health-probe",
    description="Blackbox probes of the public health endpoints that succeed: uptime as users see it from outside.",
    objective=99.5,
    # Probed every 30s (definitions/scraping.py): 10 failed probes are 5 minutes down.
    sli=ProbeSLI(success='probe_success{job="sergas-health"}', interval="30s"),
    runbook_url=f"{RUNBOOKS}/incident_response.md#application-down",
)

http_latency = SLO(
    service="sergas-app",
    name="http-latency",
    description="Requests answered within 2.5 s; server-sent-event streams excluded.",
    objective=95.0,
    # SSE endpoints (…/stream, …/events) stay open for minutes: their duration is not latency.
    sli=LatencySLI(histogram='http_request_duration_seconds{route!~".*/(stream|events)"}', threshold=2.5),
    runbook_url=f"{RUNBOOKS}/incident_response.md#slow-responses",
)

approvals = SLO(
    service="approval-workflow",
    name="approvals-decided-in-time",
    description="Approval requests decided by a person before they time out.",
    objective=95.0,
    sli=RatioSLI(good="sergas_approvals_completed_total", bad="sergas_approval_timeouts_total"),
    # A few approvals an hour: 5 timed-out approvals in a tier's window are already an incident.
    min_bad_events=5,
    runbook_url=f"{RUNBOOKS}/APPROVAL_TIMEOUTS.md",
)

zoho_api = SLO(
    service="zoho-integration",
    name="zoho-api-success",
    description="Calls to the Zoho CRM API that succeed, over every tier (MCP, SDK, REST).",
    objective=99.0,
    sli=RatioSLI(bad='sergas_zoho_api_calls_total{outcome="error"}', total="sergas_zoho_api_calls_total"),
    runbook_url=f"{RUNBOOKS}/incident_response.md#zoho-api-errors",
)

SLOS = (http_availability, health_probe, http_latency, approvals, zoho_api)

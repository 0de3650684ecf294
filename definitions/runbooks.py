"""The runbooks on-call uses (seed section 5), and the sections the alerts link to.

Every alert, SLO, rollout and batch job links one of these (`runbook_url`):
`generate` fails naming the definition whose link is no runbook below or
names a section it does not list, so a renamed section or a typo never
reaches on-call as a dead link. The catalog (generated/catalog/) lists, per
runbook, the alerts that point at it.
"""

from sergas_observability.model import Runbook

RUNBOOKS = "https://runbooks.sergas-agents.com"

incident_response = Runbook(
    name="incident_response",
    title="Incident response",
    url=f"{RUNBOOKS}/incident_response.md",
    sections=("application-down", "high-error-rate", "slow-responses", "zoho-api-errors", "failed-deployment",
              "failed-migration", "monitoring-gaps"),
)
sse_connection_drops = Runbook(name="SSE_CONNECTION_DROPS", title="SSE connection drops", url=f"{RUNBOOKS}/SSE_CONNECTION_DROPS.md")
approval_timeouts = Runbook(
    name="APPROVAL_TIMEOUTS",
    title="Approval timeouts",
    url=f"{RUNBOOKS}/APPROVAL_TIMEOUTS.md",
    sections=("connection-pool-exhaustion",),
)
database_issues = Runbook(
    name="DATABASE_ISSUES",
    title="Database issues",
    url=f"{RUNBOOKS}/DATABASE_ISSUES.md",
    sections=("connection-failures", "performance-degradation", "long-transactions", "transaction-deadlocks",
              "disk-space-management", "backups"),
)
scaling = Runbook(
    name="SCALING",
    title="Scaling",
    url=f"{RUNBOOKS}/SCALING.md",
    sections=("capacity-planning", "caching", "redis-down"),
)

RUNBOOK_DOCUMENTS = (incident_response, sse_connection_drops, approval_timeouts, database_issues, scaling)

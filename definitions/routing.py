"""Severities and receivers of seed section 4.3.

P0 -> PagerDuty + Slack + Email, P1 -> Slack + Email, P2 -> Slack. Secrets
are files mounted into Alertmanager; nothing secret is written here.
Staging and development set `paging=False` (definitions/environments.py), so
their P0 alerts go to Slack and e-mail only.
"""

from sergas_observability.model import EmailReceiver, PagerDutyReceiver, Severity, SlackReceiver

SECRETS = "/etc/alertmanager/secrets"

RECEIVERS = (
    PagerDutyReceiver(name="pagerduty", routing_key_file=f"{SECRETS}/pagerduty-routing-key"),
    SlackReceiver(name="slack", api_url_file=f"{SECRETS}/slack-webhook-url", channel="#sergas-alerts"),
    EmailReceiver(
        name="email",
        to="oncall@sergas-agents.com",
        from_address="alertmanager@sergas-agents.com",
        smarthost="smtp.sergas-agents.com:587",
        auth_username="alertmanager@sergas-agents.com",
        auth_password_file=f"{SECRETS}/smtp-password",
    ),
)

SEVERITIES = (
    Severity(
        name="P0",
        description="Critical: customer-facing outage or data at risk; page the on-call engineer now.",
        receivers=("pagerduty", "slack", "email"),
        group_wait="10s",
        group_interval="1m",
        repeat_interval="1h",
        inhibits=("P1", "P2"),
        latency_budget="5m",  # seed: alert latency < 5 min
    ),
    Severity(
        name="P1",
        description="Warning: degraded service; act within working hours.",
        receivers=("slack", "email"),
        group_wait="30s",
        group_interval="5m",
        repeat_interval="4h",
        inhibits=("P2",),
        latency_budget="15m",
    ),
    Severity(
        name="P2",
        description="Info: capacity or efficiency trend; review in the weekly metrics review.",
        receivers=("slack",),
        group_wait="1m",
        group_interval="10m",
        repeat_interval="12h",
        latency_budget="1h",
    ),
)

"""The three deployment environments of seed section 1.2."""

from sergas_observability.model import CentralMetrics, Environment, SlackReceiver

SECRETS = "/etc/alertmanager/secrets"

development = Environment(
    name="development",
    external_labels={"env": "development", "cluster": "sergas-dev"},
    alertmanagers=("alertmanager:9093",),
    retention="7d",
    paging=False,
    receiver_overrides={
        "slack": SlackReceiver(name="slack", api_url_file=f"{SECRETS}/slack-webhook-url", channel="#sergas-alerts-dev"),
    },
)
staging = Environment(
    name="staging",
    external_labels={"env": "staging", "cluster": "sergas-staging"},
    alertmanagers=("alertmanager.staging.internal:9093",),
    retention="15d",
    paging=False,
    receiver_overrides={
        "slack": SlackReceiver(name="slack", api_url_file=f"{SECRETS}/slack-webhook-url", channel="#sergas-alerts-staging"),
    },
)
production = Environment(
    name="production",
    external_labels={"env": "production", "cluster": "sergas-prod", "region": "us-east-1"},
    alertmanagers=("alertmanager.production.internal:9093",),
    retention="30d",  # seed section 4.1
)

ENVIRONMENTS = (development, staging, production)

# Staging and production also ship everything to the central Mimir: one place
# to compare environments (series there carry `env` and `cluster`), and where
# the Mimir ruler evaluates generated/mimir/rules/. Development stays local.
CENTRAL = CentralMetrics(
    remote_write_url="https://mimir.sergas-agents.com/api/v1/push",
    query_url="https://mimir.sergas-agents.com/prometheus",
    environments=("staging", "production"),
    tenant="sergas",
    username="sergas-prometheus",
    password_file="/etc/prometheus/secrets/mimir-password",
)

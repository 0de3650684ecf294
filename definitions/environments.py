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

# Staging and production also ship everything to the central VictoriaMetrics: one
# place to compare environments (series there carry `env` and `cluster`), where
# vmalert evaluates generated/victoriametrics/rules/ (one vmalert per environment,
# generated/victoriametrics/<env>/vmalert.default). Development stays local. The
# Thanos and Mimir files of the same rules serve those engines instead.
CENTRAL = CentralMetrics(
    remote_write_url="https://metrics.sergas-agents.com/api/v1/write",
    query_url="https://metrics.sergas-agents.com",
    environments=("staging", "production"),
    username="sergas-prometheus",
    password_file="/etc/prometheus/secrets/central-password",
)

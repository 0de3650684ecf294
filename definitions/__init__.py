"""Sergas Super Account Manager: its whole monitoring stack as one Stack.

`sergas-obs generate` imports this package and compiles `stack`. Each module
holds one concern; see the README for a tour.
"""

from sergas_observability.model import ComposeSettings, Stack

from .alerts import ALERTS
from .batch import BATCH_JOBS
from .dashboards import DASHBOARDS
from .environments import CENTRAL, ENVIRONMENTS
from .exporters import EXPORTER_METRICS
from .metrics import APP_METRICS
from .postgres_queries import POSTGRES_QUERIES
from .recording import RECORDING_RULES
from .rollouts import DEPLOYMENTS, ROLLOUTS
from .routing import RECEIVERS, SEVERITIES
from .runbooks import RUNBOOK_DOCUMENTS
from .scraping import META, PROBES, SCRAPE_JOBS
from .slos import SLOS

stack = Stack(
    name="sergas",
    environments=ENVIRONMENTS,
    metrics=APP_METRICS + EXPORTER_METRICS + tuple(m for q in POSTGRES_QUERIES for m in q.metrics()),
    exporter_queries=POSTGRES_QUERIES,
    scrape_jobs=SCRAPE_JOBS,
    probes=PROBES,
    receivers=RECEIVERS,
    severities=SEVERITIES,
    default_receiver="slack",
    alerts=ALERTS,
    recording_rules=RECORDING_RULES,
    dashboards=DASHBOARDS,
    slos=SLOS,
    grafana_url="https://grafana.sergas-agents.com",
    grafana_folder="Sergas",
    # SLO pages go to P0, tickets to P1 (definitions/slos.py names none).
    slo_page_severity="P0",
    slo_ticket_severity="P1",
    # The application's compose stack: its network, database and the exporter's role.
    compose=ComposeSettings(network="sergas", postgres_uri="postgres:5432/sergas?sslmode=disable", postgres_user="sergas_monitor"),
    central=CENTRAL,
    meta=META,
    batch_jobs=BATCH_JOBS,
    # Blue and green side by side in production, and the rollout between them (definitions/rollouts.py).
    deployments=DEPLOYMENTS,
    rollouts=ROLLOUTS,
    # Every runbook link must resolve to one of these (definitions/runbooks.py).
    runbooks=RUNBOOK_DOCUMENTS,
    prometheus_url="https://prometheus.sergas-agents.com",
)

"""Scrape targets of seed section 4.1, per environment.

Development runs the docker-compose stack (service names resolve inside the
compose network); staging and production use their internal DNS names.
Production runs the blue and the green deployment side by side during a
cut-over, so both are scraped.
"""

from sergas_observability.model import BlackboxProbe, MetaMonitoring, ScrapeJob

from .runbooks import RUNBOOKS

app = ScrapeJob(
    name="sergas-app",
    exporter="app",
    interval="15s",
    # Blue-green: one colour down during a cut-over is normal; ApplicationDown
    # fires when no instance is up.
    meta=False,
    targets={
        "development": ("app:9090",),
        "staging": ("sergas-app.staging.internal:9090",),
    },
    # Each colour's series carry deployment="blue" / "green" (definitions/rollouts.py).
    deployments={
        "production": {
            "blue": ("sergas-app-blue.production.internal:9090",),
            "green": ("sergas-app-green.production.internal:9090",),
        },
    },
)


def _exporter(job: str, exporter: str, port: int, hosts: dict[str, tuple[str, ...]], service: str) -> ScrapeJob:
    """An exporter's job; `service` is what its meta-alerts name (so the service's P0 outranks them)."""
    return ScrapeJob(
        name=job,
        exporter=exporter,
        service=service,
        targets={env: tuple(f"{host}:{port}" for host in names) for env, names in hosts.items()},
    )


postgres = _exporter(
    "postgres-exporter", "postgres_exporter", 9187,
    {"development": ("postgres-exporter",), "staging": ("postgres-exporter.staging.internal",),
     "production": ("postgres-exporter.production.internal",)},
    service="postgres",
)
redis = _exporter(
    "redis-exporter", "redis_exporter", 9121,
    {"development": ("redis-exporter",), "staging": ("redis-exporter.staging.internal",),
     "production": ("redis-exporter.production.internal",)},
    service="redis",
)
node = _exporter(
    "node-exporter", "node_exporter", 9100,
    {"development": ("node-exporter",), "staging": ("node-exporter.staging.internal",),
     "production": ("node-1.production.internal", "node-2.production.internal", "node-3.production.internal")},
    service="node",
)
cadvisor = _exporter(
    "cadvisor", "cadvisor", 8080,
    {"development": ("cadvisor",), "staging": ("cadvisor.staging.internal",),
     "production": ("node-1.production.internal", "node-2.production.internal", "node-3.production.internal")},
    service="node",
)
blackbox_self = _exporter(
    "blackbox-exporter", "blackbox_exporter", 9115,
    {"development": ("blackbox-exporter",), "staging": ("blackbox-exporter.staging.internal",),
     "production": ("blackbox-exporter.production.internal",)},
    service="sergas-app",
)

# Batch jobs (definitions/batch.py) push their runs here; honor_labels keeps
# each run's job="<batch job>" instead of the scrape's.
pushgateway = ScrapeJob(
    name="pushgateway",
    exporter="pushgateway",
    honor_labels=True,
    service="postgres",
    targets={
        "development": ("pushgateway:9091",),
        "staging": ("pushgateway.staging.internal:9091",),
        "production": ("pushgateway.production.internal:9091",),
    },
)

health = BlackboxProbe(
    name="sergas-health",
    module="http_2xx",
    interval="30s",
    # The public health endpoint failing is an outage users see.
    service="sergas-app",
    meta_severity="P0",
    targets={
        "development": ("http://app:8000/health", "http://app:8000/health/ready"),
        "staging": ("https://staging.sergas-agents.com/health", "https://staging.sergas-agents.com/health/ready"),
        "production": ("https://sergas-agents.com/health", "https://sergas-agents.com/health/ready"),
    },
    exporter_address={
        "development": "blackbox-exporter:9115",
        "staging": "blackbox-exporter.staging.internal:9115",
        "production": "blackbox-exporter.production.internal:9115",
    },
)

SCRAPE_JOBS = (app, postgres, redis, node, cadvisor, blackbox_self, pushgateway)
PROBES = (health,)

# A dead exporter pages nobody by itself: each job gets a TargetDown alert, and
# one for the metrics our alerts read going missing (sergas_observability/model/meta.py).
META = MetaMonitoring(
    severity="P1",
    runbook_url=f"{RUNBOOKS}/incident_response.md#monitoring-gaps",
    dashboard="sergas-system-overview",
)

"""Scrape targets of seed section 4.1, per environment.

Development runs the docker-compose stack (service names resolve inside the
compose network); staging and production use their internal DNS names.
Production runs the blue and the green deployment side by side during a
cut-over, so both are scraped.
"""

from sergas_observability.model import BlackboxProbe, ScrapeJob

app = ScrapeJob(
    name="sergas-app",
    exporter="app",
    interval="15s",
    targets={
        "development": ("app:9090",),
        "staging": ("sergas-app.staging.internal:9090",),
        "production": ("sergas-app-blue.production.internal:9090", "sergas-app-green.production.internal:9090"),
    },
)


def _exporter(job: str, exporter: str, port: int, hosts: dict[str, tuple[str, ...]]) -> ScrapeJob:
    return ScrapeJob(
        name=job,
        exporter=exporter,
        targets={env: tuple(f"{host}:{port}" for host in names) for env, names in hosts.items()},
    )


postgres = _exporter(
    "postgres-exporter", "postgres_exporter", 9187,
    {"development": ("postgres-exporter",), "staging": ("postgres-exporter.staging.internal",),
     "production": ("postgres-exporter.production.internal",)},
)
redis = _exporter(
    "redis-exporter", "redis_exporter", 9121,
    {"development": ("redis-exporter",), "staging": ("redis-exporter.staging.internal",),
     "production": ("redis-exporter.production.internal",)},
)
node = _exporter(
    "node-exporter", "node_exporter", 9100,
    {"development": ("node-exporter",), "staging": ("node-exporter.staging.internal",),
     "production": ("node-1.production.internal", "node-2.production.internal", "node-3.production.internal")},
)
cadvisor = _exporter(
    "cadvisor", "cadvisor", 8080,
    {"development": ("cadvisor",), "staging": ("cadvisor.staging.internal",),
     "production": ("node-1.production.internal", "node-2.production.internal", "node-3.production.internal")},
)
blackbox_self = _exporter(
    "blackbox-exporter", "blackbox_exporter", 9115,
    {"development": ("blackbox-exporter",), "staging": ("blackbox-exporter.staging.internal",),
     "production": ("blackbox-exporter.production.internal",)},
)

health = BlackboxProbe(
    name="sergas-health",
    module="http_2xx",
    interval="30s",
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

SCRAPE_JOBS = (app, postgres, redis, node, cadvisor, blackbox_self)
PROBES = (health,)

"""The docker-compose monitoring stack of seed section 2.2 (compose/).

One environment (Stack.compose.environment) runs it: Prometheus with that
environment's generated config, rules and start flags (its retention),
Alertmanager with its generated config, Grafana with the generated
provisioning and dashboards, and the exporters its scrape jobs name, each
on the port the seed gives it. compose/blackbox.yml defines the blackbox
modules the probes use.

Everything the containers read is mounted from generated/ (relative paths,
read-only); secrets are compose secrets, bind-mounted as files at the very
paths the generated configs name, from compose/secrets/<name> (never
generated, never committed). Images are pinned to a version.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ..model import BlackboxProbe, Environment, Stack
from ..output import HEADER
from . import alertmanager, exporters, prometheus
from .grafana_provisioning import DASHBOARDS_PATH

DIR = "compose"
SECRETS_DIR = "./secrets"
# From compose/ to the other generated trees.
GENERATED = ".."

IMAGES = {
    "prometheus": "prom/prometheus:v2.53.2",
    "alertmanager": "prom/alertmanager:v0.27.0",
    "grafana": "grafana/grafana:11.2.2",
    "node-exporter": "prom/node-exporter:v1.8.2",
    "cadvisor": "gcr.io/cadvisor/cadvisor:v0.49.1",
    "redis-exporter": "oliver006/redis_exporter:v1.62.0-alpine",
    "postgres-exporter": "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
    "blackbox-exporter": "prom/blackbox-exporter:v0.25.0",
    "pushgateway": "prom/pushgateway:v1.9.0",
}
# Seed section 4.1 (exporters) and the servers' standard ports.
PORTS = {
    "prometheus": 9090, "alertmanager": 9093, "grafana": 3000, "node-exporter": 9100, "cadvisor": 8080,
    "redis-exporter": 9121, "postgres-exporter": 9187, "blackbox-exporter": 9115, "pushgateway": 9091,
}
# ScrapeJob.exporter -> the compose service that runs it.
EXPORTER_SERVICES = {
    "node_exporter": "node-exporter", "cadvisor": "cadvisor", "redis_exporter": "redis-exporter",
    "postgres_exporter": "postgres-exporter", "blackbox_exporter": "blackbox-exporter", "pushgateway": "pushgateway",
}
# Every image above is busybox- or alpine-based, so `wget` is there to probe with.
HEALTH_PATHS = {
    "prometheus": "/-/healthy", "alertmanager": "/-/healthy", "grafana": "/api/health", "node-exporter": "/metrics",
    "cadvisor": "/healthz", "redis-exporter": "/health", "postgres-exporter": "/metrics", "blackbox-exporter": "/-/healthy",
    "pushgateway": "/-/healthy",
}
# Blackbox modules by name; a probe may use any of them.
BLACKBOX_MODULES: dict[str, dict[str, Any]] = {
    "http_2xx": {"prober": "http", "timeout": "5s", "http": {"method": "GET", "preferred_ip_protocol": "ip4"}},
    "http_post_2xx": {"prober": "http", "timeout": "5s", "http": {"method": "POST", "preferred_ip_protocol": "ip4"}},
    "tcp_connect": {"prober": "tcp", "timeout": "5s", "tcp": {"preferred_ip_protocol": "ip4"}},
    "icmp": {"prober": "icmp", "timeout": "5s", "icmp": {"preferred_ip_protocol": "ip4"}},
}
BLACKBOX_CONFIG = "/etc/blackbox_exporter/config.yml"
POSTGRES_QUERIES = "/etc/postgres_exporter/queries.yml"
MONITORING_ROLE_SCRIPT = f"{DIR}/postgres-init/10-monitoring-role.sh"
GRAFANA_ADMIN_SECRET = "grafana-admin-password"
POSTGRES_SECRET = "postgres-exporter-password"


def compile(stack: Stack) -> dict[str, Any]:
    env = environment(stack)
    probes = [p for p in stack.probes if env.name in p.targets]
    documents: dict[str, Any] = {
        f"{DIR}/docker-compose.yml": compose_file(stack, env, probes),
        f"{DIR}/blackbox.yml": blackbox_config(probes),
    }
    if any(job.exporter == "postgres_exporter" for job in stack.scrape_jobs):
        documents[MONITORING_ROLE_SCRIPT] = monitoring_role_script(stack)
    return documents


def monitoring_role_script(stack: Stack) -> str:
    """The init script that creates the role postgres_exporter connects as, with pg_monitor.

    Without pg_monitor (pg_read_all_stats, pg_read_all_settings) the exporter
    sees only its own sessions: other sessions' queries, their durations and
    most connections are hidden, and the alerts on them stay blind.
    """
    return f"""#!/bin/sh
# {HEADER}
# Creates the PostgreSQL role postgres_exporter connects as and grants it
# pg_monitor; without it the exporter sees only its own sessions. Mount this
# directory at /docker-entrypoint-initdb.d of the postgres container (it runs
# when the data directory is first created), or run it once against a
# running server as a superuser:
#   POSTGRES_USER=postgres POSTGRES_DB=postgres MONITORING_PASSWORD_FILE=secrets/{POSTGRES_SECRET} sh {posixpath.basename(MONITORING_ROLE_SCRIPT)}
# It is idempotent: an existing role keeps its name and gets the password and the grant.
set -eu
role="${{MONITORING_USER:-{stack.compose.postgres_user}}}"
password="$(cat "${{MONITORING_PASSWORD_FILE:-/run/secrets/{POSTGRES_SECRET}}}")"
psql -v ON_ERROR_STOP=1 --username "${{POSTGRES_USER:-postgres}}" --dbname "${{POSTGRES_DB:-postgres}}" \\
  -v role="$role" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'role', :'password') \\gexec
SELECT format('GRANT pg_monitor TO %I', :'role') \\gexec
SQL
"""


def environment(stack: Stack) -> Environment:
    """The environment the compose stack runs (default: the first one declared)."""
    wanted = stack.compose.environment or stack.environments[0].name
    return next(e for e in stack.environments if e.name == wanted)


def blackbox_config(probes: list[BlackboxProbe]) -> dict[str, Any]:
    modules: dict[str, Any] = {}
    for probe in probes:  # the validation pass refused unknown modules
        modules[probe.module] = BLACKBOX_MODULES[probe.module]
    return {"modules": dict(sorted(modules.items()))}


def _healthcheck(service: str) -> dict[str, Any]:
    url = f"http://localhost:{PORTS[service]}{HEALTH_PATHS[service]}"
    return {
        "test": ["CMD", "wget", "-q", "-O", "/dev/null", url],
        "interval": "30s", "timeout": "5s", "retries": 3, "start_period": "30s",
    }


def _service(name: str, **fields: Any) -> dict[str, Any]:
    port = PORTS[name]
    return {
        "image": IMAGES[name],
        **fields,
        "ports": [f"{port}:{port}"],
        "healthcheck": _healthcheck(name),
        "restart": "unless-stopped",
    }


def secret_files(document: Any) -> list[str]:
    """Every `*_file` path a generated config reads, in order of appearance."""
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key.endswith("_file") and isinstance(value, str):
                found.append(value)
            else:
                found += secret_files(value)
    elif isinstance(document, list):
        for item in document:
            found += secret_files(item)
    return list(dict.fromkeys(found))


def _secret_mounts(paths: list[str]) -> list[dict[str, str]]:
    return [{"source": posixpath.basename(path), "target": path} for path in paths]


def compose_file(stack: Stack, env: Environment, probes: list[BlackboxProbe]) -> dict[str, Any]:
    settings = stack.compose
    # generated/prometheus is mounted at /etc/prometheus: the config's ../rules/*.yml is /etc/prometheus/rules/.
    config_file = prometheus.config_path("/etc/prometheus", env)
    alertmanager_secrets = secret_files(alertmanager.config(stack, env))  # basenames unique: checked by the validation pass
    names = [posixpath.basename(path) for path in alertmanager_secrets]

    services: dict[str, Any] = {
        "prometheus": _service(
            "prometheus",
            command=prometheus.start_flags(env, config_file=config_file, storage_path=prometheus.CONTAINER_STORAGE),
            volumes=[f"{GENERATED}/prometheus:/etc/prometheus:ro", f"prometheus-data:{prometheus.CONTAINER_STORAGE}"],
            depends_on=["alertmanager"],
        ),
        "alertmanager": _service(
            "alertmanager",
            command=["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
            volumes=[
                f"{GENERATED}/alertmanager/{env.name}/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro",
                "alertmanager-data:/alertmanager",
            ],
            secrets=_secret_mounts(alertmanager_secrets),
        ),
        "grafana": _service(
            "grafana",
            environment={
                "GF_SECURITY_ADMIN_PASSWORD__FILE": f"/run/secrets/{GRAFANA_ADMIN_SECRET}",
                "GF_USERS_ALLOW_SIGN_UP": "false",
            },
            volumes=[
                f"{GENERATED}/grafana/provisioning:/etc/grafana/provisioning:ro",
                f"{GENERATED}/grafana/dashboards:{DASHBOARDS_PATH}:ro",
                "grafana-data:/var/lib/grafana",
            ],
            secrets=[GRAFANA_ADMIN_SECRET],
            depends_on=["prometheus"],
        ),
    }
    secrets = {name: {"file": f"{SECRETS_DIR}/{name}"} for name in names + [GRAFANA_ADMIN_SECRET]}

    exporters = {job.exporter for job in stack.scrape_jobs if env.name in job.targets}
    if probes:
        exporters.add("blackbox_exporter")
    # Exporters without an entry here are left to the user's own compose file.
    for exporter in sorted(exporters & set(EXPORTER_SERVICES), key=lambda e: EXPORTER_SERVICES[e]):
        name = EXPORTER_SERVICES[exporter]
        services[name] = _exporter_service(name, stack)
        if name == "postgres-exporter":
            secrets[POSTGRES_SECRET] = {"file": f"{SECRETS_DIR}/{POSTGRES_SECRET}"}

    return {
        "services": services,
        "volumes": {"prometheus-data": {}, "alertmanager-data": {}, "grafana-data": {},
                    **({"pushgateway-data": {}} if "pushgateway" in services else {})},
        "secrets": dict(sorted(secrets.items())),
        "networks": {"default": {"name": settings.network or stack.name}},
    }


def _exporter_service(name: str, stack: Stack) -> dict[str, Any]:
    settings = stack.compose
    if name == "node-exporter":
        return _service(name, command=["--path.rootfs=/host"], pid="host", volumes=["/:/host:ro,rslave"])
    if name == "cadvisor":
        return _service(
            name,
            privileged=True,
            devices=["/dev/kmsg"],
            volumes=["/:/rootfs:ro", "/var/run:/var/run:ro", "/sys:/sys:ro", "/var/lib/docker/:/var/lib/docker:ro",
                     "/dev/disk/:/dev/disk:ro"],
        )
    if name == "redis-exporter":
        return _service(name, environment={"REDIS_ADDR": settings.redis_addr})
    if name == "postgres-exporter":
        environment = {
            "DATA_SOURCE_URI": settings.postgres_uri,
            "DATA_SOURCE_USER": settings.postgres_user,
            "DATA_SOURCE_PASS_FILE": f"/run/secrets/{POSTGRES_SECRET}",
        }
        volumes = []
        if stack.exporter_queries:
            environment["PG_EXPORTER_EXTEND_QUERY_PATH"] = POSTGRES_QUERIES
            volumes.append(f"{GENERATED}/{exporters.POSTGRES_QUERIES}:{POSTGRES_QUERIES}:ro")
        return _service(name, environment=environment, secrets=[POSTGRES_SECRET], **({"volumes": volumes} if volumes else {}))
    if name == "pushgateway":
        # Persisted: a restart must not forget when the backups last succeeded.
        return _service(name, command=["--persistence.file=/pushgateway/metrics", "--persistence.interval=1m"],
                        volumes=["pushgateway-data:/pushgateway"])
    if name == "blackbox-exporter":
        return _service(name, command=[f"--config.file={BLACKBOX_CONFIG}"], volumes=[f"./blackbox.yml:{BLACKBOX_CONFIG}:ro"])
    raise KeyError(name)

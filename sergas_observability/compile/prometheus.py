"""Per environment: prometheus.yml and the server's start flags.

Rule files are shared by every environment (generated/prometheus/rules/) and
referenced relatively (`../rules/*.yml`, from the config's own directory), so
one prometheus.yml works wherever generated/prometheus/ is put whole:

- in the repository: `promtool check config generated/prometheus/<env>/prometheus.yml`;
- Debian's package: generated/prometheus/ copied to /etc/prometheus/generated/
  (DEBIAN_DIR), the config /etc/prometheus/generated/<env>/prometheus.yml,
  the rules /etc/prometheus/generated/rules/, the TSDB in the package's
  /var/lib/prometheus/metrics2/ (the `prometheus` user owns it), the flags in
  /etc/default/prometheus (`prometheus.default`);
- the compose stack: generated/prometheus/ mounted at /etc/prometheus/, the
  TSDB in a volume at /prometheus (the image's data directory).

tests/test_layouts.py installs both with the real server and checks every
rule group loads.
"""

from __future__ import annotations

from typing import Any

from ..model import BlackboxProbe, Environment, ScrapeJob, Stack
from ..model.platforms import CentralMetrics
from ..output import HEADER

RULES_GLOB = "../rules/*.yml"
# Debian's package: where generated/prometheus/ is installed (a directory of its
# own, so reinstalling it never touches the package's files or
# /etc/prometheus/secrets/), and the package's TSDB directory.
DEBIAN_DIR = "/etc/prometheus/generated"
DEBIAN_STORAGE = "/var/lib/prometheus/metrics2/"
# The prom/prometheus image's data directory (the compose stack mounts a volume there).
CONTAINER_STORAGE = "/prometheus"


def compile(stack: Stack) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    for env in stack.environments:
        documents[f"prometheus/{env.name}/prometheus.yml"] = config(stack, env)
        documents[f"prometheus/{env.name}/prometheus.default"] = defaults_file(env)
    return documents


def config(stack: Stack, env: Environment) -> dict[str, Any]:
    document = {
        "global": {
            "scrape_interval": env.scrape_interval,
            "scrape_timeout": env.scrape_timeout,
            "evaluation_interval": env.evaluation_interval,
            "external_labels": dict(sorted(env.external_labels.items())),
        },
        "rule_files": [RULES_GLOB],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(env.alertmanagers)}]}]},
        "scrape_configs": [
            scrape_config(job, env, stack.deployments.label if stack.deployments else "")
            for job in stack.scrape_jobs + stack.probes  # type: ignore[operator]
            if env.name in job.targets
        ],
    }
    if stack.central is not None and env.name in stack.central.environments:
        document["remote_write"] = [remote_write(stack.central)]
    return document


def remote_write(central: CentralMetrics) -> dict[str, Any]:
    target: dict[str, Any] = {"url": central.remote_write_url}
    if central.tenant:
        target["headers"] = {"X-Scope-OrgID": central.tenant}
    if central.username:
        target["basic_auth"] = {"username": central.username, "password_file": central.password_file}
    return target


def scrape_config(job: ScrapeJob | BlackboxProbe, env: Environment, deployment_label: str = "") -> dict[str, Any]:
    """`deployment_label`: the label a job's targets listed per deployment carry (Stack.deployments)."""
    section: dict[str, Any] = {"job_name": job.name}
    if job.interval:
        section["scrape_interval"] = job.interval
    if job.timeout:
        section["scrape_timeout"] = job.timeout
    static: dict[str, Any] = {"targets": list(job.targets[env.name])}
    if job.labels:
        static["labels"] = dict(sorted(job.labels.items()))
    if isinstance(job, BlackboxProbe):
        # The probed URL travels as ?target=, the exporter does the request, and
        # the URL becomes the instance label so each endpoint is its own series.
        section.update(
            metrics_path="/probe",
            params={"module": [job.module]},
            static_configs=[static],
            relabel_configs=[
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": job.exporter_address[env.name]},
            ],
        )
        return section
    if job.honor_labels:
        section["honor_labels"] = True
    section.update(metrics_path=job.metrics_path, scheme=job.scheme, static_configs=static_groups(job, env, deployment_label))
    return section


def static_groups(job: ScrapeJob, env: Environment, deployment_label: str) -> list[dict[str, Any]]:
    """The job's targets in `env`: one group per deployment, labelled with it, as a pod
    label would label them in Kubernetes (targets of no deployment in one group)."""
    named = job.deployments.get(env.name, {}) if deployment_label else {}
    groups = [(name, addresses) for name, addresses in named.items()]
    rest = [a for a in job.targets[env.name] if a not in job.deployment_of(env.name)] if named else list(job.targets[env.name])
    if rest:
        groups.insert(0, ("", tuple(rest)))
    out = []
    for name, addresses in groups:
        labels = {**job.labels, **({deployment_label: name} if name else {})}
        out.append({"targets": list(addresses), **({"labels": dict(sorted(labels.items()))} if labels else {})})
    return out


def config_path(install_dir: str, env: Environment) -> str:
    """Where `env`'s prometheus.yml is once generated/prometheus/ is installed as `install_dir`."""
    return f"{install_dir}/{env.name}/prometheus.yml"


def start_flags(env: Environment, config_file: str, storage_path: str = CONTAINER_STORAGE) -> list[str]:
    """Command-line flags of the Prometheus server for `env` (retention lives here, not in the config)."""
    return [
        f"--config.file={config_file}",
        f"--storage.tsdb.path={storage_path}",
        f"--storage.tsdb.retention.time={env.retention}",
        "--web.enable-lifecycle",
    ]


def defaults_file(env: Environment) -> str:
    flags = " ".join(start_flags(env, config_file=config_path(DEBIAN_DIR, env), storage_path=DEBIAN_STORAGE))
    return (
        f"# {HEADER}\n"
        f"# Start flags of Prometheus in {env.name} for Debian's package: install as\n"
        f"# /etc/default/prometheus (its unit runs `prometheus $ARGS`), with\n"
        f"# generated/prometheus/ copied to {DEBIAN_DIR}/ (the rules are then\n"
        f"# {DEBIAN_DIR}/rules/*.yml). TSDB: the package's {DEBIAN_STORAGE}.\n"
        f"# Retention: {env.retention}.\n"
        f'ARGS="{flags}"\n'
    )

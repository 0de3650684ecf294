"""How the stack is deployed beyond one Prometheus: Kubernetes, Thanos, docker-compose.

Each block has defaults that fit most installations, so a Stack needs none of
them; definitions set only what differs (a namespace, the labels a
prometheus-operator selects on, a Thanos group that may answer partially).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from .base import Definition, HttpUrl

# Kubernetes label keys: optional DNS prefix, then a name of up to 63 characters.
_K8S_KEY_RE = re.compile(r"^([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
_K8S_VALUE_RE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

PartialResponse = Literal["warn", "abort"]


def _check_k8s_labels(value: dict[str, str]) -> dict[str, str]:
    for key, label_value in value.items():
        if not _K8S_KEY_RE.match(key):
            raise ValueError(f"'{key}' is not a Kubernetes label key")
        if not _K8S_VALUE_RE.match(label_value):
            raise ValueError(f"'{label_value}' (label '{key}') is not a Kubernetes label value")
    return value


def is_dns_label(value: str) -> bool:
    """A DNS label (RFC 1123): what names namespaces, directories and resources safely."""
    return bool(_DNS_LABEL_RE.match(value))


def _check_dns_label(value: str, what: str) -> str:
    if not _DNS_LABEL_RE.match(value):
        raise ValueError(f"{what} '{value}' must be a DNS label (lower-case letters, digits, '-', at most 63)")
    return value


class KubernetesSettings(Definition):
    """prometheus-operator output.

    `namespaces` maps an environment to its namespace (default: `<stack>-<env>`).
    `labels` go on every resource: put there what the Prometheus and
    Alertmanager resources select on (e.g. `release: kube-prometheus-stack`).
    Scrape jobs become ServiceMonitors selecting Services labelled
    `<service_label>: <job name>` on the port named `port_name`.
    Receiver secrets are keys of the Secret `secret_name`, named after the
    basename of each `*_file` path.
    """

    kind_name = "Kubernetes"
    namespaces: dict[str, str] = {}
    labels: dict[str, str] = {}
    service_label: str = "app.kubernetes.io/name"
    port_name: str = "metrics"
    secret_name: str = "alertmanager-receivers"

    _labels = field_validator("labels")(classmethod(lambda cls, v: _check_k8s_labels(v)))

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: dict[str, str]) -> dict[str, str]:
        for namespace in value.values():
            _check_dns_label(namespace, "namespace")
        return value

    @field_validator("service_label")
    @classmethod
    def _service_label(cls, value: str) -> str:
        _check_k8s_labels({value: "x"})
        return value

    @field_validator("port_name", "secret_name")
    @classmethod
    def _dns(cls, value: str) -> str:
        return _check_dns_label(value, "name")


class ThanosSettings(Definition):
    """Thanos Ruler: what a rule group does when a store does not answer.

    `abort` (the default) skips the evaluation, so an alert neither fires nor
    resolves on partial data; `warn` evaluates with what answered. Keys of
    `partial_response` are rule group names as the rule files have them.
    """

    kind_name = "Thanos"
    default_partial_response: PartialResponse = "abort"
    partial_response: dict[str, PartialResponse] = {}


class ComposeSettings(Definition):
    """The docker-compose monitoring stack (seed section 2.2) runs one environment.

    Pick the environment whose scrape targets are the compose service names
    (node-exporter:9100, ...); its Prometheus config, retention, Alertmanager
    config and receiver secrets are the ones the stack mounts. None means the
    first environment the Stack declares.
    """

    kind_name = "Compose"
    environment: str | None = None
    # The compose network the application's own stack joins, so `app:9090` resolves.
    network: str = ""  # default: the stack's name
    # Where the exporters find the databases (credentials come from secret files).
    postgres_uri: str = "postgres:5432/postgres?sslmode=disable"
    # The role postgres_exporter connects as (compose/postgres-init creates it, with pg_monitor).
    postgres_user: str = "postgres_exporter"
    redis_addr: str = "redis://redis:6379"

    @field_validator("postgres_uri", "redis_addr")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        if "@" in value:
            raise ValueError("credentials in an address would be written to generated files; they are read from secret files")
        return value


class CentralMetrics(Definition):
    """A central Mimir (or any remote-write store) the environments ship to.

    Each listed environment's Prometheus remote-writes everything it scrapes
    and records to `remote_write_url`; its external labels (`env`, `cluster`)
    keep the series of the environments apart there, which is also what the
    Mimir-ruler rule files (scoped by `env`) expect. Grafana gets a second
    datasource on `query_url` for the view across environments. The password
    is read from a file, like every other secret.
    """

    kind_name = "CentralMetrics"
    remote_write_url: HttpUrl
    query_url: HttpUrl
    environments: tuple[str, ...]
    tenant: str | None = None
    username: str | None = None
    password_file: str | None = None

    @field_validator("password_file")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"'{value}' must be an absolute path to a file holding the secret")
        return value

    @field_validator("environments")
    @classmethod
    def _some(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name the environments that ship their metrics")
        return value

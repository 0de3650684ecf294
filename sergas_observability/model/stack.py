"""The Stack: every declaration of one service, cross-checked as a whole."""

from __future__ import annotations

import re
from typing import Any

from pydantic import PrivateAttr

from ..instrumentation.instruments import runtime_series as _runtime_series
from .alerts import Alert, RecordingRule
from .batch import BATCH_SERIES, BatchJob, batch_alerts
from .exporters import PostgresQuery
from .meta import MetaMonitoring, meta_alerts
from .base import Definition, DefinitionError, LabelName, after_check
from .dashboards import Dashboard
from .environments import Environment
from .metrics import Metric
from .routing import Receiver, Severity
from .slo import RECORDED_SERIES, SLO
from .rollout import RECORDED_SERIES as ROLLOUT_SERIES, Deployments, Rollout
from .runbooks import Runbook
from .platforms import CentralMetrics, ComposeSettings, KubernetesSettings, ThanosSettings
from .targets import BlackboxProbe, ScrapeJob

# Series every Prometheus has without declaring them: per-target scrape series
# and the ALERTS series of its own rule evaluation.
BUILTIN_SERIES: dict[str, tuple[str, ...]] = {
    "up": ("job", "instance"),
    "scrape_duration_seconds": ("job", "instance"),
    "scrape_samples_scraped": ("job", "instance"),
    "scrape_samples_post_metric_relabeling": ("job", "instance"),
    "scrape_series_added": ("job", "instance"),
    "ALERTS": ("alertname", "alertstate", "severity"),
    "ALERTS_FOR_STATE": ("alertname", "severity"),
}


class Stack(Definition):
    """All monitoring of one service: the input of every compiler."""

    kind_name = "Stack"
    name: str
    environments: tuple[Environment, ...]
    metrics: tuple[Metric, ...] = ()
    scrape_jobs: tuple[ScrapeJob, ...] = ()
    probes: tuple[BlackboxProbe, ...] = ()
    receivers: tuple[Receiver, ...] = ()
    severities: tuple[Severity, ...] = ()
    default_receiver: str
    alerts: tuple[Alert, ...] = ()
    recording_rules: tuple[RecordingRule, ...] = ()
    dashboards: tuple[Dashboard, ...] = ()
    slos: tuple[SLO, ...] = ()
    kubernetes: KubernetesSettings = KubernetesSettings()
    thanos: ThanosSettings = ThanosSettings()
    compose: ComposeSettings = ComposeSettings()
    central: CentralMetrics | None = None
    meta: MetaMonitoring | None = None
    exporter_queries: tuple[PostgresQuery, ...] = ()
    batch_jobs: tuple[BatchJob, ...] = ()
    # The application's deployments side by side (blue-green, canary), and its rollouts.
    deployments: Deployments | None = None
    rollouts: tuple[Rollout, ...] = ()
    # The runbooks on-call reads: with any declared, every runbook link must resolve to one.
    runbooks: tuple[Runbook, ...] = ()
    _derived_alerts: tuple[Alert, ...] | None = PrivateAttr(default=None)
    # Each compiler's documents, compiled once (compile.compiled): the validation
    # pass reads the dashboards and routes that generate then writes.
    _compiled: dict[str, Any] = PrivateAttr(default_factory=dict)
    # The external label every environment sets to its name: routing groups by
    # it, inhibition pairs alerts by it, central rules are scoped by it.
    environment_label: LabelName = "env"
    group_by: tuple[str, ...] = ()  # default: alertname, the environment label, service
    inhibit_equal: tuple[str, ...] = ()  # default: the environment label, service
    grafana_url: str = "http://localhost:3000"
    # Where people open Prometheus (the catalog links each alert's expression to its graph page).
    prometheus_url: str = "http://localhost:9090"
    # The application's metrics port, the generated module's default (0: from its scrape targets).
    metrics_port: int = 0
    # Severities of SLO pages and tickets, for SLOs that name none.
    slo_page_severity: str = ""
    slo_ticket_severity: str = ""
    grafana_folder: str = ""  # default: the stack's name
    # Where Grafana reaches Prometheus (the datasource it is provisioned with).
    grafana_datasource_url: str = "http://prometheus:9090"

    @after_check
    def _defaults(self) -> "Stack":
        # Derived from other fields; set once, like an SLO's alert name.
        if not self.group_by:
            object.__setattr__(self, "group_by", ("alertname", self.environment_label, "service"))
        if not self.inhibit_equal:
            object.__setattr__(self, "inhibit_equal", (self.environment_label, "service"))
        if not self.grafana_folder:
            object.__setattr__(self, "grafana_folder", self.name)
        return self

    @property
    def module_name(self) -> str:
        """The import name of the generated metrics module: '<stack name>_metrics'."""
        return re.sub(r"\W", "_", self.name.lower()) + "_metrics"

    @property
    def metrics_port_in_targets(self) -> int:
        """The port the application serves /metrics on: `metrics_port`, else the one port
        every target of its scrape jobs names, else 8000 (prometheus_client's examples)."""
        if self.metrics_port:
            return self.metrics_port
        ports = {a.rsplit(":", 1)[-1] for j in self.scrape_jobs if j.exporter == "app" for t in j.targets.values() for a in t}
        return int(ports.pop()) if len(ports) == 1 and next(iter(ports)).isdigit() else 8000

    @property
    def runtime_prefix(self) -> str:
        """The prefix of the instrumentation runtime's own series in this stack's application."""
        return self.module_name.removesuffix("_metrics") + "_instrumentation_"

    def runtime_series(self) -> dict[str, tuple[str, ...]]:
        """The runtime's own counters (label overflow, errors) in this stack's application, with their labels."""
        return _runtime_series(self.runtime_prefix)

    def rule_group(self, definition: Any) -> str:
        """The rule group an alert or recording rule goes to: its own, else `<stack>-alerts` / `<stack>-recording`."""
        if definition.group:
            return str(definition.group)
        return f"{self.name}-{'recording' if isinstance(definition, RecordingRule) else 'alerts'}"

    # Cross-references (unique names, every reference resolves) are checked by
    # the validation pass (`sergas_observability.lint.validate`), which reports
    # every mistake at once instead of the first.

    # -- lookups the compilers and checks share -----------------------------------

    def series_labels(self) -> dict[str, tuple[str, ...]]:
        """Every series name a query may read, with the labels it carries."""
        known: dict[str, tuple[str, ...]] = dict(BUILTIN_SERIES)
        for metric in self.metrics:
            names = metric.series_names()
            if self.deployments is not None and metric.exporter is None:  # every application series is a deployment's
                names = {name: labels + (self.deployments.label,) for name, labels in names.items()}
            known.update(names)
        for rule in self.recording_rules:
            known[rule.record] = tuple(rule.labels)
        if self.slos:  # what the SLO compiler records is readable like any metric
            known.update(RECORDED_SERIES)
        if self.rollouts and self.deployments:  # what the rollout compiler records, per deployment
            known.update({name: labels + (self.deployments.label,) for name, labels in ROLLOUT_SERIES.items()})
        if self.batch_jobs:  # what batch runs report through the pushgateway
            known.update(BATCH_SERIES)
        # The instrumentation runtime's own series (label overflow, errors), for alerts on them.
        known.update({name: labels + ("job", "instance") for name, labels in self.runtime_series().items()})
        return known

    @property
    def all_alerts(self) -> tuple[Alert, ...]:
        """The declared alerts, then those the library derives (meta-monitoring, batch jobs)."""
        if self._derived_alerts is None:  # derived once: the Stack is frozen
            self._derived_alerts = meta_alerts(self) + batch_alerts(self)
        return self.alerts + self._derived_alerts

    def receiver(self, name: str, env: Environment) -> Any:
        """The receiver `name` as seen in `env` (after its overrides)."""
        return env.receiver_overrides.get(name) or next(r for r in self.receivers if r.name == name)

    def severity(self, name: str) -> Severity:
        return next(s for s in self.severities if s.name == name)

    @property
    def app_metrics(self) -> tuple[Metric, ...]:
        """The application's own metrics (what the instrumentation module exposes)."""
        return tuple(m for m in self.metrics if m.exporter is None)


__all__ = ["Stack", "DefinitionError", "BUILTIN_SERIES"]

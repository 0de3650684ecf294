"""The Stack: every declaration of one service, cross-checked as a whole."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import model_validator

from ..promql import metric_names, substitute_grafana_variables
from .alerts import Alert, RecordingRule
from .base import Definition, DefinitionError, did_you_mean
from .dashboards import Dashboard
from .environments import Environment
from .metrics import Metric
from .routing import Receiver, Severity
from .slo import RECORDED_SERIES, SLO, check_references as check_slo_references
from .platforms import CentralMetrics, ComposeSettings, KubernetesSettings, ThanosSettings, check_platforms
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


def _unique(items: Iterable[Definition], key: str, what: str) -> None:
    seen: set[Any] = set()
    for item in items:
        value = getattr(item, key)
        if value in seen:
            raise item.fail(key, f"duplicate {what} '{value}'")
        seen.add(value)


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
    group_by: tuple[str, ...] = ("alertname", "env", "service")
    inhibit_equal: tuple[str, ...] = ("env", "service")
    grafana_url: str = "http://localhost:3000"

    @model_validator(mode="after")
    def _cross_check(self) -> "Stack":
        if not self.environments:
            raise ValueError("at least one environment is needed")
        _unique(self.environments, "name", "environment")
        _unique(self.metrics, "name", "metric")
        _unique(self.scrape_jobs + self.probes, "name", "scrape job")  # type: ignore[operator]
        _unique(self.receivers, "name", "receiver")
        _unique(self.severities, "name", "severity")
        _unique(self.alerts, "name", "alert")
        _unique(self.recording_rules, "record", "recording rule")
        _unique(self.dashboards, "uid", "dashboard uid")
        _unique(self.dashboards, "file_name", "dashboard file name")
        self._check_routing()
        self._check_targets()
        self._check_references()
        self._check_slos()
        check_platforms(self.kubernetes, self.compose, self.central, {e.name for e in self.environments})
        return self

    # -- routing ---------------------------------------------------------------

    def _check_routing(self) -> None:
        receivers = {r.name: r for r in self.receivers}
        severities = {s.name for s in self.severities}
        if self.default_receiver not in receivers:
            raise self.fail("default_receiver", f"unknown receiver '{self.default_receiver}'" + did_you_mean(self.default_receiver, receivers))
        for severity in self.severities:
            for name in severity.receivers:
                if name not in receivers:
                    raise severity.fail("receivers", f"unknown receiver '{name}'" + did_you_mean(name, receivers))
            for name in severity.inhibits:
                if name not in severities:
                    raise severity.fail("inhibits", f"unknown severity '{name}'" + did_you_mean(name, severities))
        for env in self.environments:
            for name, replacement in env.receiver_overrides.items():
                if name not in receivers:
                    raise env.fail("receiver_overrides", f"unknown receiver '{name}'" + did_you_mean(name, receivers))
                if type(replacement) is not type(receivers[name]):
                    raise env.fail("receiver_overrides", f"'{name}' must be replaced by a receiver of the same type")
        for alert in self.alerts:
            if alert.severity not in severities:
                known = ", ".join(sorted(severities))
                raise alert.fail("severity", f"unknown severity '{alert.severity}' (known: {known})")

    def _check_targets(self) -> None:
        envs = {e.name for e in self.environments}
        for job in self.scrape_jobs + self.probes:  # type: ignore[operator]
            for env in job.targets:
                if env not in envs:
                    raise job.fail("targets", f"unknown environment '{env}'" + did_you_mean(env, envs))

    # -- metric references -------------------------------------------------------

    def series_labels(self) -> dict[str, tuple[str, ...]]:
        """Every series name a query may read, with the labels it carries."""
        known: dict[str, tuple[str, ...]] = dict(BUILTIN_SERIES)
        for metric in self.metrics:
            known.update(metric.series_names())
        for rule in self.recording_rules:
            known[rule.record] = tuple(rule.labels)
        if self.slos:  # what the SLO compiler records is readable like any metric
            known.update(RECORDED_SERIES)
        return known

    def _check_slos(self) -> None:
        seen: set[str] = set()
        for slo in self.slos:
            if slo.key in seen:
                raise slo.fail("name", f"duplicate SLO '{slo.key}'")
            seen.add(slo.key)
        series = self.series_labels()
        metrics = {m.name: m for m in self.metrics}
        severities = {s.name for s in self.severities}
        for slo in self.slos:
            check_slo_references(slo, series, metrics, severities)

    def _check_references(self) -> None:
        known = self.series_labels()

        def check(definition: Definition, field: str, expr: str) -> None:
            for name in sorted(metric_names(expr)):
                if name not in known:
                    raise definition.fail(field, f"metric '{name}' is not declared" + did_you_mean(name, known))

        for rule in self.recording_rules:
            check(rule, "expr", rule.expr)
        for alert in self.alerts:
            check(alert, "expr", alert.expr)
        uids = {d.uid for d in self.dashboards}
        for alert in self.alerts:
            if alert.dashboard is not None and alert.dashboard not in uids:
                raise alert.fail("dashboard", f"unknown dashboard uid '{alert.dashboard}'" + did_you_mean(alert.dashboard, uids))
        for dashboard in self.dashboards:
            for panel in dashboard.panels:
                for query in panel.queries:
                    check(panel, "queries", substitute_grafana_variables(query.expr))

    # -- lookups the compilers share --------------------------------------------

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

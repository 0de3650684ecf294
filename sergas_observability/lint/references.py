"""Cross-references of the Stack: every name is unique, every reference resolves.

These were the Stack's own validator; here they report every mistake instead
of the first. Placeholders of definitions that failed to construct are
skipped (their own errors are already reported) but still count as declared,
so a typo in one definition does not cascade into "unknown" errors elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from ..model import Definition, Metric, MetricKind, Stack
from ..model.base import did_you_mean, duration_seconds
from ..model.metrics import SCRAPE_LABELS
from ..model.slo import SLO, LatencySLI, ProbeSLI, RatioSLI, Selector, selector_of
from ..promql import metric_names, substitute_grafana_variables
from .findings import Finding, finding

Emit = Callable[[Finding], None]
D = TypeVar("D", bound=Definition)


# Definitions an earlier check found an error in: later checks skip them, so
# one mistake is reported once, not again by every check that builds on it.
_failed: ContextVar[frozenset[int]] = ContextVar("failed_definitions", default=frozenset())


@contextmanager
def skipping(failed: Callable[[], frozenset[int]]) -> Iterator[Callable[[], None]]:
    """Within the block, `valid` leaves out the definitions `failed()` names (ids); call the yielded function to refresh."""
    token = _failed.set(frozenset())

    def refresh() -> None:
        _failed.set(failed())

    try:
        yield refresh
    finally:
        _failed.reset(token)


def valid(items: Iterable[D]) -> list[D]:
    """The definitions that constructed and have no error yet (placeholders and failed ones left out)."""
    failed = _failed.get()
    return [item for item in items if not item.invalid and id(item) not in failed]


def _unknown(emit: Emit, definition: Definition, field: str, what: str, name: str, known: Iterable[str], listed: bool = False) -> None:
    known = sorted(set(known))
    hint = f" (known: {', '.join(known)})" if listed else did_you_mean(name, known)
    emit(finding("stack/unknown-reference", definition, field, f"unknown {what} '{name}'{hint}"))


def _unique(emit: Emit, items: Iterable[Definition], key: Callable[[Any], Any], field: str, what: str) -> None:
    seen: set[Any] = set()
    for item in valid(items):
        value = key(item)
        if value in seen:
            emit(finding("stack/duplicate", item, field, f"duplicate {what} '{value}'"))
        seen.add(value)


def check_unique(stack: Stack, emit: Emit) -> None:
    if not stack.environments:
        emit(finding("stack/unknown-reference", stack, "environments", "at least one environment is needed"))
    _unique(emit, stack.environments, lambda e: e.name, "name", "environment")
    _unique(emit, stack.metrics, lambda m: m.name, "name", "metric")
    _unique(emit, stack.scrape_jobs + stack.probes, lambda j: j.name, "name", "scrape job")  # type: ignore[operator]
    _unique(emit, stack.receivers, lambda r: r.name, "name", "receiver")
    _unique(emit, stack.severities, lambda s: s.name, "name", "severity")
    _unique(emit, stack.alerts, lambda a: a.name, "name", "alert")
    _unique(emit, stack.recording_rules, lambda r: r.record, "record", "recording rule")
    _unique(emit, stack.dashboards, lambda d: d.uid, "uid", "dashboard uid")
    _unique(emit, stack.dashboards, lambda d: d.file_name, "file", "dashboard file name")
    _unique(emit, stack.slos, lambda s: s.key, "name", "SLO")
    _unique(emit, stack.rollouts, lambda r: r.name, "name", "rollout")
    _unique(emit, stack.runbooks, lambda r: r.name, "name", "runbook")


def check_routing(stack: Stack, emit: Emit) -> None:
    receivers = {r.name: r for r in stack.receivers}
    severities = {s.name for s in stack.severities}
    if stack.default_receiver not in receivers:
        _unknown(emit, stack, "default_receiver", "receiver", stack.default_receiver, receivers)
    for severity in valid(stack.severities):
        for name in severity.receivers:
            if name not in receivers:
                _unknown(emit, severity, "receivers", "receiver", name, receivers)
        for name in severity.inhibits:
            if name not in severities:
                _unknown(emit, severity, "inhibits", "severity", name, severities)
    for env in valid(stack.environments):
        for name, replacement in env.receiver_overrides.items():
            if name not in receivers:
                _unknown(emit, env, "receiver_overrides", "receiver", name, receivers)
            elif type(replacement) is not type(receivers[name]):
                emit(finding("stack/unknown-reference", env, "receiver_overrides", f"'{name}' must be replaced by a receiver of the same type"))
    for alert in valid(stack.alerts):
        if alert.severity not in severities:
            _unknown(emit, alert, "severity", "severity", alert.severity, severities, listed=True)
    meta = stack.meta
    if meta is not None and not meta.invalid:
        if meta.severity not in severities:
            _unknown(emit, meta, "severity", "severity", meta.severity, severities, listed=True)
        uids = {d.uid for d in stack.dashboards}
        if meta.dashboard is not None and meta.dashboard not in uids:
            _unknown(emit, meta, "dashboard", "dashboard uid", meta.dashboard, uids)
    for job in valid(stack.scrape_jobs + stack.probes):  # type: ignore[operator]
        if job.meta_severity is not None and job.meta_severity not in severities:
            _unknown(emit, job, "meta_severity", "severity", job.meta_severity, severities, listed=True)


def check_environments(stack: Stack, emit: Emit) -> None:
    """Every environment sets the environment label; every environment a job, a probe or a platform block names exists."""
    label = stack.environment_label
    for environment in valid(stack.environments):
        if label not in environment.external_labels:
            emit(finding("stack/unknown-reference", environment, "external_labels",
                         f"external_labels must set '{label}' so every series and alert says where it comes from"))
    for metric in valid(stack.app_metrics):
        if label in metric.label_names:
            emit(finding("stack/invalid-name", metric, "labels",
                         f"label '{label}' is the environment label: every environment's Prometheus adds it (external_labels)"))
    envs = {e.name for e in stack.environments}
    for job in valid(stack.scrape_jobs + stack.probes):  # type: ignore[operator]
        for env in job.targets:
            if env not in envs:
                _unknown(emit, job, "targets", "environment", env, envs)
    kubernetes, compose, central = stack.kubernetes, stack.compose, stack.central
    if not kubernetes.invalid:
        for env in kubernetes.namespaces:
            if env not in envs:
                _unknown(emit, kubernetes, "namespaces", "environment", env, envs)
    if not compose.invalid and compose.environment is not None and compose.environment not in envs:
        _unknown(emit, compose, "environment", "environment", compose.environment, envs)
    if central is not None and not central.invalid:
        for env in central.environments:
            if env not in envs:
                _unknown(emit, central, "environments", "environment", env, envs)


def check_metric_references(stack: Stack, emit: Emit) -> None:
    """Every metric an expression reads is declared; every dashboard an alert links exists."""
    known = stack.series_labels()

    def check(definition: Definition, field: str, expr: str) -> None:
        for name in sorted(metric_names(expr)):
            if name not in known:
                emit(finding("stack/unknown-reference", definition, field, f"metric '{name}' is not declared" + did_you_mean(name, known)))

    for rule in valid(stack.recording_rules):
        check(rule, "expr", rule.expr)
    for alert in valid(stack.alerts):
        check(alert, "expr", alert.expr)
    uids = {d.uid for d in stack.dashboards}
    for alert in valid(stack.alerts):
        if alert.dashboard is not None and alert.dashboard not in uids:
            _unknown(emit, alert, "dashboard", "dashboard uid", alert.dashboard, uids)
    for dashboard in valid(stack.dashboards):
        for panel in valid(dashboard.panels):
            for query in valid(panel.queries):
                check(panel, "queries", substitute_grafana_variables(query.expr))


def check_slo_references(stack: Stack, emit: Emit) -> None:
    """Everything an SLO names exists: metrics, their labels, buckets, severities."""
    series = stack.series_labels()
    metrics = {m.name: m for m in stack.metrics}
    severities = {s.name for s in stack.severities}
    for slo in valid(stack.slos):
        actions = {tier.action for tier in slo.tiers}
        for action, field in (("page", "page_severity"), ("ticket", "ticket_severity")):
            name = getattr(slo, field) or getattr(stack, f"slo_{field}")
            if action not in actions:
                continue
            if not name:
                emit(finding("stack/unknown-reference", slo, field,
                             f"no {action} severity: set {field} on the SLO, or slo_{field} on the Stack (known: {', '.join(sorted(severities))})"))
            elif name not in severities:
                _unknown(emit, slo if getattr(slo, field) else stack, field if getattr(slo, field) else f"slo_{field}",
                         "severity", name, severities, listed=True)
        _check_groups(emit, slo, series)
        check_sli(emit, slo, slo.sli, stack, series, metrics)


def check_sli(emit: Emit, owner: Definition, sli: Any, stack: Stack, series: dict[str, tuple[str, ...]], metrics: dict[str, Metric]) -> None:
    """An SLI's selectors read declared metrics of the right kind, with their labels (`owner`: whose field `sli` is)."""
    if isinstance(sli, RatioSLI):
        for field, texts in sli.selector_fields().items():
            for text in texts:
                selector = selector_of(text)
                _check_selector(emit, owner, f"sli.{field}", selector, series)
                metric = metrics.get(selector.metric or "")
                if metric is not None and metric.kind is not MetricKind.COUNTER:
                    emit(finding("promql/rate-on-non-counter", owner, f"sli.{field}",
                                 f"'{metric.name}' is a {metric.kind.value}: the SLO counts events with rate(), which needs a counter"))
        return
    if isinstance(sli, ProbeSLI):
        selector = sli.selector
        _check_selector(emit, owner, "sli.success", selector, series)
        gauge = metrics.get(selector.metric or "")
        if gauge is not None and gauge.kind is not MetricKind.GAUGE:
            emit(finding("stack/unknown-reference", owner, "sli.success",
                         f"'{gauge.name}' is a {gauge.kind.value}: a ProbeSLI counts the samples of a 0/1 gauge such as probe_success"))
        _check_probe_interval(emit, owner, sli, stack)
        return
    selector = sli.selector
    family = metrics.get(selector.metric or "")
    if family is None:
        emit(finding("stack/unknown-reference", owner, "sli.histogram", f"metric '{selector.metric}' is not declared" + did_you_mean(selector.metric or "", metrics)))
    elif family.kind is not MetricKind.HISTOGRAM:
        emit(finding("stack/unknown-reference", owner, "sli.histogram", f"'{family.name}' is a {family.kind.value}, not a histogram"))
    else:
        _check_selector(emit, owner, "sli.histogram", Selector(f"{family.name}_bucket", selector.matchers), series)
        _check_threshold(emit, owner, sli, family)


def _check_probe_interval(emit: Emit, slo: Definition, sli: ProbeSLI, stack: Stack) -> None:
    """A ProbeSLI that reads a declared probe's job counts its probes by that probe's interval."""
    jobs = {value for name, op, value in sli.selector.matchers if name == "job" and op == "="}
    for probe in valid(stack.probes):
        if probe.name in jobs and probe.interval and duration_seconds(probe.interval) != duration_seconds(sli.interval):
            emit(finding("stack/unknown-reference", slo, "sli.interval",
                         f"interval {sli.interval}, but probe '{probe.name}' is scraped every {probe.interval}: "
                         f"its failed probes would be counted {duration_seconds(probe.interval) / duration_seconds(sli.interval):.3g}x"))


def _check_groups(emit: Emit, slo: SLO, series: dict[str, tuple[str, ...]]) -> None:
    """Every metric of a grouped SLI carries the labels it is grouped by."""
    for label in slo.group_by:
        for name in slo.sli.metric_names():
            family = f"{name}_bucket" if isinstance(slo.sli, LatencySLI) else name
            if family in series and label not in set(series[family]) | SCRAPE_LABELS:
                emit(finding("stack/unknown-reference", slo, "group_by",
                             f"'{name}' has no label '{label}' to group by" + did_you_mean(label, set(series[family]) | SCRAPE_LABELS)))


def _check_threshold(emit: Emit, slo: Definition, sli: LatencySLI, family: Metric) -> None:
    threshold = sli.threshold
    if not family.buckets:
        emit(finding("stack/unknown-reference", slo, "sli.threshold", f"'{family.name}' declares no buckets to set a threshold on"))
    elif threshold not in family.buckets:
        buckets = ", ".join(format(b, "g") for b in family.buckets)
        emit(finding("stack/unknown-reference", slo, "sli.threshold", f"{format(threshold, 'g')} is not a bucket of '{family.name}' ({buckets})"))


def _check_selector(emit: Emit, slo: Definition, field: str, selector: Selector, series: dict[str, tuple[str, ...]]) -> None:
    name = selector.metric or ""
    if name not in series:
        emit(finding("stack/unknown-reference", slo, field, f"metric '{name}' is not declared" + did_you_mean(name, series)))
        return
    allowed = set(series[name]) | SCRAPE_LABELS
    for label in selector.label_names:
        if label not in allowed:
            emit(finding("stack/unknown-reference", slo, field, f"'{name}' has no label '{label}'" + did_you_mean(label, allowed)))


def check_meta(stack: Stack, emit: Emit) -> None:
    """A probe's meta-alert reads probe_success, which the blackbox catalog declares."""
    if stack.meta is None or any(m.name == "probe_success" for m in stack.metrics):
        return
    for probe in valid(stack.probes):
        if probe.meta:
            emit(finding("stack/unknown-reference", probe, "meta",
                         "its meta-alert reads probe_success: declare it (the blackbox_exporter catalog) or set meta=False"))


def check_batch_jobs(stack: Stack, emit: Emit) -> None:
    severities = {s.name for s in stack.severities}
    uids = {d.uid for d in stack.dashboards}
    _unique(emit, stack.batch_jobs, lambda b: b.name, "name", "batch job")
    for job in valid(stack.batch_jobs):
        if job.severity not in severities:
            _unknown(emit, job, "severity", "severity", job.severity, severities, listed=True)
        if job.dashboard is not None and job.dashboard not in uids:
            _unknown(emit, job, "dashboard", "dashboard uid", job.dashboard, uids)
    if stack.batch_jobs and not any(j.honor_labels for j in stack.scrape_jobs):
        # Likely, not certain: another Prometheus may federate the Pushgateway's series in.
        emit(finding("stack/unknown-reference", stack.batch_jobs[0], "name",
                     "no scrape job collects the Pushgateway (a ScrapeJob with honor_labels=True): the batch jobs' reports are never read",
                     level="warning"))


def check_exporter_queries(stack: Stack, emit: Emit) -> None:
    """The metrics a custom query yields are declared, so rules and panels may read them."""
    declared = {m.name for m in stack.metrics}
    _unique(emit, stack.exporter_queries, lambda q: q.namespace, "namespace", "query namespace")
    for query in valid(stack.exporter_queries):
        missing = [m.name for m in query.metrics() if m.name not in declared]
        if missing:
            emit(finding("stack/unknown-reference", query, "values",
                         f"its metrics {', '.join(missing)} are not among the Stack's metrics: add {query.namespace} query's .metrics() to them"))


CHECKS = (
    check_unique, check_routing, check_environments, check_metric_references, check_slo_references, check_meta,
    check_exporter_queries, check_batch_jobs,
)

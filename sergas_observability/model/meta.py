"""Meta-monitoring: alerts on the monitoring itself, derived from the scrape jobs.

A dead exporter pages nobody on its own: every alert on its metrics goes
blind (their series vanish, nothing compares above a threshold). So every
scrape job and probe gets, unless it opts out (`meta=False`):

- `<Job>TargetDown`: a target of the job fails its scrapes (`up == 0`);
- `<Job>MetricsMissing`: the job's targets answer but a metric the stack's
  alerts read from that exporter is absent (a collector off, a grant
  missing, a renamed metric). It stays quiet while a target is down, so one
  dead exporter is one alert, not two, and while the exporter reports its
  backend down (an `<x>_up` metric of its catalog at 0: pg_up, redis_up),
  whose own alert says so;
- for a probe, `<Probe>ProbeFailing`: the probed URL fails, or the blackbox
  exporter that probes it is unreachable.

Each alert carries the job's `service` (default: its name), so a higher
severity of the same service inhibits it as usual: a database that is down
outranks its exporter. They are ordinary Alert definitions, checked and
compiled like declared ones, each with promtool scenarios.
"""

from __future__ import annotations

from typing import Any

from ..promql import metric_names
from .alerts import Alert, AlertScenario, AlertTest
from .base import Definition, Duration, HttpUrl, after_check, duration_seconds, format_duration
from .slo import camel


class MetaMonitoring(Definition):
    """Settings of the generated meta-alerts (see the module docstring).

    `severity` is the severity of every meta-alert (a job may set its own
    `meta_severity`); `for_` how long a target must be down, `absent_for` how
    long a metric must be missing.
    """

    kind_name = "MetaMonitoring"
    severity: str
    runbook_url: HttpUrl
    for_: Duration = "3m"
    absent_for: Duration = "10m"
    dashboard: str | None = None
    group: str = ""  # default: `<stack>-meta`

    @after_check
    def _sane(self) -> "MetaMonitoring":
        if duration_seconds(self.for_) <= 0:
            raise self.fail("for_", "a target that is down for one failed scrape is not down: give a duration")
        return self


def _scenario_at(longest: str) -> str:
    """When the generated promtool tests evaluate: past the longer wait, plus slack."""
    return format_duration(duration_seconds(longest) + 2 * 60)


def _samples(minutes: int, value: str) -> str:
    return f"{value}x{minutes}"


def _derived(alert: Alert, source: Definition) -> Alert:
    """`alert`, attributed to the definition it was derived from (errors point there)."""
    alert._origin = source.origin
    alert._derived_from = source.describe()
    return alert


def meta_alerts(stack: Any) -> tuple[Alert, ...]:
    """The meta-alerts of `stack` (empty without `stack.meta`)."""
    meta: MetaMonitoring | None = stack.meta
    if meta is None or meta.invalid:
        return ()
    read = _metrics_read(stack)
    group = meta.group or f"{stack.name}-meta"
    alerts: list[Alert] = []
    for job in stack.scrape_jobs:
        if job.invalid or not job.meta:
            continue
        alerts.append(_target_down(meta, job, group))
        catalog = [m for m in stack.metrics if m.exporter == job.exporter and job.exporter != "app"]
        missing = [m.name for m in catalog if m.name in read]
        if missing:
            backend = [m.name for m in catalog if m.name.endswith("_up")]
            alerts.append(_metrics_missing(meta, job, missing, backend, group))
    for probe in stack.probes:
        if not probe.invalid and probe.meta:
            alerts.append(_probe_failing(meta, probe, group))
    return tuple(alerts)


def _metrics_read(stack: Any) -> set[str]:
    """Metric names the declared alerts read (family names, for histograms too)."""
    names: set[str] = set()
    for alert in stack.alerts:
        if not alert.invalid:
            for name in metric_names(alert.expr):
                names.add(name)
                names.add(name.rsplit("_", 1)[0] if name.endswith(("_bucket", "_sum", "_count")) else name)
    return names


def _common(meta: MetaMonitoring, job: Any, group: str) -> dict[str, Any]:
    return {
        "severity": job.meta_severity or meta.severity,
        "service": job.service or job.name,
        "runbook_url": meta.runbook_url,
        "dashboard": meta.dashboard,
        "group": group,
    }


def _target_down(meta: MetaMonitoring, job: Any, group: str) -> Alert:
    up = f'up{{job="{job.name}", instance="{job.name}-1:9999"}}'
    labels = {"job": job.name, "instance": f"{job.name}-1:9999"}
    minutes = int(duration_seconds(_scenario_at(meta.for_)) // 60) + 1
    return _derived(Alert(
        name=f"{camel(job.name)}TargetDown",
        expr=f'up{{job="{job.name}"}} == 0',
        for_=meta.for_,
        summary=f"A target of scrape job {job.name} is down.",
        description="{{ $labels.instance }} of job {{ $labels.job }} has failed every scrape for " + meta.for_
        + ": the alerts on its metrics cannot fire.",
        test=AlertTest(
            firing=AlertScenario(series={up: _samples(minutes, "0")}, labels=labels, value=0),
            quiet=AlertScenario(series={up: _samples(minutes, "1")}),
            at=_scenario_at(meta.for_),
        ),
        **_common(meta, job, group),
    ), job)


def _metrics_missing(meta: MetaMonitoring, job: Any, metrics: list[str], backend: list[str], group: str) -> Alert:
    terms = " or ".join(f'label_replace(absent({m}{{job="{job.name}"}}), "metric", "{m}", "", "")' for m in metrics)
    expr = f'({terms})\nand on () (max(up{{job="{job.name}"}}) == 1)'
    # An exporter's `<x>_up` at 0 is its backend down (pg_up, redis_up): the
    # exporter then exposes little else, and the backend's own alert says so.
    for name in backend:
        expr += f'\nunless on () (min({name}{{job="{job.name}"}}) == 0)'
    up = f'up{{job="{job.name}", instance="{job.name}-1:9999"}}'
    minutes = int(duration_seconds(_scenario_at(meta.absent_for)) // 60) + 1
    present = {f'{m}{{job="{job.name}", instance="{job.name}-1:9999"}}': _samples(minutes, "1") for m in metrics}
    first, rest = metrics[0], {k: v for k, v in present.items() if not k.startswith(metrics[0] + "{")}
    return _derived(Alert(
        name=f"{camel(job.name)}MetricsMissing",
        expr=expr,
        for_=meta.absent_for,
        summary=f"Scrape job {job.name} answers without metrics the alerts read.",
        description="{{ $labels.metric }} is absent from job {{ $labels.job }} although its targets are up: "
        "a collector is off, a permission is missing or the metric was renamed, and the alerts on it cannot fire.",
        test=AlertTest(
            # The exporter answers but one metric is gone.
            firing=AlertScenario(series={up: _samples(minutes, "1"), **rest}, labels={"job": job.name, "metric": first}, value=1),
            quiet=AlertScenario(series={up: _samples(minutes, "1"), **present}),
            # The target is down: TargetDown says so, this one stays quiet (one dead exporter, one alert);
            # likewise while the exporter's backend is down (its `<x>_up` at 0, the rest gone).
            also_quiet=(AlertScenario(series={up: _samples(minutes, "0")}),) + tuple(
                AlertScenario(series={up: _samples(minutes, "1"), f'{name}{{job="{job.name}", instance="{job.name}-1:9999"}}': _samples(minutes, "0")})
                for name in backend
            ),
            at=_scenario_at(meta.absent_for),
        ),
        **_common(meta, job, group),
    ), job)


def _probe_failing(meta: MetaMonitoring, probe: Any, group: str) -> Alert:
    target = next(iter(next(iter(probe.targets.values()))))
    labels = {"job": probe.name, "instance": target}
    success = 'probe_success{job="%s", instance="%s"}' % (probe.name, target)
    up = 'up{job="%s", instance="%s"}' % (probe.name, target)
    minutes = int(duration_seconds(_scenario_at(meta.for_)) // 60) + 1
    return _derived(Alert(
        name=f"{camel(probe.name)}ProbeFailing",
        expr=f'probe_success{{job="{probe.name}"}} == 0 or up{{job="{probe.name}"}} == 0',
        for_=meta.for_,
        summary=f"The {probe.name} probe fails.",
        description="Probing {{ $labels.instance }} ({{ $labels.job }}) has failed for " + meta.for_
        + ": the endpoint does not answer as expected, or the blackbox exporter cannot be reached.",
        test=AlertTest(
            firing=AlertScenario(series={success: _samples(minutes, "0"), up: _samples(minutes, "1")}, labels=labels, value=0),
            quiet=AlertScenario(series={success: _samples(minutes, "1"), up: _samples(minutes, "1")}),
            at=_scenario_at(meta.for_),
        ),
        **_common(meta, probe, group),
    ), probe)

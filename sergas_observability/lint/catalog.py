"""Every series a query can read, with its kind, labels, known label values and scrape jobs.

Which labels a stored series carries (the lint's central assumption, see the
README's "Lint" section):

- the labels its metric declares (plus `le` on histogram buckets and
  `quantile` on summaries);
- `job` and `instance`, which every scrape adds, and the static `labels` of
  the scrape jobs (or probes) that yield it; on the application's series,
  the deployment label (`Stack.deployments`), one of its names;
- NOT the environment's `external_labels` (`env`, `cluster`, ...):
  Prometheus attaches those only to what leaves it (alerts sent to
  Alertmanager, remote write, federation). A rule or a dashboard querying the
  environment's own Prometheus never sees them, so `{env="production"}`
  matches nothing there.

A recording rule's series carry the labels its expression yields (inferred by
`promql_refs`) plus the rule's own `labels`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from ..model import BlackboxProbe, Environment, Metric, MetricKind, ScrapeJob, Stack, duration_seconds
from ..model.metrics import SCRAPE_LABELS
from ..model.batch import BATCH_SERIES
from ..model.stack import BUILTIN_SERIES

Labels = frozenset[str]

# Durations are re-read for every selector of every alert in every environment.
seconds = lru_cache(maxsize=256)(duration_seconds)

# Kinds a series can have; the counter-like ones may be rate()d.
COUNTER_LIKE = frozenset({"counter", "histogram_bucket", "histogram_sum", "histogram_count", "summary_sum", "summary_count"})
# What the runtime label guard records for a value outside a label's declared
# values (sergas_observability.instrumentation); queries may select it.
OVERFLOW_VALUE = "__overflow__"


@dataclass
class Series:
    name: str
    kind: str  # counter | gauge | histogram_bucket | ... | recorded | builtin
    labels: Labels | None  # None: unknown, anything goes
    values: dict[str, frozenset[str]] = field(default_factory=dict)  # label -> every value it takes
    metric: Metric | None = None
    jobs: tuple[ScrapeJob | BlackboxProbe, ...] = ()
    recorded_by: object | None = None  # the RecordingRule


def _go_float(value: float) -> str:
    """How client libraries spell a bucket bound in `le` (1 -> 1.0, inf -> +Inf)."""
    text = repr(float(value))
    return text if "e" not in text else f"{value:g}"


class Catalog:
    """The series of one stack, by name."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self._scrape: dict[tuple[int, str, str | None], tuple[Series, float]] = {}
        self.external_labels: Labels = frozenset(k for env in stack.environments for k in env.external_labels)
        self.series: dict[str, Series] = {}
        for metric in stack.metrics:
            self._add_metric(metric)
        all_jobs = tuple(stack.scrape_jobs) + tuple(stack.probes)
        job_labels = frozenset(k for job in all_jobs for k in job.labels)
        job_names = frozenset(job.name for job in all_jobs)
        for name, labels in BUILTIN_SERIES.items():
            if name.startswith("ALERTS"):
                # ALERTS carries every alert's labels and its expression's labels: too open to check.
                self.series[name] = Series(name, "builtin", None)
            else:
                self.series[name] = Series(
                    name, "builtin", frozenset(labels) | job_labels, {"job": job_names}, jobs=all_jobs
                )
        # The instrumentation runtime's own counters, exposed by the application's scrape.
        app_jobs = tuple(job for job in stack.scrape_jobs if job.exporter == "app")
        for name, labels in stack.runtime_series().items():
            self.series[name] = Series(name, "counter", frozenset(labels) | SCRAPE_LABELS | job_labels,
                                       {"job": frozenset(j.name for j in app_jobs)}, jobs=app_jobs)
        # Batch runs push their reports under job="<batch job>"; the Pushgateway's scrape keeps that label.
        pushgateways = tuple(job for job in stack.scrape_jobs if job.honor_labels)
        for name, labels in (BATCH_SERIES if stack.batch_jobs else {}).items():
            batch = frozenset(b.name for b in stack.batch_jobs)
            self.series[name] = Series(name, "gauge", frozenset(labels), {"job": batch}, jobs=pushgateways)

    # -- metrics -----------------------------------------------------------------

    def jobs_for(self, metric: Metric) -> tuple[ScrapeJob | BlackboxProbe, ...]:
        """The scrape jobs (or probes) whose targets expose `metric`.

        Probes yield the blackbox exporter's `probe_*` series; its own
        process metrics come from scraping the exporter like any other.
        """
        exporter = metric.exporter or "app"
        if exporter == "blackbox_exporter" and metric.name.startswith("probe_"):
            return tuple(self.stack.probes)
        return tuple(job for job in self.stack.scrape_jobs if job.exporter == exporter)

    def _add_metric(self, metric: Metric) -> None:
        jobs = self.jobs_for(metric)
        base = frozenset(metric.label_names) | SCRAPE_LABELS | frozenset(k for job in jobs for k in job.labels)
        values: dict[str, frozenset[str]] = {"job": frozenset(job.name for job in jobs)}
        deployments = self.stack.deployments
        if deployments is not None and metric.exporter is None:  # the target label of every application series
            base |= {deployments.label}
            values[deployments.label] = frozenset(deployments.names)
        for label in metric.labels:
            if label.values is not None:
                extra = {OVERFLOW_VALUE} if metric.exporter is None else set()
                values[label.name] = frozenset(label.values) | extra
        kind = metric.kind

        def add(name: str, series_kind: str, labels: Labels, more: dict[str, frozenset[str]] | None = None) -> None:
            self.series[name] = Series(name, series_kind, labels, {**values, **(more or {})}, metric, jobs)

        if kind is MetricKind.HISTOGRAM:
            more = {}
            if metric.buckets is not None:
                more["le"] = frozenset(_go_float(b) for b in metric.buckets) | {"+Inf"}
            add(metric.name + "_bucket", "histogram_bucket", base | {"le"}, more)
            add(metric.name + "_sum", "histogram_sum", base)
            add(metric.name + "_count", "histogram_count", base)
        elif kind is MetricKind.SUMMARY:
            add(metric.name, "summary", base | {"quantile"})
            add(metric.name + "_sum", "summary_sum", base)
            add(metric.name + "_count", "summary_count", base)
        else:
            add(metric.name, kind.value, base)

    def add_recorded(self, record: str, rule: object, labels: Labels | None) -> None:
        self.series[record] = Series(record, "recorded", labels, recorded_by=rule)

    def get(self, name: str) -> Series | None:
        return self.series.get(name)

    # -- intervals -------------------------------------------------------------

    def scrape_seconds(self, series: Series, env: Environment, job: str | None = None) -> float:
        """The longest scrape interval, in `env`, of the jobs yielding `series` (only `job` when given)."""
        # Asked for every range read, of series that many jobs may yield. The entry holds the
        # series, so its id is not reused while the entry lives.
        key = (id(series), env.name, job)
        if key not in self._scrape:
            self._scrape[key] = (series, self._scrape_seconds(series, env, job))
        return self._scrape[key][1]

    def _scrape_seconds(self, series: Series, env: Environment, job: str | None) -> float:
        default = seconds(env.scrape_interval)
        intervals = [
            seconds(j.interval) if j.interval else default
            for j in series.jobs
            if env.name in j.targets and job in (None, j.name)
        ]
        return max(intervals, default=default)

    def worst_scrape_seconds(self, series: Series, job: str | None = None) -> float:
        """The longest scrape interval of the jobs yielding `series`, over every environment."""
        return max(self.scrape_seconds(series, env, job) for env in self.stack.environments)


def job_matcher(selector: object) -> str | None:
    """The job a selector (a promql_parser.VectorSelector) pins with job="...", if any."""
    for matcher in selector.matchers.matchers:  # type: ignore[attr-defined]
        if matcher.name == "job" and str(matcher.op).endswith(".Equal"):
            return str(matcher.value)
    return None

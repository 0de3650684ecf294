"""Batch jobs: backups, migrations, anything that runs and ends.

A batch job is not scraped while it runs; each run reports its outcome
(`sergas_observability.instrumentation.batch`) to the Prometheus
Pushgateway, grouped under `job="<name>"`, and a scrape job of the stack
with `honor_labels=True` collects it. What a run reports:

- `batch_job_last_success_timestamp_seconds`: when the last successful run ended;
- `batch_job_last_run_timestamp_seconds`, `batch_job_last_run_success` (1 or 0)
  and `batch_job_last_run_duration_seconds`: the last run, successful or not.

Each declared job gets `<Name>Failing` (its last run failed) and, when it has
a `max_age` (a backup's RPO), `<Name>Stale` (no success for longer than
that: the job stopped running, or stopped succeeding, or stopped reporting).
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from .alerts import Alert, AlertScenario, AlertTest
from .base import Definition, Duration, HttpUrl, after_check, duration_seconds
from .slo import camel
from .targets import _check_job_name

# The series the runtime pushes (one home: the runtime, which imports nothing of the generator).
from ..instrumentation.batch import LAST_RUN, LAST_RUN_DURATION, LAST_RUN_SUCCESS, LAST_SUCCESS
# What a run reports, with the labels the pushgateway and its scrape give it.
BATCH_SERIES: dict[str, tuple[str, ...]] = {
    name: ("job", "instance") for name in (LAST_SUCCESS, LAST_RUN, LAST_RUN_SUCCESS, LAST_RUN_DURATION)
}


class BatchJob(Definition):
    """A job that runs and ends, watched by what its runs report (see the module docstring).

    `max_age` is how old the last success may get (the RPO of a backup,
    the period of a scheduled job with slack); None for jobs run on demand
    (migrations), which get only the failure alert.
    """

    kind_name = "BatchJob"
    name: str
    service: str
    description: str
    severity: str
    runbook_url: HttpUrl
    max_age: Duration | None = None
    dashboard: str | None = None
    group: str = ""  # default: `<stack>-batch`

    _name = field_validator("name")(classmethod(lambda cls, v: _check_job_name(v)))

    @after_check
    def _sane(self) -> "BatchJob":
        if self.max_age is not None and duration_seconds(self.max_age) < 60:
            raise self.fail("max_age", f"max_age {self.max_age} is shorter than a minute: a job reports once a run")
        return self


def batch_alerts(stack: Any) -> tuple[Alert, ...]:
    """The alerts of every declared batch job."""
    alerts: list[Alert] = []
    for job in stack.batch_jobs:
        if job.invalid:
            continue
        group = job.group or f"{stack.name}-batch"
        alerts.append(_failing(job, group))
        if job.max_age is not None:
            alerts.append(_stale(job, group))
    return tuple(alerts)


def _derived(alert: Alert, job: BatchJob) -> Alert:
    alert._origin = job.origin
    alert._derived_from = job.describe()
    return alert


def _common(job: BatchJob, group: str) -> dict[str, Any]:
    return {"severity": job.severity, "service": job.service, "runbook_url": job.runbook_url,
            "dashboard": job.dashboard, "group": group}


def _series(name: str, job: BatchJob) -> str:
    return f'{name}{{job="{job.name}"}}'


def _failing(job: BatchJob, group: str) -> Alert:
    return _derived(Alert(
        name=f"{camel(job.name)}Failing",
        expr=f'{LAST_RUN_SUCCESS}{{job="{job.name}"}} == 0',
        for_="0s",
        no_for_reason="a run's outcome holds until the next run: waiting adds nothing but delay",
        summary=f"The last run of {job.name} failed.",
        description=f"{job.description} Its last run on {{{{ $labels.job }}}} failed; this holds until a run succeeds.",
        test=AlertTest(
            firing=AlertScenario(series={_series(LAST_RUN_SUCCESS, job): "1 1 0x5", _series(LAST_RUN_DURATION, job): "30x7"},
                                 labels={"job": job.name}, value=0),
            quiet=AlertScenario(series={_series(LAST_RUN_SUCCESS, job): "0 0 1x5", _series(LAST_RUN_DURATION, job): "30x7"}),
            at="5m",
        ),
        **_common(job, group),
    ), job)


def _stale(job: BatchJob, group: str) -> Alert:
    assert job.max_age is not None
    limit = duration_seconds(job.max_age)
    margin = min(10 * 60, limit / 2)  # how far from max_age each scenario's last success lies
    return _derived(Alert(
        name=f"{camel(job.name)}Stale",
        expr=f'time() - {LAST_SUCCESS}{{job="{job.name}"}} > {limit:g}',
        for_="0s",
        no_for_reason="the age is already measured against max_age; waiting longer only delays past it",
        summary=f"{job.name} has not succeeded for longer than {job.max_age}.",
        description=f"{job.description} Its last success was {{{{ $value | humanizeDuration }}}} ago (allowed: {job.max_age}).",
        test=AlertTest(
            # promtool's clock starts at 0, so a success before the test has a negative
            # timestamp: no need to replay max_age of minutes. At 5m the age is
            # max_age + 15m (firing) or max_age - 5m (quiet): the threshold itself is proven.
            firing=AlertScenario(series={_series(LAST_SUCCESS, job): f"{-(limit + margin):g}x10"}, labels={"job": job.name},
                                 value=limit + margin + 5 * 60),
            quiet=AlertScenario(series={_series(LAST_SUCCESS, job): f"{-(limit - margin):g}x10"}),
            at="5m",
        ),
        **_common(job, group),
    ), job)

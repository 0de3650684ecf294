"""Deployments side by side, and the rollouts that move traffic between them.

`Deployments` declares, once per Stack, the label that tells the
application's deployments apart (blue, green, canary) and where its value
comes from: in Kubernetes a pod label the scrape copies into the target's
labels; elsewhere the static targets a `ScrapeJob` lists per deployment
(`ScrapeJob.deployments`). Every series of the application then carries it.

A `Rollout` is the seed's deploy flow as data: steps of traffic share and
monitoring time, and the checks that judge the candidate deployment. Each
check is an SLI - an SLO's (by its key) or one of its own - counted per
deployment. The candidate fails a check when, with at least `min_events`
events in the step's window, its error ratio is above what the objective
allows (`max_burn` times the error budget) or above the baseline's by more
than `margin`. Too few events is no verdict (undecided).
"""

from __future__ import annotations

import re

from pydantic import field_validator

from .base import Definition, Duration, HttpUrl, LabelName, Slug, after_check, duration_seconds
from .slo import SLI


# What the rollout compiler records per deployment (with the Stack's deployment
# label besides these), readable by dashboards and alerts like any recorded series.
EVENTS_RECORD = "rollout:sli_events:rate5m"  # event="bad"|"total": events per second over 5m
ERROR_RATIO_RECORD = "rollout:sli_error:ratio_rate5m"  # bad / total over 5m, only while there is traffic
ALERT_WINDOW = "5m"
ROLLOUT_LABELS = ("rollout", "check")
RECORDED_SERIES: dict[str, tuple[str, ...]] = {
    EVENTS_RECORD: ROLLOUT_LABELS + ("event",),
    ERROR_RATIO_RECORD: ROLLOUT_LABELS,
}


class Deployments(Definition):
    """The application's deployments that may run side by side, and the label naming them.

    `pod_label`: the Kubernetes pod label holding the deployment's name (the
    ServiceMonitor copies it into `label`). Static targets name theirs in
    `ScrapeJob.deployments`.
    """

    kind_name = "Deployments"
    label: LabelName = "deployment"
    names: tuple[Slug, ...] = ("blue", "green", "canary")
    pod_label: str = "deployment"

    @field_validator("names")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one deployment")
        if len(set(value)) != len(value):
            raise ValueError("a deployment is named twice")
        return value

    @field_validator("pod_label")
    @classmethod
    def _pod_label(cls, value: str) -> str:
        if not re.fullmatch(r"([a-z0-9.-]+/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?", value):
            raise ValueError(f"'{value}' is not a Kubernetes label key")
        return value


class RolloutStep(Definition):
    """Send `traffic` percent of requests to the candidate, then watch it for `monitor`."""

    kind_name = "RolloutStep"
    traffic: float
    monitor: Duration

    @field_validator("traffic")
    @classmethod
    def _percent(cls, value: float) -> float:
        if not 0 < value <= 100:
            raise ValueError(f"{value} is not a share of traffic in (0, 100] percent")
        return value

    @field_validator("monitor")
    @classmethod
    def _positive(cls, value: str) -> str:
        if duration_seconds(value) <= 0:
            raise ValueError("a step is watched for some time: give a duration above 0s")
        return value


class RolloutCheck(Definition):
    """One SLI the candidate is judged by: an SLO's (`slo`, its key 'service/name')
    or its own (`sli` with an `objective` in percent)."""

    kind_name = "RolloutCheck"
    name: Slug
    slo: str = ""
    sli: SLI | None = None
    objective: float | None = None  # percent; default the SLO's
    max_burn: float = 1.0  # the candidate's error ratio may be this many error budgets
    margin: float | None = None  # ... and above the baseline's by this share of events (default: one error budget)
    min_events: int = 100  # the candidate's events in the window before any verdict

    @field_validator("objective")
    @classmethod
    def _percent(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 100:
            raise ValueError(f"{value} is not a percentage in (0, 100), e.g. 99.5")
        return value

    @field_validator("max_burn")
    @classmethod
    def _burn(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("max_burn is a multiple of the error budget: above 0")
        return value

    @field_validator("margin")
    @classmethod
    def _margin(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value < 1:
            raise ValueError(f"margin is a share of events in [0, 1), e.g. 0.005; not {value}")
        return value

    @field_validator("min_events")
    @classmethod
    def _events(cls, value: int) -> int:
        if value < 1:
            raise ValueError("min_events is a count of events: 1 or more")
        return value

    @after_check
    def _one_source(self) -> "RolloutCheck":
        if bool(self.slo) == (self.sli is not None):
            raise self.fail("slo", "give either slo (an SLO's key, 'service/name') or sli with an objective")
        if self.sli is not None and self.objective is None:
            raise self.fail("objective", "a check with its own sli needs an objective (percent)")
        return self


class Rollout(Definition):
    """A progressive rollout of the application from `baseline` to `candidate`.

    The deploy scripts switch traffic; `sergas-obs gate` says after each step
    whether the candidate is healthy. While two deployments take traffic,
    the alert of each check (severity `severity`) fires when one of them is
    clearly worse than the others, so a rollout nobody watches still stops.
    """

    kind_name = "Rollout"
    name: Slug
    service: str  # what its alerts name (routing groups by it)
    steps: tuple[RolloutStep, ...]
    checks: tuple[RolloutCheck, ...]
    baseline: str = "blue"
    candidate: str = "green"
    severity: str
    runbook_url: HttpUrl
    alert_for: Duration = "2m"
    description: str = ""

    @after_check
    def _consistent(self) -> "Rollout":
        if not self.steps:
            raise self.fail("steps", "a rollout has at least one step")
        shares = [step.traffic for step in self.steps]
        if shares != sorted(shares) or len(set(shares)) != len(shares):
            raise self.fail("steps", f"each step sends the candidate more traffic than the one before (got {shares})")
        if not self.checks:
            raise self.fail("checks", "a rollout judges the candidate by at least one check")
        names = [check.name for check in self.checks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise self.fail("checks", f"check '{twice[0]}' is named twice")
        if self.baseline == self.candidate:
            raise self.fail("candidate", f"the candidate is the baseline ('{self.candidate}')")
        return self


__all__ = ["ALERT_WINDOW", "ERROR_RATIO_RECORD", "EVENTS_RECORD", "RECORDED_SERIES", "Deployments", "Rollout", "RolloutCheck", "RolloutStep"]

"""What Prometheus scrapes: plain scrape jobs and blackbox probes."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from .base import after_check, Definition, Duration, LabelSet, duration_seconds

_JOB_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def _check_job_name(value: str) -> str:
    if not value or not set(value) <= _JOB_CHARS:
        raise ValueError(f"job name '{value}' must be lower-case letters, digits, '-' or '_'")
    return value


def _check_targets(targets: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    for env, addresses in targets.items():
        if not addresses:
            raise ValueError(f"environment '{env}' lists no targets; leave it out instead")
        if len(set(addresses)) != len(addresses):
            raise ValueError(f"environment '{env}' lists a target twice")
    return targets


class ScrapeJob(Definition):
    """A Prometheus scrape job with static targets per environment.

    `exporter` says whose metrics the job yields ('app' for the application,
    otherwise the exporter catalog name); the lint and the docs use it.

    `deployments` lists an environment's targets per deployment instead
    (environment -> deployment -> addresses, names from `Stack.deployments`):
    each target's series then carry the deployment label, as a pod label
    gives them in Kubernetes. Those addresses are the environment's targets.
    """

    kind_name = "ScrapeJob"
    name: str
    targets: dict[str, tuple[str, ...]]
    exporter: str = "app"
    interval: Duration | None = None
    timeout: Duration | None = None
    metrics_path: str = "/metrics"
    scheme: Literal["http", "https"] = "http"
    labels: LabelSet = {}
    honor_labels: bool = False
    # Meta-monitoring (model/meta.py): its alerts, their severity and the service they name.
    meta: bool = True
    meta_severity: str | None = None
    service: str | None = None
    deployments: dict[str, dict[str, tuple[str, ...]]] = {}

    _name = field_validator("name")(classmethod(lambda cls, v: _check_job_name(v)))
    _targets = field_validator("targets")(classmethod(lambda cls, v: _check_targets(v)))

    @field_validator("deployments")
    @classmethod
    def _deployment_targets(cls, value: dict[str, dict[str, tuple[str, ...]]]) -> dict[str, dict[str, tuple[str, ...]]]:
        for env, by_deployment in value.items():
            if not by_deployment:
                raise ValueError(f"environment '{env}' lists no deployments; leave it out instead")
            _check_targets({f"{env}' deployment '{name}": addresses for name, addresses in by_deployment.items()})
            every = [a for addresses in by_deployment.values() for a in addresses]
            if len(set(every)) != len(every):
                raise ValueError(f"environment '{env}' lists a target under two deployments")
        return value

    @after_check
    def _targets_of_deployments(self) -> "ScrapeJob":
        # An environment's deployments are its targets; given in both, they must agree.
        merged = dict(self.targets)
        for env, by_deployment in self.deployments.items():
            addresses = tuple(a for group in by_deployment.values() for a in group)
            if env in merged and set(merged[env]) != set(addresses):
                raise self.fail("deployments", f"environment '{env}' has other targets in `targets`; give them in one place")
            merged.setdefault(env, addresses)
        if merged != self.targets:
            object.__setattr__(self, "targets", merged)
        return self

    def deployment_of(self, env: str) -> dict[str, str]:
        """address -> deployment, for the targets of `env` that name one."""
        return {a: name for name, addresses in self.deployments.get(env, {}).items() for a in addresses}

    @field_validator("metrics_path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("metrics_path must start with '/'")
        return value

    @after_check
    def _timeout_within_interval(self) -> "ScrapeJob":
        if self.interval and self.timeout and duration_seconds(self.timeout) > duration_seconds(self.interval):
            raise self.fail("timeout", f"timeout {self.timeout} is longer than interval {self.interval}")
        return self


class BlackboxProbe(Definition):
    """URLs probed through the blackbox exporter with one of its modules.

    Compiles to the usual relabelling: each URL becomes `__param_target` and the
    `instance` label, and the scrape goes to the blackbox exporter's /probe.
    """

    kind_name = "BlackboxProbe"
    name: str
    module: str
    targets: dict[str, tuple[str, ...]]
    exporter_address: dict[str, str]
    interval: Duration | None = None
    timeout: Duration | None = None
    labels: LabelSet = {}
    meta: bool = True
    meta_severity: str | None = None
    service: str | None = None

    _name = field_validator("name")(classmethod(lambda cls, v: _check_job_name(v)))
    _targets = field_validator("targets")(classmethod(lambda cls, v: _check_targets(v)))

    @after_check
    def _exporter_for_every_environment(self) -> "BlackboxProbe":
        missing = sorted(set(self.targets) - set(self.exporter_address))
        if missing:
            raise self.fail("exporter_address", f"no exporter_address for environment '{missing[0]}'")
        if self.interval and self.timeout and duration_seconds(self.timeout) > duration_seconds(self.interval):
            raise self.fail("timeout", f"timeout {self.timeout} is longer than interval {self.interval}")
        return self

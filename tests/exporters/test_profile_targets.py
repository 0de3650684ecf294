"""profiles.e2e aims each scrape job at its own targets, as the exporter rig needs; fast, no servers."""

from __future__ import annotations

from typing import Any

import pytest

from sergas_observability import profiles
from sergas_observability.compile import prometheus
from sergas_observability.model import DefinitionError, Stack, duration_seconds

APP = "127.0.0.1:18080"
PG = "127.0.0.1:19187"
REDIS = "127.0.0.1:19121"
AM = "127.0.0.1:19093"
HOOKS = "http://127.0.0.1:15001/"


def _scraped(profile: Stack) -> list[tuple[str, list[str]]]:
    config = prometheus.config(profile, profile.environments[0])
    return [(c["job_name"], [t for s in c["static_configs"] for t in s["targets"]]) for c in config["scrape_configs"]]


def test_each_job_named_in_targets_is_scraped_at_its_own_address(stack: Stack) -> None:
    profile = profiles.e2e(stack, alertmanager=AM, webhook_base=HOOKS, targets={"redis-exporter": (REDIS,), "postgres-exporter": (PG,)})
    assert _scraped(profile) == [("postgres-exporter", [PG]), ("redis-exporter", [REDIS])]  # in the stack's order


def test_jobs_without_their_own_targets_are_aimed_at_app_targets(stack: Stack) -> None:
    profile = profiles.e2e(
        stack, app_targets=(APP,), alertmanager=AM, webhook_base=HOOKS,
        jobs=("sergas-app", "postgres-exporter"), targets={"postgres-exporter": (PG,)},
    )
    assert _scraped(profile) == [("sergas-app", [APP]), ("postgres-exporter", [PG])]


def test_without_targets_the_profile_is_as_before(stack: Stack) -> None:
    profile = profiles.e2e(stack, app_targets=(APP,), alertmanager=AM, webhook_base=HOOKS)
    assert _scraped(profile) == [("sergas-app", [APP])]


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"targets": {"postgres-exportr": (PG,)}}, "unknown job 'postgres-exportr'"),
        ({"targets": {"postgres-exporter": (PG,)}, "jobs": ("redis-exporter",)}, "targets for job 'postgres-exporter', which `jobs` leaves out"),
        ({"targets": {"postgres-exporter": (PG,)}, "jobs": ("postgres-exporter", "redis-exporter")}, "no targets for job 'redis-exporter'"),
    ],
)
def test_targets_that_cannot_be_scraped_are_definition_errors(stack: Stack, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        profiles.e2e(stack, alertmanager=AM, webhook_base=HOOKS, **arguments)


def test_every_alert_of_the_profile_waits_at_most_alert_for(stack: Stack) -> None:
    """Declared alerts and those derived from the scrape jobs (meta-monitoring) alike."""
    profile = profiles.e2e(stack, alertmanager=AM, webhook_base=HOOKS, targets={"postgres-exporter": (PG,)})
    alerts = getattr(profile, "all_alerts", profile.alerts)
    assert alerts
    slow = [(a.name, a.for_) for a in alerts if duration_seconds(a.for_) > 2]
    assert slow == []

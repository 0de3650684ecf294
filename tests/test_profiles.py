"""The e2e profile changes timing and addresses only, and its configs pass promtool and amtool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sergas_observability import profiles, toolchain
from sergas_observability.compile import alertmanager, prometheus, rules
from sergas_observability.model import DefinitionError, Stack, WebhookReceiver, duration_seconds
from sergas_observability.output import render_all, write_tree

APP = "127.0.0.1:18080"
AM = "127.0.0.1:19093"
HOOKS = "http://127.0.0.1:15001/"
TIMING_KEYS = {"group_wait", "group_interval", "repeat_interval"}


@pytest.fixture(scope="module")
def profile(stack: Stack) -> Stack:
    return profiles.e2e(stack, app_targets=(APP,), alertmanager=AM, webhook_base=HOOKS)


def _production(stack: Stack) -> Any:
    return next(env for env in stack.environments if env.name == "production")


def _without_timing(route: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in route.items() if k not in TIMING_KEYS}
    if "routes" in out:
        out["routes"] = [_without_timing(r) for r in out["routes"]]
    return out


def test_one_fast_loopback_environment_that_pages(profile: Stack) -> None:
    (env,) = profile.environments
    assert env.name == "e2e" and env.paging and env.external_labels["env"] == "e2e"
    assert (env.scrape_interval, env.evaluation_interval, env.alertmanagers) == ("1s", "1s", (AM,))
    config = prometheus.config(profile, env)
    assert config["scrape_configs"] == [
        {"job_name": "sergas-app", "metrics_path": "/metrics", "scheme": "http", "static_configs": [{"targets": [APP]}]}
    ]
    assert config["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": [AM]}]}]
    # The real stack remote-writes to a central Mimir; the profile must stay on loopback.
    assert profile.central is None and "remote_write" not in config


def test_rules_differ_only_in_for(stack: Stack, profile: Stack) -> None:
    real, quick = rules.compile(stack), rules.compile(profile)
    assert real.keys() == quick.keys()
    real_rules = [r for g in real[rules.ALERTS_FILE]["groups"] for r in g["rules"]]
    quick_rules = [r for g in quick[rules.ALERTS_FILE]["groups"] for r in g["rules"]]
    assert len(real_rules) == len(quick_rules) == len(stack.all_alerts)  # meta-alerts of unscraped jobs too
    for before, after in zip(real_rules, quick_rules):
        assert {k: v for k, v in before.items() if k != "for"} == {k: v for k, v in after.items() if k != "for"}
        if "for" in before:  # an alert without `for` says why, and keeps it that way
            assert 0 < duration_seconds(after["for"]) <= min(2, duration_seconds(before["for"]))
        else:
            assert "for" not in after
    assert real[rules.RECORDING_FILE] == quick[rules.RECORDING_FILE]


def test_routing_and_inhibition_are_production_s(stack: Stack, profile: Stack) -> None:
    real = alertmanager.config(stack, _production(stack))
    quick = alertmanager.config(profile, profile.environments[0])
    assert _without_timing(quick["route"]) == _without_timing(real["route"])
    assert quick["inhibit_rules"] == real["inhibit_rules"]
    for route in quick["route"]["routes"]:
        assert duration_seconds(route["group_wait"]) <= 1 and duration_seconds(route["group_interval"]) <= 2


def test_receivers_keep_names_and_resolved_setting_as_webhooks(stack: Stack, profile: Stack) -> None:
    assert [r.name for r in profile.receivers] == [r.name for r in stack.receivers]
    for before, after in zip(stack.receivers, profile.receivers):
        assert isinstance(after, WebhookReceiver)
        assert after.url == f"http://127.0.0.1:15001/{before.name}"
        assert after.send_resolved == before.send_resolved


def test_unknown_job_is_a_definition_error(stack: Stack) -> None:
    with pytest.raises(DefinitionError, match="unknown job 'sergas-ap'"):
        profiles.e2e(stack, app_targets=(APP,), alertmanager=AM, webhook_base=HOOKS, jobs=("sergas-ap",))


def test_promtool_and_amtool_accept_the_profile(profile: Stack, tmp_path: Path) -> None:
    documents = {**prometheus.compile(profile), **rules.compile(profile), **alertmanager.compile(profile)}
    write_tree(render_all(documents), tmp_path / "out")
    assert toolchain.check_config(tmp_path / "out/prometheus/e2e/prometheus.yml") == []
    assert toolchain.check_alertmanager(tmp_path / "out/alertmanager/e2e/alertmanager.yml") == []


def test_only_one_environment_compiles_as_before(stack: Stack) -> None:
    production = _production(stack)
    alone = profiles.only(stack, "production")
    assert [env.name for env in alone.environments] == ["production"]
    assert prometheus.config(alone, production) == prometheus.config(stack, production)
    assert alertmanager.config(alone, production) == alertmanager.config(stack, production)
    assert rules.compile(alone) == rules.compile(stack)
    development = profiles.only(stack, "development")
    assert development.central is None  # development never shipped to the central store
    with pytest.raises(DefinitionError, match="no environment 'prod'"):
        profiles.only(stack, "prod")

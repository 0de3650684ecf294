"""alertmanager.yml per environment: valid for amtool, routing of seed section 4.3."""

from pathlib import Path

import pytest
import yaml

from sergas_observability import toolchain

ROUTING = {"P0": ["pagerduty", "slack", "email"], "P1": ["slack", "email"], "P2": ["slack"]}


def _path(tree, env) -> Path:
    return tree / "alertmanager" / env / "alertmanager.yml"


def test_every_environment_passes_amtool(stack, tree):
    for env in stack.environments:
        assert toolchain.check_alertmanager(_path(tree, env.name)) == [], env.name


@pytest.mark.parametrize("severity", sorted(ROUTING))
def test_production_routes_each_severity_to_exactly_its_receivers(tree, severity):
    labels = {"alertname": "Test", "severity": severity, "service": "sergas-app", "env": "production"}
    path = _path(tree, "production")
    assert toolchain.verify_routes(path, labels, ROUTING[severity]) == []
    assert toolchain.routes(path, labels) == ROUTING[severity]


def test_verify_routes_reports_a_mismatch(tree):
    labels = {"alertname": "Test", "severity": "P0", "service": "x"}
    assert toolchain.verify_routes(_path(tree, "production"), labels, ["slack"]) != []


@pytest.mark.parametrize("env", ["staging", "development"])
def test_staging_and_development_never_page(tree, env):
    config = yaml.safe_load(_path(tree, env).read_text())
    assert "pagerduty" not in {r["name"] for r in config["receivers"]}
    for severity in ROUTING:
        reached = toolchain.routes(_path(tree, env), {"alertname": "T", "severity": severity, "service": "s"})
        assert "pagerduty" not in reached
        assert reached == [r for r in ROUTING[severity] if r != "pagerduty"]


def test_p0_inhibits_lower_severities_of_the_same_service(tree):
    config = yaml.safe_load(_path(tree, "production").read_text())
    p0 = next(r for r in config["inhibit_rules"] if r["source_matchers"] == ['severity="P0"'])
    assert p0["target_matchers"] == ['severity=~"P1|P2"']
    assert "service" in p0["equal"]


def test_secrets_are_only_file_references(stack, tree):
    for env in stack.environments:
        text = _path(tree, env.name).read_text()
        for inline in ("routing_key:", "api_url:", "auth_password:", "service_key:"):
            assert inline not in text, (env.name, inline)
    prod = yaml.safe_load(_path(tree, "production").read_text())
    by_name = {r["name"]: r for r in prod["receivers"]}
    assert by_name["pagerduty"]["pagerduty_configs"][0]["routing_key_file"].startswith("/")
    assert by_name["slack"]["slack_configs"][0]["api_url_file"].startswith("/")
    assert by_name["email"]["email_configs"][0]["auth_password_file"].startswith("/")


def test_environment_overrides_change_the_slack_channel(tree):
    staging = yaml.safe_load(_path(tree, "staging").read_text())
    slack = next(r for r in staging["receivers"] if r["name"] == "slack")
    assert slack["slack_configs"][0]["channel"] == "#sergas-alerts-staging"


def test_a_paging_webhook_is_dropped_where_an_environment_never_pages(tmp_path):
    """A webhook into a paging service (paging=True) pages like PagerDuty: staging routes without it (amtool says so)."""
    from sergas_observability.compile import alertmanager
    from sergas_observability.model import Environment, Severity, Stack, WebhookReceiver
    from sergas_observability.output import render_all, write_tree

    stack = Stack(
        name="hooks",
        environments=(Environment(name="prod", external_labels={"env": "prod"}),
                      Environment(name="stage", external_labels={"env": "stage"}, paging=False)),
        receivers=(WebhookReceiver(name="oncall", url="https://oncall.example/hook", paging=True),
                   WebhookReceiver(name="chat", url="https://chat.example/hook")),
        severities=(Severity(name="page", description="Wake someone.", receivers=("oncall", "chat")),),
        default_receiver="chat",
    )
    write_tree(render_all(alertmanager.compile(stack)), tmp_path)
    routes = {env: toolchain.routes(tmp_path / f"alertmanager/{env}/alertmanager.yml", {"severity": "page", "env": env})
              for env in ("prod", "stage")}
    assert routes == {"prod": ["oncall", "chat"], "stage": ["chat"]}

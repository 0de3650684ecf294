"""The central view: staging and production remote-write to a central store, Grafana can query it."""

import pytest
import yaml

from sergas_observability.lint import ensure_valid
from sergas_observability import toolchain
from sergas_observability.model import CentralMetrics, DefinitionError


def _config(tree, env):
    return yaml.safe_load((tree / "prometheus" / env / "prometheus.yml").read_text())


def test_listed_environments_remote_write_with_the_password_in_a_file(stack, tree):
    for env in stack.environments:
        config = _config(tree, env.name)
        if env.name in stack.central.environments:
            (target,) = config["remote_write"]
            assert target["url"] == stack.central.remote_write_url
            assert "headers" not in target  # no tenant: a VictoriaMetrics single node
            assert target["basic_auth"]["password_file"].startswith("/")
            assert "password" not in target["basic_auth"]
            # external labels are what keeps the environments apart centrally
            assert config["global"]["external_labels"]["env"] == env.name
        else:
            assert "remote_write" not in config
        assert toolchain.check_config(tree / "prometheus" / env.name / "prometheus.yml") == []
    assert "development" not in stack.central.environments


def test_promtool_rejects_a_broken_remote_write(tree, tmp_path):
    broken = tmp_path / "prometheus.yml"
    broken.write_text((tree / "prometheus/production/prometheus.yml").read_text().replace("url: https://metrics", "url: ://metrics"))
    assert toolchain.check_config(broken) != []


def test_grafana_gets_a_datasource_for_the_central_view(stack, tree):
    doc = yaml.safe_load((tree / "grafana/provisioning/datasources/prometheus.yml").read_text())
    by_uid = {d["uid"]: d for d in doc["datasources"]}
    assert by_uid["prometheus"]["isDefault"] is True
    central = by_uid["central"]
    assert central["url"] == stack.central.query_url and central["isDefault"] is False
    assert "httpHeaderName1" not in central["jsonData"]


def test_a_tenant_travels_as_mimirs_header_to_prometheus_and_grafana(stack):
    from sergas_observability.compile import grafana, prometheus

    mimir = CentralMetrics(remote_write_url="https://mimir.example/api/v1/push", query_url="https://mimir.example/prometheus",
                           environments=("production",), tenant="team-a")
    tenanted = ensure_valid(type(stack)(**{**dict(stack), "central": mimir}))
    production = next(e for e in tenanted.environments if e.name == "production")
    assert prometheus.config(tenanted, production)["remote_write"][0]["headers"] == {"X-Scope-OrgID": "team-a"}
    doc = grafana.compile(tenanted)["grafana/provisioning/datasources/prometheus.yml"]
    central = next(d for d in doc["datasources"] if d["uid"] == "central")
    assert central["jsonData"]["httpHeaderName1"] == "X-Scope-OrgID" and central["secureJsonData"]["httpHeaderValue1"] == "team-a"


def test_unknown_environment_and_inline_paths_are_rejected(stack):
    with pytest.raises(DefinitionError, match="CentralMetrics field 'environments': unknown environment 'prod'"):
        ensure_valid(type(stack)(**{**dict(stack), "central": CentralMetrics(
            remote_write_url="https://m/api/v1/push", query_url="https://m/prometheus", environments=("prod",))}))
    with pytest.raises(DefinitionError, match="field 'password_file'"):
        CentralMetrics(remote_write_url="https://m", query_url="https://m", environments=("staging",), password_file="secret.txt")

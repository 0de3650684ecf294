"""compose/: the docker-compose monitoring stack, validated offline.

`docker-compose config` (Debian's docker-compose 1.29) validates the file
against the compose schema without an engine. Nothing here starts a
container: no engine runs on these machines. What can be checked offline is:
the file is valid; every file it mounts from generated/ exists and is the one
the generated configs expect; the secrets land where the configs read them;
the blackbox modules are the ones the probes use; images are pinned.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sergas_observability.lint import ensure_valid
from sergas_observability.compile import alertmanager, compose, grafana, prometheus
from sergas_observability.model import BlackboxProbe, DefinitionError


def _docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.fail("docker-compose is missing: apt-get install -y --no-install-recommends docker-compose (or `make tools`)")
    return path


def _config(folder: Path, name: str = "docker-compose.yml") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_docker_compose(), "-f", name, "config", "-q"], cwd=folder, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def stack_file(tree) -> dict[str, Any]:
    return yaml.safe_load((tree / "compose/docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def env(stack):
    return compose.environment(stack)


def test_docker_compose_accepts_the_file(tree):
    result = _config(tree / "compose")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "mutation",
    [
        lambda d: d["services"]["prometheus"].update(helthcheck={}),  # unknown key
        lambda d: d["services"]["grafana"]["healthcheck"].update(retries="three"),  # wrong type
        lambda d: d["services"]["prometheus"].update(depends_on=["alertmanagr"]),  # unknown service
        lambda d: d["services"]["prometheus"].update(ports=["90a90:9090"]),
    ],
)
def test_docker_compose_rejects_a_broken_file(stack_file, mutation, tmp_path):
    # (It does not notice an undeclared secret: test_secrets_... checks that.)
    broken = yaml.safe_load(yaml.safe_dump(stack_file))
    mutation(broken)
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    assert _config(tmp_path, "broken.yml").returncode != 0


def test_the_seed_services_on_the_seed_ports(stack_file):
    expected = {
        "prometheus": 9090, "alertmanager": 9093, "grafana": 3000, "node-exporter": 9100, "cadvisor": 8080,
        "redis-exporter": 9121, "postgres-exporter": 9187, "blackbox-exporter": 9115,
        "pushgateway": 9091,  # where the batch jobs report (seed section 8)
    }
    services = stack_file["services"]
    assert set(services) == set(expected)
    for name, port in expected.items():
        assert services[name]["ports"] == [f"{port}:{port}"], name


def test_images_are_pinned_and_every_service_has_a_healthcheck(stack_file):
    for name, service in stack_file["services"].items():
        image, _, tag = service["image"].rpartition(":")
        assert image and re.fullmatch(r"v?\d+\.\d+\.\d+(-[a-z]+)?", tag), service["image"]
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD" and f"localhost:{service['ports'][0].split(':')[1]}" in test[-1], name


def _mount_source(service: dict[str, Any], target: str) -> str:
    for volume in service["volumes"]:
        source, container, *_ = volume.split(":")
        if container == target or target.startswith(container.rstrip("/") + "/"):
            return source + target[len(container):]
    raise AssertionError(f"{target} is not mounted")


def test_prometheus_runs_the_generated_config_with_the_environment_retention(tree, stack_file, env):
    service = stack_file["services"]["prometheus"]
    config_file = next(f for f in service["command"] if f.startswith("--config.file=")).split("=", 1)[1]
    assert service["command"] == prometheus.start_flags(env, config_file=config_file)
    assert f"--storage.tsdb.retention.time={env.retention}" in service["command"]
    host_config = tree / "compose" / _mount_source(service, config_file)
    assert host_config.resolve() == (tree / "prometheus" / env.name / "prometheus.yml").resolve()
    # The rule files the config names must be inside the mount too.
    config = yaml.safe_load(host_config.read_text())
    for pattern in config["rule_files"]:
        container_glob = posixpath.normpath(posixpath.join(posixpath.dirname(config_file), pattern))
        host_rules = sorted(p.resolve() for p in (tree / "compose").glob(_mount_source(service, container_glob)))
        assert host_rules == sorted(p.resolve() for p in (tree / "prometheus/rules").glob("*.yml")) != []


def test_alertmanager_and_grafana_mount_what_was_generated(tree, stack_file, env):
    services = stack_file["services"]
    am = tree / "compose" / _mount_source(services["alertmanager"], "/etc/alertmanager/alertmanager.yml")
    assert am.resolve() == (tree / "alertmanager" / env.name / "alertmanager.yml").resolve()
    provisioning = tree / "compose" / _mount_source(services["grafana"], "/etc/grafana/provisioning")
    assert (provisioning / "datasources/prometheus.yml").is_file()
    dashboards = tree / "compose" / _mount_source(services["grafana"], grafana.DASHBOARDS_PATH)
    assert sorted(p.name for p in dashboards.glob("*.json")) == sorted(p.name for p in (tree / "grafana/dashboards").glob("*.json"))
    # Grafana's datasource points at the compose service.
    datasources = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"]
    assert datasources[0]["url"] == f"http://prometheus:{services['prometheus']['ports'][0].split(':')[1]}"


def test_scrape_targets_are_the_compose_services(tree, stack, stack_file, env):
    """The environment the stack runs scrapes exactly the services it starts."""
    services = stack_file["services"]
    for job in stack.scrape_jobs:
        if env.name in job.targets and job.exporter in compose.EXPORTER_SERVICES:
            name = compose.EXPORTER_SERVICES[job.exporter]
            assert job.targets[env.name] == (f"{name}:{services[name]['ports'][0].split(':')[1]}",), job.name
    for probe in stack.probes:
        if env.name in probe.targets:
            assert probe.exporter_address[env.name] == "blackbox-exporter:9115"
    assert env.alertmanagers == ("alertmanager:9093",)


def test_secrets_are_files_where_the_configs_read_them(stack_file, stack, env):
    declared = stack_file["secrets"]
    for name, secret in declared.items():
        assert secret == {"file": f"./secrets/{name}"}
    mounted = {m["target"]: m["source"] for m in stack_file["services"]["alertmanager"]["secrets"]}
    wanted = compose.secret_files(alertmanager.config(stack, env))
    assert wanted and set(mounted) == set(wanted)
    assert set(mounted.values()) <= set(declared)
    grafana_env = stack_file["services"]["grafana"]["environment"]
    assert grafana_env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == f"/run/secrets/{compose.GRAFANA_ADMIN_SECRET}"
    for service in stack_file["services"].values():  # credentials only ever as *_FILE paths
        for key, value in service.get("environment", {}).items():
            if re.search(r"PASS|SECRET|TOKEN|KEY", key):
                assert key.endswith("_FILE") and value.startswith("/run/secrets/"), key


def test_blackbox_modules_match_the_probes(tree, stack, env):
    modules = yaml.safe_load((tree / "compose/blackbox.yml").read_text())["modules"]
    used = {p.module for p in stack.probes if env.name in p.targets}
    assert set(modules) == used != set()
    config = yaml.safe_load((tree / "prometheus" / env.name / "prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        for module in job.get("params", {}).get("module", []):
            assert module in modules
    for module in modules.values():
        assert module["prober"] in module and module["timeout"]


def test_an_unknown_blackbox_module_is_named_in_the_error(stack, env):
    probe = BlackboxProbe(name="odd", module="http_3xx", targets={env.name: ("http://x",)}, exporter_address={env.name: "b:9115"})
    with pytest.raises(DefinitionError) as error:
        ensure_valid(stack.model_copy(update={"probes": stack.probes + (probe,)}))
    assert "BlackboxProbe 'odd'" in str(error.value) and "module" in str(error.value) and "http_3xx" in str(error.value)


def test_an_unknown_compose_environment_is_named_in_the_error(stack):
    from sergas_observability.model import Stack
    from sergas_observability.model.platforms import ComposeSettings

    fields = {name: getattr(stack, name) for name in type(stack).model_fields}
    with pytest.raises(DefinitionError) as error:
        ensure_valid(Stack(**{**fields, "compose": ComposeSettings(environment="prodution")}))
    assert "Compose" in str(error.value) and "environment" in str(error.value) and "did you mean 'production'" in str(error.value)


def test_postgres_exporter_reads_the_generated_queries_as_the_monitoring_role(tree, stack, stack_file):
    service = stack_file["services"]["postgres-exporter"]
    path = service["environment"]["PG_EXPORTER_EXTEND_QUERY_PATH"]
    assert (tree / "compose" / _mount_source(service, path)).resolve() == (tree / "exporters/postgres_exporter/queries.yml").resolve()
    assert service["environment"]["DATA_SOURCE_USER"] == stack.compose.postgres_user
    script = (tree / "compose/postgres-init/10-monitoring-role.sh").read_text()
    assert f'role="${{MONITORING_USER:-{stack.compose.postgres_user}}}"' in script and "GRANT pg_monitor" in script


def test_the_pushgateway_keeps_what_the_batch_jobs_reported(stack_file):
    service = stack_file["services"]["pushgateway"]
    assert "--persistence.file=/pushgateway/metrics" in service["command"]
    assert _mount_source(service, "/pushgateway/metrics") == "pushgateway-data/metrics"
    assert "pushgateway-data" in stack_file["volumes"]

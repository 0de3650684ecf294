"""kubernetes/<env>/: prometheus-operator resources, checked against the operator's schemas.

The schemas are prometheus-operator v0.80's CRDs as pydantic models
(cloudcoil-models-prometheus-operator). They ignore unknown fields, so each
resource must also survive a round trip unchanged: a misspelt or invented
field would be dropped by the model and show up as a difference. The rule
groups inside the PrometheusRules go through the real promtool, and the
AlertmanagerConfig's namespace handling is checked with the real amtool on
the configuration the operator would build from it.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudcoil.apimachinery import ObjectMeta
from cloudcoil.models.prometheus_operator import v1, v1alpha1

from sergas_observability import toolchain
from sergas_observability.compile import alertmanager, compose, kubernetes

MODELS = {
    "PrometheusRule": v1.PrometheusRule,
    "ServiceMonitor": v1.ServiceMonitor,
    "Probe": v1.Probe,
    "AlertmanagerConfig": v1alpha1.AlertmanagerConfig,
}


class SchemaError(AssertionError):
    pass


def _strict(model: Any, document: Any) -> Any:
    """Validate in strict mode and demand a lossless round trip (no unknown or misspelt fields)."""
    try:
        parsed = model.model_validate_json(json.dumps(document), strict=True)
    except Exception as exc:  # pydantic's ValidationError, with every field at fault
        raise SchemaError(str(exc)) from None
    again = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    if again != document:
        raise SchemaError(f"fields the schema does not know were dropped:\n{json.dumps(document)}\n!=\n{json.dumps(again)}")
    return parsed


def validate(document: dict[str, Any]) -> None:
    kind = document["kind"]
    if kind == "ConfigMap":
        _strict(ObjectMeta, document["metadata"])
        if set(document) != {"apiVersion", "kind", "metadata", "data"} or document["apiVersion"] != "v1":
            raise SchemaError(f"not a plain ConfigMap: {sorted(document)}")
        if not all(isinstance(v, str) for v in document["data"].values()):
            raise SchemaError("ConfigMap data values must be strings")
        return
    _strict(MODELS[kind], document)
    if kind == "AlertmanagerConfig":
        # The CRD leaves child routes untyped (x-kubernetes-preserve-unknown-fields): check them as routes.
        pending = list(document["spec"]["route"].get("routes", []))
        while pending:
            route = pending.pop()
            _strict(v1alpha1.Route, route)
            pending += route.get("routes", [])


def _resources(tree: Path, env: str) -> dict[str, dict[str, Any]]:
    folder = tree / "kubernetes" / env
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yml"))}


def _by_kind(tree: Path, env: str, kind: str) -> list[dict[str, Any]]:
    return [r for r in _resources(tree, env).values() if r["kind"] == kind]


def test_every_resource_matches_the_operator_schema(stack, tree):
    kinds = set()
    for env in stack.environments:
        resources = _resources(tree, env.name)
        assert resources, env.name
        for name, resource in resources.items():
            try:
                validate(resource)
            except SchemaError as exc:
                pytest.fail(f"kubernetes/{env.name}/{name}: {exc}")
            assert resource["metadata"]["namespace"] == kubernetes.namespace(stack, env)
            kinds.add(resource["kind"])
    assert kinds == {"PrometheusRule", "ServiceMonitor", "Probe", "AlertmanagerConfig", "ConfigMap"}


@pytest.mark.parametrize(
    "file, path, value",
    [
        ("servicemonitor-sergas-app.yml", ("spec", "endpoints", 0, "portName"), "metrics"),  # invented field
        ("probe-sergas-health.yml", ("spec", "interval"), 30),  # a number where the schema wants a string
        ("alertmanagerconfig-sergas.yml", ("spec", "route", "routes", 0, "matchers", 0, "matchType"), "=="),
        ("alertmanagerconfig-sergas.yml", ("spec", "route", "routes", 0, "routes", 0, "recevier"), "slack"),
        ("prometheusrule-sergas-alerts.yml", ("spec", "groups", 0, "rules", 0, "fore"), "1m"),
    ],
)
def test_the_schema_check_catches_mistakes(tree, file, path, value):
    resource = yaml.safe_load((tree / "kubernetes/production" / file).read_text())
    validate(resource)  # as generated: fine
    target = resource
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(SchemaError):
        validate(resource)


def test_prometheus_rules_package_every_rule_file(stack, tree):
    rule_files = {p.stem: yaml.safe_load(p.read_text()) for p in (tree / "prometheus/rules").glob("*.yml")}
    assert {"alerts", "recording"} <= set(rule_files)
    for env in stack.environments:
        rules = {r["metadata"]["name"]: r for r in _by_kind(tree, env.name, "PrometheusRule")}
        assert set(rules) == {kubernetes.resource_name(f"{stack.name}-{stem}") for stem in rule_files}
        for stem, document in rule_files.items():
            packaged = rules[kubernetes.resource_name(f"{stack.name}-{stem}")]["spec"]["groups"]
            assert [g["name"] for g in packaged] == [g["name"] for g in document["groups"]]
            for mine, theirs in zip(packaged, document["groups"]):
                assert [r.get("alert", r.get("record")) for r in mine["rules"]] == [r.get("alert", r.get("record")) for r in theirs["rules"]]
                assert [r["expr"] for r in mine["rules"]] == [r["expr"] for r in theirs["rules"]]


def test_embedded_rule_groups_pass_promtool(stack, tree, tmp_path):
    files = []
    for env in stack.environments:
        for resource in _by_kind(tree, env.name, "PrometheusRule"):
            path = tmp_path / f"{env.name}-{resource['metadata']['name']}.yml"
            path.write_text(yaml.safe_dump({"groups": resource["spec"]["groups"]}))
            files.append(path)
    assert files
    assert toolchain.check_rules(files) == []


def test_alerts_carry_the_namespace_their_alertmanagerconfig_matches(stack, tree):
    for env in stack.environments:
        (config,) = _by_kind(tree, env.name, "AlertmanagerConfig")
        namespace = config["metadata"]["namespace"]
        alerts = [
            rule
            for resource in _by_kind(tree, env.name, "PrometheusRule")
            for group in resource["spec"]["groups"]
            for rule in group["rules"]
        ]
        assert alerts
        for rule in alerts:
            if "alert" in rule:
                assert rule["labels"]["namespace"] == namespace, rule["alert"]
                assert rule["labels"]["env"] == env.external_labels["env"]
            else:  # recording rules keep the labels their series have everywhere else
                assert "namespace" not in rule.get("labels", {})


# -- the operator's merge, rebuilt for amtool ---------------------------------------------


def _native_matcher(m: dict[str, str]) -> str:
    return f"{m['name']}{m['matchType']}{json.dumps(m['value'])}"


def _native_route(route: dict[str, Any], prefix: str) -> dict[str, Any]:
    keys = {"groupBy": "group_by", "groupWait": "group_wait", "groupInterval": "group_interval",
            "repeatInterval": "repeat_interval", "continue": "continue"}
    out: dict[str, Any] = {}
    for key, value in route.items():
        if key == "receiver":
            out["receiver"] = prefix + value
        elif key == "matchers":
            out["matchers"] = [_native_matcher(m) for m in value]
        elif key == "routes":
            out["routes"] = [_native_route(child, prefix) for child in value]
        else:
            out[keys[key]] = value
    return out


def operator_merge(config: dict[str, Any]) -> dict[str, Any]:
    """The Alertmanager configuration prometheus-operator builds from one AlertmanagerConfig.

    What it does with the default matcher strategy (OnNamespace): receiver
    names are prefixed `<namespace>/<name>/`; the AlertmanagerConfig's route
    becomes a child of the root route with a `namespace` matcher and
    `continue: true`; both sides of each inhibit rule gain the same matcher.
    Receivers are kept by name only: the routing is what is checked here.
    """
    namespace, name = config["metadata"]["namespace"], config["metadata"]["name"]
    prefix = f"{namespace}/{name}/"
    ns_matcher = f'namespace="{namespace}"'
    route = _native_route(config["spec"]["route"], prefix)
    route["matchers"] = [ns_matcher] + route.get("matchers", [])
    route["continue"] = True
    inhibit = [
        {
            "source_matchers": [ns_matcher] + [_native_matcher(m) for m in rule["sourceMatch"]],
            "target_matchers": [ns_matcher] + [_native_matcher(m) for m in rule["targetMatch"]],
            "equal": rule["equal"],
        }
        for rule in config["spec"].get("inhibitRules", [])
    ]
    receivers = [{"name": "null"}] + [{"name": prefix + r["name"]} for r in config["spec"]["receivers"]]
    return {"route": {"receiver": "null", "routes": [route]}, "inhibit_rules": inhibit, "receivers": receivers}


def test_alerts_reach_the_same_receivers_through_the_operator(stack, tree, tmp_path):
    """Every alert of an environment, routed by the merged operator config, reaches
    the receivers of that environment's plain alertmanager.yml; an alert without
    the namespace label (what an aggregation leaves) would reach none."""
    for env in stack.environments:
        (config,) = _by_kind(tree, env.name, "AlertmanagerConfig")
        merged = tmp_path / f"{env.name}.yml"
        merged.write_text(yaml.safe_dump(operator_merge(config)))
        assert toolchain.check_alertmanager(merged) == []
        prefix = f"{config['metadata']['namespace']}/{config['metadata']['name']}/"
        alerts = [
            rule
            for resource in _by_kind(tree, env.name, "PrometheusRule")
            for group in resource["spec"]["groups"]
            for rule in group["rules"]
            if "alert" in rule
        ]
        for severity in sorted({rule["labels"]["severity"] for rule in alerts}):
            labels = next(rule["labels"] for rule in alerts if rule["labels"]["severity"] == severity)
            expected = [prefix + name for name in alertmanager.severity_receivers(stack, env, severity)]
            assert toolchain.routes(merged, {"alertname": "X", **labels}) == expected, (env.name, severity)
            without = {k: v for k, v in labels.items() if k != "namespace"}
            assert toolchain.routes(merged, {"alertname": "X", **without}) == ["null"]


def test_receiver_secrets_are_secret_references(stack, tree):
    for env in stack.environments:
        (config,) = _by_kind(tree, env.name, "AlertmanagerConfig")
        text = yaml.safe_dump(config)
        native = alertmanager.config(stack, env)
        files = compose.secret_files(native["receivers"])
        assert files
        for path in files:
            assert path not in text  # the plain config's file paths mean nothing inside the cluster
            assert f"key: {posixpath.basename(path)}" in text
        assert f"name: {stack.kubernetes.secret_name}" in text
        assert {r["name"] for r in config["spec"]["receivers"]} == {r["name"] for r in native["receivers"]}


def test_scrape_jobs_and_probes_become_monitors(stack, tree):
    settings = stack.kubernetes
    for env in stack.environments:
        monitors = {m["metadata"]["name"]: m for m in _by_kind(tree, env.name, "ServiceMonitor")}
        jobs = [job for job in stack.scrape_jobs if env.name in job.targets]
        assert set(monitors) == {kubernetes.resource_name(job.name) for job in jobs}
        for job in jobs:
            spec = monitors[kubernetes.resource_name(job.name)]["spec"]
            assert spec["selector"] == {"matchLabels": {settings.service_label: job.name}}
            (endpoint,) = spec["endpoints"]
            assert endpoint["port"] == settings.port_name and endpoint["path"] == job.metrics_path
            # The rules select on job="<name>": the relabeling must produce exactly that.
            assert {"action": "replace", "targetLabel": "job", "replacement": job.name} in endpoint["relabelings"]
        probes = {p["metadata"]["name"]: p for p in _by_kind(tree, env.name, "Probe")}
        for probe in (p for p in stack.probes if env.name in p.targets):
            spec = probes[kubernetes.resource_name(probe.name)]["spec"]
            assert spec["module"] == probe.module and spec["jobName"] == probe.name
            assert spec["prober"]["url"] == probe.exporter_address[env.name]
            assert spec["targets"]["staticConfig"]["static"] == list(probe.targets[env.name])


def test_dashboards_ship_as_sidecar_config_maps(stack, tree):
    dashboards = {p.name: p.read_text() for p in (tree / "grafana/dashboards").glob("*.json")}
    assert len(dashboards) >= len(stack.dashboards) > 0  # the SLO compiler adds its own
    for env in stack.environments:
        maps = [m for m in _by_kind(tree, env.name, "ConfigMap") if "grafana_dashboard" in m["metadata"].get("labels", {})]
        shipped = {}
        for config_map in maps:
            assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
            shipped.update(config_map["data"])
        assert shipped == dashboards  # byte for byte the files Grafana provisions elsewhere
        for text in shipped.values():
            json.loads(text)


def test_kustomization_lists_every_resource(stack, tree):
    for env in stack.environments:
        folder = tree / "kubernetes" / env.name
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        assert kustomization["kind"] == "Kustomization"
        assert kustomization["resources"] == sorted(p.name for p in folder.glob("*.yml"))


def test_namespaces_name_known_environments_and_take_effect(stack):
    from sergas_observability.lint import ensure_valid
    from sergas_observability.model import DefinitionError, Stack
    from sergas_observability.model.platforms import KubernetesSettings

    fields = {name: getattr(stack, name) for name in type(stack).model_fields}
    with pytest.raises(DefinitionError) as error:
        ensure_valid(Stack(**{**fields, "kubernetes": KubernetesSettings(namespaces={"prod": "monitoring"})}))
    assert "Kubernetes" in str(error.value) and "namespaces" in str(error.value) and "'prod'" in str(error.value)
    with pytest.raises(DefinitionError):
        KubernetesSettings(namespaces={"production": "Not_A_Namespace"})
    custom = Stack(**{**fields, "kubernetes": KubernetesSettings(namespaces={"production": "monitoring"}, labels={"release": "kps"})})
    documents = kubernetes.compile(custom)
    production = [d for p, d in documents.items() if p.startswith("kubernetes/production/") and "metadata" in d]
    assert production and all(d["metadata"]["namespace"] == "monitoring" for d in production)
    assert all(d["metadata"]["labels"]["release"] == "kps" for d in production)


def test_postgres_exporter_queries_ship_as_a_config_map(tree):
    queries = (tree / "exporters/postgres_exporter/queries.yml").read_text()
    for env in ("development", "staging", "production"):
        [config_map] = [m for m in _by_kind(tree, env, "ConfigMap") if m["metadata"]["name"].endswith("postgres-exporter-queries")]
        assert config_map["data"] == {"queries.yml": queries}

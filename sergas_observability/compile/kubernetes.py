"""prometheus-operator resources, one directory per environment (kubernetes/<env>/).

- a PrometheusRule per rule file the other compilers write (alerts,
  recording, SLO, ...), its groups unchanged but for one label (below);
- a ServiceMonitor per scrape job: it selects the Services labelled
  `<service_label>: <job>` and scrapes their port `port_name`; a relabeling
  sets `job` to the job's name, so the rules' `job="..."` matchers hold
  (the operator would otherwise name the job after the Service); for the
  application's jobs, with `Stack.deployments`, another copies the pod label
  `pod_label` into the deployment label, so blue and green are told apart;
- a Probe per blackbox probe, sent through that environment's exporter;
- an AlertmanagerConfig holding the environment's route tree, receivers and
  inhibit rules, converted from the Alertmanager compiler's own output;
  secrets become references to keys of the Secret `secret_name`, each key
  named after the basename of the `*_file` path the plain config reads;
- a ConfigMap per Grafana dashboard, labelled `grafana_dashboard: "1"` for
  the Grafana sidecar (kube-prometheus-stack's default label);
- a ConfigMap with postgres_exporter's custom queries, when there are any
  (mount it in the exporter's pod, set PG_EXPORTER_EXTEND_QUERY_PATH, and
  let the exporter connect as a role with pg_monitor);
- a kustomization.yaml listing them all.

Namespace matching. The operator merges an AlertmanagerConfig into the
Alertmanager's configuration under a route that matches
`namespace="<the AlertmanagerConfig's namespace>"` (and adds the same matcher
to both sides of its inhibit rules); this is the default
`alertmanagerConfigMatcherStrategy: OnNamespace`. Our alerts aggregate, so
most of them lose the `namespace` label of the scraped series and would match
nothing. Every alerting rule in an environment's PrometheusRules therefore
carries a static `namespace: <that environment's namespace>` label (and the
environment's external labels, as its own Prometheus would add them): its
alerts always reach that environment's AlertmanagerConfig, and inhibition
still pairs alerts of one environment and service. (It is the same value the
operator's `enforcedNamespaceLabel` would set, so the two agree.)
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from ..model import BlackboxProbe, Environment, ScrapeJob, Stack
from ..output import render
from . import alertmanager, exporters
from .packaging import rule_files

API_V1 = "monitoring.coreos.com/v1"
API_V1ALPHA1 = "monitoring.coreos.com/v1alpha1"
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
# kube-prometheus-stack's sidecar files each dashboard in the folder this annotation names.
FOLDER_ANNOTATION = "grafana_folder"
CONFIGMAP_LIMIT = 1024 * 1024  # bytes, all data of one ConfigMap

_MATCHER_RE = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"((?:[^"\\]|\\.)*)"$')
# The plain Alertmanager config's secret files, as AlertmanagerConfig secret references.
_SECRET_FIELDS = {"routing_key_file": "routingKey", "api_url_file": "apiURL", "auth_password_file": "authPassword"}
# snake_case keys whose camelCase is not mechanical.
_CAMEL = {"require_tls": "requireTLS"}


def compile(stack: Stack) -> dict[str, Any]:
    """The resources for `stack` on their own (the pipeline calls `package`)."""
    from . import produce

    return package(stack, produce(stack))


def package(stack: Stack, produced: Mapping[str, Any]) -> dict[str, Any]:
    rules = rule_files(produced)
    dashboards = {
        path.rsplit("/", 1)[1]: render(path, document)
        for path, document in produced.items()
        if path.startswith("grafana/dashboards/")
    }
    documents: dict[str, Any] = {}
    queries = produced.get(exporters.POSTGRES_QUERIES)
    for env in stack.environments:
        resources = environment_resources(stack, env, rules, dashboards)
        if queries is not None:
            resources.append(postgres_queries_config_map(stack, env, render(exporters.POSTGRES_QUERIES, queries)))
        files = {}
        for resource in resources:
            name = f"{resource['kind'].lower()}-{resource['metadata']['name']}.yml"
            if name in files:
                raise RuntimeError(f"kubernetes/{env.name}: two resources would be written to {name}")
            files[name] = resource
        for name, resource in files.items():
            documents[f"kubernetes/{env.name}/{name}"] = resource
        documents[f"kubernetes/{env.name}/kustomization.yaml"] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": sorted(files),
        }
    return documents


def namespace(stack: Stack, env: Environment) -> str:
    return stack.kubernetes.namespaces.get(env.name, f"{stack.name}-{env.name}")


def resource_name(text: str) -> str:
    """A Kubernetes object name (DNS subdomain) for a job, file or uid."""
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-.")


def environment_resources(
    stack: Stack, env: Environment, rules: dict[str, dict[str, Any]], dashboards: dict[str, str]
) -> list[dict[str, Any]]:
    resources = [prometheus_rule(stack, env, stem, document) for stem, document in rules.items()]
    resources += [service_monitor(stack, env, job) for job in stack.scrape_jobs if env.name in job.targets]
    resources += [probe(stack, env, p) for p in stack.probes if env.name in p.targets]
    resources.append(alertmanager_config(stack, env))
    resources += [dashboard_config_map(stack, env, file, text) for file, text in sorted(dashboards.items())]
    return resources


def _metadata(stack: Stack, env: Environment, name: str, **extra: Any) -> dict[str, Any]:
    labels = {**stack.kubernetes.labels, **extra.pop("labels", {})}
    meta: dict[str, Any] = {"name": resource_name(name), "namespace": namespace(stack, env)}
    if labels:
        meta["labels"] = dict(sorted(labels.items()))
    meta.update(extra)
    return meta


# -- rules ------------------------------------------------------------------------


def prometheus_rule(stack: Stack, env: Environment, stem: str, document: dict[str, Any]) -> dict[str, Any]:
    # Alerts carry the environment's external labels too, so routing and
    # inhibition (which group by `env`) work even where the Prometheus
    # resource sets no externalLabels; where it does, the values agree.
    labels = {**env.external_labels, "namespace": namespace(stack, env)}
    groups = [
        {**group, "rules": [_alert_labels(rule, labels) for rule in group["rules"]]} for group in document["groups"]
    ]
    return {
        "apiVersion": API_V1,
        "kind": "PrometheusRule",
        "metadata": _metadata(stack, env, f"{stack.name}-{stem}"),
        "spec": {"groups": groups},
    }


def _alert_labels(rule: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    if "alert" not in rule:
        return rule  # recording rules keep their series' identity
    out = dict(rule)
    out["labels"] = dict(sorted({**rule.get("labels", {}), **labels}.items()))
    if "annotations" in rule:
        out["annotations"] = out.pop("annotations")
    return out


# -- scraping -----------------------------------------------------------------------


def _static_labels(job: ScrapeJob | BlackboxProbe) -> list[dict[str, Any]]:
    return [{"action": "replace", "targetLabel": k, "replacement": v} for k, v in sorted(job.labels.items())]


def deployment_relabeling(label: str, pod_label: str) -> dict[str, Any]:
    """The pod's label `pod_label` as the target label `label` (service discovery spells
    a label key with every character outside [A-Za-z0-9_] as '_')."""
    source = "__meta_kubernetes_pod_label_" + re.sub(r"[^A-Za-z0-9_]", "_", pod_label)
    return {"action": "replace", "sourceLabels": [source], "targetLabel": label}


def service_monitor(stack: Stack, env: Environment, job: ScrapeJob) -> dict[str, Any]:
    settings = stack.kubernetes
    endpoint: dict[str, Any] = {"port": settings.port_name, "path": job.metrics_path, "scheme": job.scheme}
    if job.interval:
        endpoint["interval"] = job.interval
    if job.timeout:
        endpoint["scrapeTimeout"] = job.timeout
    if job.honor_labels:
        endpoint["honorLabels"] = True
    endpoint["relabelings"] = [{"action": "replace", "targetLabel": "job", "replacement": job.name}] + _static_labels(job)
    if stack.deployments is not None and job.exporter == "app":
        endpoint["relabelings"].append(deployment_relabeling(stack.deployments.label, stack.deployments.pod_label))
    return {
        "apiVersion": API_V1,
        "kind": "ServiceMonitor",
        "metadata": _metadata(stack, env, job.name),
        "spec": {"selector": {"matchLabels": {settings.service_label: job.name}}, "endpoints": [endpoint]},
    }


def probe(stack: Stack, env: Environment, p: BlackboxProbe) -> dict[str, Any]:
    static: dict[str, Any] = {"static": list(p.targets[env.name])}
    if p.labels:
        static["labels"] = dict(sorted(p.labels.items()))
    spec: dict[str, Any] = {
        "jobName": p.name,
        "module": p.module,
        "prober": {"url": p.exporter_address[env.name]},
        "targets": {"staticConfig": static},
    }
    if p.interval:
        spec["interval"] = p.interval
    if p.timeout:
        spec["scrapeTimeout"] = p.timeout
    return {"apiVersion": API_V1, "kind": "Probe", "metadata": _metadata(stack, env, p.name), "spec": spec}


# -- routing ------------------------------------------------------------------------


def matcher(text: str) -> dict[str, str]:
    """`severity=~"P1|P2"` (the plain config's syntax) as an AlertmanagerConfig matcher."""
    found = _MATCHER_RE.match(text)
    if not found:
        raise ValueError(f"cannot convert matcher {text!r}")
    name, op, value = found.groups()
    return {"name": name, "value": json.loads(f'"{value}"'), "matchType": op}


def _route(native: dict[str, Any]) -> dict[str, Any]:
    keys = {"receiver": "receiver", "group_by": "groupBy", "group_wait": "groupWait", "group_interval": "groupInterval",
            "repeat_interval": "repeatInterval", "continue": "continue"}
    out: dict[str, Any] = {}
    for key, value in native.items():
        if key == "matchers":
            out["matchers"] = [matcher(m) for m in value]
        elif key == "routes":
            out["routes"] = [_route(child) for child in value]
        else:
            out[keys[key]] = value
    return out


def _camel(key: str) -> str:
    if key in _CAMEL:
        return _CAMEL[key]
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _secret(stack: Stack, path: str) -> dict[str, str]:
    return {"name": stack.kubernetes.secret_name, "key": posixpath.basename(path)}


def _receiver_config(stack: Stack, native: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in native.items():
        if key in _SECRET_FIELDS:
            out[_SECRET_FIELDS[key]] = _secret(stack, value)
        elif key == "http_config":
            credentials = value["authorization"]["credentials_file"]
            out["httpConfig"] = {"authorization": {"type": "Bearer", "credentials": _secret(stack, credentials)}}
        else:
            out[_camel(key)] = value
    return out


def _receiver(stack: Stack, native: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": native["name"]}
    for key, configs in native.items():
        if key != "name":  # pagerduty_configs -> pagerdutyConfigs, ...
            out[_camel(key)] = [_receiver_config(stack, config) for config in configs]
    return out


def alertmanager_config(stack: Stack, env: Environment) -> dict[str, Any]:
    native = alertmanager.config(stack, env)
    inhibit = [
        {
            "sourceMatch": [matcher(m) for m in rule["source_matchers"]],
            "targetMatch": [matcher(m) for m in rule["target_matchers"]],
            "equal": rule["equal"],
        }
        for rule in native["inhibit_rules"]
    ]
    spec: dict[str, Any] = {"route": _route(native["route"]), "receivers": [_receiver(stack, r) for r in native["receivers"]]}
    if inhibit:
        spec["inhibitRules"] = inhibit
    return {
        "apiVersion": API_V1ALPHA1,
        "kind": "AlertmanagerConfig",
        "metadata": _metadata(stack, env, stack.name),
        "spec": spec,
    }


# -- exporters --------------------------------------------------------------------


def postgres_queries_config_map(stack: Stack, env: Environment, text: str) -> dict[str, Any]:
    """postgres_exporter's custom queries: mount at PG_EXPORTER_EXTEND_QUERY_PATH in its pod."""
    meta = _metadata(stack, env, f"{stack.name}-postgres-exporter-queries")
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"queries.yml": text}}


# -- dashboards -------------------------------------------------------------------


def dashboard_config_map(stack: Stack, env: Environment, file: str, text: str) -> dict[str, Any]:
    if len(text.encode()) > CONFIGMAP_LIMIT:
        raise ValueError(f"dashboard {file} is larger than a ConfigMap can hold ({CONFIGMAP_LIMIT} bytes)")
    meta = _metadata(
        stack, env, f"grafana-dashboard-{file.removesuffix('.json')}",
        labels=DASHBOARD_LABEL, annotations={FOLDER_ANNOTATION: stack.grafana_folder},
    )
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {file: text}}

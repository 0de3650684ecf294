"""What the compilers need of the definitions, checked before any of them runs.

Each compiler derives names from the definitions: alert names from SLOs, rule
files and groups, dashboard uids and files, Kubernetes object names, Python
identifiers, compose secret names. Two definitions that derive the same name
would silently overwrite one another, and a name a target refuses would fail
only when loaded; so every derived name is checked here, with the knowledge
of how it is derived left where it lives (the compiler modules).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from ..compile import compose, instrumentation, kubernetes, rule_tests, slo, slo_inputs
from ..compile.rollout import rollout_dashboard
from ..compile.slo_dashboard import by_service, slo_dashboards
from ..model import BlackboxProbe, Definition, ScrapeJob, Stack
from ..model.base import did_you_mean
from ..output import render
from .findings import finding
from .references import Emit, valid

# A Kubernetes object name is a DNS subdomain.
_K8S_NAME_LIMIT = 253


def _claims(emit: Emit, claims: Iterable[tuple[Any, Definition, str, str]], what: str) -> None:
    """Each (value, definition, field, description): the second claim of a value is an error."""
    owners: dict[Any, str] = {}
    for value, definition, field, description in claims:
        if value in owners and owners[value] != description:
            emit(finding("stack/name-collision", definition, field, f"{description} has the {what} '{value}' of {owners[value]}"))
        owners.setdefault(value, description)


def _slos(stack: Stack) -> list[Any]:
    """The valid SLOs, one per key (a duplicate is reported as such, not as every name it repeats)."""
    first: dict[str, Any] = {}
    for s in valid(stack.slos):
        first.setdefault(s.key, s)
    return list(first.values())


def check_alert_names(stack: Stack, emit: Emit) -> None:
    """A declared alert may not take an SLO alert's name (SLOs of different
    services share tier alert names; their `service` label tells them apart)."""
    generated = {s.tier_alert_name(t): f"the {t.long} alert of SLO '{s.key}'" for s in reversed(_slos(stack)) for t in s.tiers}
    for derived in reversed(stack.all_alerts[len(stack.alerts):]):
        generated[derived.name] = f"the meta-alert of {derived.derived_from}"
    for alert in valid(stack.alerts):
        if alert.name in generated:
            emit(finding("stack/name-collision", alert, "name", f"'{alert.name}' is also the name of {generated[alert.name]}"))


def check_rule_files(stack: Stack, emit: Emit) -> None:
    """One rule file and one test file per SLO, none shared with another."""
    # (SLO files are slo-*.yml: they cannot take alerts.yml or recording.yml.)
    _claims(emit, [(path, s, "name", f"SLO '{s.key}'") for s in _slos(stack) for path in slo.rule_files(s)], "file")


def check_rule_groups(stack: Stack, emit: Emit) -> None:
    groups = {stack.rule_group(a) for a in valid(stack.all_alerts)} | {stack.rule_group(r) for r in valid(stack.recording_rules)}
    for s in valid(stack.slos):
        groups.update(slo.group_names(s))
        if s.calendar:
            groups.add(slo.calendar_group(s))
    thanos = stack.thanos
    if thanos.invalid:
        return
    for name in thanos.partial_response:
        if name not in groups:
            emit(finding("stack/unknown-reference", thanos, "partial_response", f"unknown rule group '{name}'" + did_you_mean(name, groups)))


def _all_dashboards(stack: Stack) -> list[tuple[Any, Definition, str, str, str]]:
    """(dashboard, the definition answerable for it, how to name it, its uid field, its file field):
    generated first, so a declared dashboard that takes a generated name is the one at fault."""
    declared = [(d, d, f"dashboard '{d.uid}'", "uid", "file") for d in valid(stack.dashboards)]
    slos = _slos(stack)
    generated: list[tuple[Any, Definition, str, str, str]] = [
        (dashboard, group[0], f"the SLO dashboard of service '{service}'", "service", "service")
        for (service, group), dashboard in zip(by_service(slos).items(), slo_dashboards(stack, slos))
    ]
    deployments = stack.deployments
    if deployments is not None:
        generated += [
            (rollout_dashboard(stack, rollout, deployments.label), rollout, f"the dashboard of rollout '{rollout.name}'", "name", "name")
            for rollout in valid(stack.rollouts) if not any(c.invalid for c in rollout.checks)
        ]
    return generated + declared


def check_dashboards(stack: Stack, emit: Emit) -> None:
    dashboards = _all_dashboards(stack)
    _claims(emit, [(d.uid, owner, uid, name) for d, owner, name, uid, _ in dashboards], "uid")
    _claims(emit, [(d.file_name, owner, file, name) for d, owner, name, _, file in dashboards], "file name")


def check_kubernetes_names(stack: Stack, emit: Emit) -> None:
    """Objects of one kind in one namespace need distinct names; Kubernetes lower-cases and dashes them."""
    jobs: tuple[tuple[str, Iterable[ScrapeJob | BlackboxProbe]], ...] = (("ServiceMonitor", stack.scrape_jobs), ("Probe", stack.probes))
    for kind, items in jobs:
        claims = [(kubernetes.resource_name(j.name), j, "name", f"{type(j).__name__} '{j.name}'") for j in valid(items)]
        _claims(emit, claims, f"{kind} name")
    config_maps, seen = [], set()
    for d, owner, description, _, file in _all_dashboards(stack):
        if d.file_name in seen:
            continue  # one file, one ConfigMap: a shared file is reported by check_dashboards
        seen.add(d.file_name)
        name = kubernetes.resource_name(f"grafana-dashboard-{d.file_name.removesuffix('.json')}")
        config_maps.append((name, owner, file, description))
        if len(name) > _K8S_NAME_LIMIT:
            emit(finding("stack/invalid-name", owner, file, f"{description}: its ConfigMap name '{name[:40]}...' is longer than Kubernetes allows ({_K8S_NAME_LIMIT})"))
    _claims(emit, config_maps, "ConfigMap name")
    rule_files: dict[str, Any] = {}
    for s in _slos(stack):  # a file two SLOs share is reported by check_rule_files
        for path in slo.rule_files(s):
            rule_files.setdefault(path, s)
    rules = [(kubernetes.resource_name(f"{stack.name}-{posixpath.basename(path)[:-4]}"), s, "name", f"SLO '{s.key}'") for path, s in rule_files.items()]
    _claims(emit, rules, "PrometheusRule name")


def check_python_names(stack: Stack, emit: Emit) -> None:
    for definition, field, message in instrumentation.python_problems(stack):
        emit(finding("stack/invalid-name", definition, field, message))


def check_compose(stack: Stack, emit: Emit) -> None:
    for probe in valid(stack.probes):
        if probe.module not in compose.BLACKBOX_MODULES:
            known = ", ".join(sorted(compose.BLACKBOX_MODULES))
            emit(finding("stack/unknown-reference", probe, "module", f"no blackbox module '{probe.module}' is known (known: {known})"))
    files: dict[str, str] = {}
    for receiver in valid(stack.receivers):
        for field, path in _secret_paths(receiver):
            name = posixpath.basename(path)
            if name in files and files[name] != path:
                emit(finding("stack/name-collision", receiver, field, f"secret file '{path}' has the file name of '{files[name]}'; compose and Kubernetes name secrets by it"))
            files.setdefault(name, path)


def _secret_paths(receiver: Definition) -> list[tuple[str, str]]:
    return [(k, v) for k, v in receiver.__dict__.items() if k.endswith("_file") and isinstance(v, str)]


def check_generated_tests(stack: Stack, emit: Emit) -> None:
    """The promtool tests generated from alerts and SLOs can be written."""
    metrics = {m.name: m for m in stack.metrics}
    for alert in valid(stack.all_alerts):
        if alert.test is not None:
            problem = rule_tests.template_problem(stack, alert)
            if problem:
                emit(finding("stack/untestable", alert, "description", problem))
    for s in valid(stack.slos):
        problem = slo_inputs.test_input_problem(s, metrics)
        if problem:
            emit(finding("stack/untestable", s, "sli", problem))


CHECKS = (
    check_alert_names, check_rule_files, check_rule_groups, check_dashboards, check_kubernetes_names,
    check_python_names, check_compose, check_generated_tests,
)


def check_documents(stack: Stack, documents: dict[str, Any], emit: Emit) -> None:
    """Checks on compiled output itself: a dashboard must fit in a ConfigMap."""
    owners = {f"grafana/dashboards/{d.file_name}": (owner, name) for d, owner, name, _, _ in _all_dashboards(stack)}
    for path, (owner, description) in owners.items():
        if path in documents:
            size = len(render(path, documents[path]).encode())
            if size > kubernetes.CONFIGMAP_LIMIT:
                emit(finding("stack/too-large", owner, "rows", f"{description} is {size} bytes of JSON, more than a ConfigMap holds ({kubernetes.CONFIGMAP_LIMIT})"))

"""Alerting and recording rules, shared by every environment."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import Alert, RecordingRule, Stack, duration_seconds

ALERTS_FILE = "prometheus/rules/alerts.yml"
RECORDING_FILE = "prometheus/rules/recording.yml"


def compile(stack: Stack) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    if stack.recording_rules:
        documents[RECORDING_FILE] = {"groups": _groups(stack, stack.recording_rules, recording_rule)}
    if stack.all_alerts:
        documents[ALERTS_FILE] = {"groups": _groups(stack, stack.all_alerts, lambda a: alerting_rule(stack, a))}
    return documents


def _groups(stack: Stack, items: Iterable[Any], render: Any) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for item in items:  # declaration order within a group, groups by first appearance
        name = stack.rule_group(item)
        group = groups.setdefault(name, {"name": name, "rules": []})
        if getattr(item, "interval", None):
            group["interval"] = item.interval
        group["rules"].append(render(item))
    return list(groups.values())


def recording_rule(rule: RecordingRule) -> dict[str, Any]:
    out: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        out["labels"] = dict(sorted(rule.labels.items()))
    return out


def alert_labels(alert: Alert) -> dict[str, str]:
    return dict(sorted({**alert.labels, "severity": alert.severity, "service": alert.service}.items()))


def alert_annotations(stack: Stack, alert: Alert) -> dict[str, str]:
    annotations = {
        "summary": alert.summary,
        "description": alert.description,
        "runbook_url": alert.runbook_url,
    }
    if alert.dashboard:
        annotations["dashboard_url"] = f"{stack.grafana_url.rstrip('/')}/d/{alert.dashboard}"
    return annotations


def alerting_rule(stack: Stack, alert: Alert) -> dict[str, Any]:
    out: dict[str, Any] = {"alert": alert.name, "expr": alert.expr}
    if duration_seconds(alert.for_) > 0:  # "0h" and "0ms" are zero too
        out["for"] = alert.for_
    out["labels"] = alert_labels(alert)
    out["annotations"] = alert_annotations(stack, alert)
    return out

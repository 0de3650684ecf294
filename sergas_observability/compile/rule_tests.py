"""promtool unit tests generated from each alert's declared scenarios.

For every alert with a `test`, two cases: the firing scenario must produce
exactly one alert with the labels and annotations the rule file gives it, and
the quiet scenario none. Expected annotations are expanded from the same
templates, so a template or label mistake fails `promtool test rules`.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ..model import Alert, Stack, duration_seconds, format_duration
from ..promql.templates import TemplateError, expand
from .rules import ALERTS_FILE, RECORDING_FILE, alert_annotations, alert_labels

TESTS_FILE = "prometheus/tests/alerts.test.yml"
SAMPLE_INTERVAL = "1m"


def compile(stack: Stack) -> dict[str, Any]:
    tested = [alert for alert in stack.all_alerts if alert.test is not None]
    if not tested:
        return {}
    files = [ALERTS_FILE] + ([RECORDING_FILE] if stack.recording_rules else [])
    rule_files = [posixpath.relpath(f, posixpath.dirname(TESTS_FILE)) for f in files]
    tests = []
    for alert in tested:
        tests.extend(alert_tests(stack, alert))
    return {TESTS_FILE: {"rule_files": rule_files, "evaluation_interval": SAMPLE_INTERVAL, "tests": tests}}


def eval_time(alert: Alert) -> str:
    assert alert.test is not None
    if alert.test.at:
        return alert.test.at
    return format_duration(duration_seconds(alert.for_) + 5 * 60)


def expected_annotations(stack: Stack, alert: Alert) -> dict[str, str]:
    """The annotations the firing scenario's alert carries, expanded as Prometheus will."""
    assert alert.test is not None
    firing = alert.test.firing
    labels = {**firing.labels, **alert_labels(alert)}
    value = firing.value if firing.value is not None else 0.0
    return {key: expand(text, labels, value) for key, text in alert_annotations(stack, alert).items()}


def template_problem(stack: Stack, alert: Alert) -> str | None:
    """Why the firing scenario's annotations cannot be expanded (None when they can); the validation pass reports it."""
    try:
        expected_annotations(stack, alert)
    except TemplateError as exc:
        return str(exc)
    return None


def alert_tests(stack: Stack, alert: Alert) -> list[dict[str, Any]]:
    test = alert.test
    assert test is not None
    at = eval_time(alert)
    firing = test.firing
    annotations = expected_annotations(stack, alert)
    labels = {**firing.labels, **alert_labels(alert)}
    return [
        {
            "name": f"{alert.name} fires",
            "interval": SAMPLE_INTERVAL,
            "input_series": _series(firing.series),
            "alert_rule_test": [
                {
                    "eval_time": at,
                    "alertname": alert.name,
                    "exp_alerts": [{"exp_labels": dict(sorted(labels.items())), "exp_annotations": annotations}],
                }
            ],
        },
    ] + [
        {
            "name": f"{alert.name} stays quiet" + (f" ({number})" if number > 1 else ""),
            "interval": SAMPLE_INTERVAL,
            "input_series": _series(scenario.series),
            "alert_rule_test": [{"eval_time": at, "alertname": alert.name, "exp_alerts": []}],
        }
        for number, scenario in enumerate((test.quiet, *test.also_quiet), 1)
    ]


def _series(series: dict[str, str]) -> list[dict[str, str]]:
    return [{"series": selector, "values": values} for selector, values in series.items()]

"""promtool unit tests that prove each rollout's regression alerts fire and stay quiet.

`prometheus/tests/rollout-<name>.test.yml`, per check, 1-minute samples of
100 events a minute per deployment (the SLI's own series, from
compile.slo_inputs, labelled with each deployment):

- the candidate fails twice its limits (max_error_ratio + margin) beside a
  clean baseline: the alert fires by 10 minutes, naming the candidate, with
  exactly its labels and annotations;
- the candidate alone at that ratio (the baseline drained, as at the 100 %
  step): no alert - there is nothing to be worse than;
- both deployments at that ratio: no alert - neither is worse;
- the candidate failing with too few events for a verdict: no alert.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ..model import Stack
from ..model.base import duration_seconds
from ..model.rollout import ALERT_WINDOW, Rollout
from ..promql.templates import expand
from .rollout import Judged, alert_name, alert_rule, group_name, judged, rules_file
from .slo_inputs import input_series
from .slo_tests import Segment, counter_values, with_labels

MINUTES = 15
CHECKED_AT = 10  # minutes: well past the alert's `for` and the first rates
TRAFFIC = 100.0  # events a minute per deployment


def test_file(rollout: Rollout) -> str:
    return f"prometheus/tests/rollout-{rollout.name}.test.yml"


def compile(stack: Stack) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    if stack.deployments is None:
        return documents
    metrics = {m.name: m for m in stack.metrics}
    for rollout in stack.rollouts:
        path = test_file(rollout)
        tests = [test for item in judged(stack, rollout) for test in _tests(stack, rollout, item, metrics)]
        documents[path] = {
            "rule_files": [posixpath.relpath(rules_file(rollout), posixpath.dirname(path))],
            "evaluation_interval": "1m",
            "group_eval_order": [group_name(stack, rollout)],
            "tests": tests,
        }
    return documents


def failing_ratio(item: Judged) -> float:
    """Twice what the candidate may fail by: clearly worse, whatever the baseline."""
    return min(1.0, round(2 * (item.max_error_ratio + item.margin), 12))


def _tests(stack: Stack, rollout: Rollout, item: Judged, metrics: dict[str, Any]) -> list[dict[str, Any]]:
    assert stack.deployments is not None
    label, check = stack.deployments.label, item.check
    series = input_series(item.sli, metrics)
    ratio = failing_ratio(item)
    name = alert_name(rollout, check)
    # Half the events a verdict needs in the alert's window.
    few = check.min_events / (duration_seconds(ALERT_WINDOW) / 60) / 2

    def inputs(**deployments: tuple[float, float]) -> list[dict[str, str]]:
        """deployment -> (events a minute, error ratio)"""
        return [
            {"series": with_labels(text, {label: deployment}), "values": counter_values([Segment(MINUTES, traffic, error_ratio)], g, b)}
            for deployment, (traffic, error_ratio) in deployments.items()
            for text, g, b in series
        ]

    def quiet(title: str, **deployments: tuple[float, float]) -> dict[str, Any]:
        return {"name": f"{rollout.name}/{check.name}: {title}: no alert", "interval": "1m", "input_series": inputs(**deployments),
                "alert_rule_test": [{"eval_time": f"{CHECKED_AT}m", "alertname": name, "exp_alerts": []}]}

    rule = alert_rule(stack, rollout, item, label)
    labels = dict(sorted({**rule["labels"], label: rollout.candidate}.items()))
    annotations = {key: expand(text, labels, ratio) for key, text in rule["annotations"].items()}
    percent = f"{ratio * 100:g}%"
    candidate, baseline = rollout.candidate, rollout.baseline
    return [
        {"name": f"{rollout.name}/{check.name}: {candidate} at {percent} bad beside a clean {baseline}: {name} fires, naming {candidate}",
         "interval": "1m",
         "input_series": inputs(**{baseline: (TRAFFIC, 0.0), candidate: (TRAFFIC, ratio)}),
         "alert_rule_test": [
             {"eval_time": f"{CHECKED_AT}m", "alertname": name, "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}]},
         ]},
        quiet(f"{candidate} alone at {percent} bad ({baseline} drained)", **{candidate: (TRAFFIC, ratio)}),
        quiet(f"{baseline} and {candidate} both at {percent} bad", **{baseline: (TRAFFIC, ratio), candidate: (TRAFFIC, ratio)}),
        quiet(f"{candidate} at {percent} bad with {few * 5:g} events in {ALERT_WINDOW}, fewer than the {check.min_events} a verdict needs",
              **{baseline: (TRAFFIC, 0.0), candidate: (few, ratio)}),
    ]

"""Rollouts: per-deployment SLIs, the regression alert, the dashboard and the gate spec.

For each `Rollout` (model/rollout.py):

- `prometheus/rules/rollout-<name>.yml`: each check's SLI events per
  deployment over 5m (`rollout:sli_events:rate5m{rollout,check,event,<label>}`),
  the error ratio per deployment while it has traffic
  (`rollout:sli_error:ratio_rate5m`), and one alert per check that fires
  while one deployment is clearly worse than the best other one: its error
  ratio above the other's by more than the margin and above what the
  objective allows, with at least `min_events` events in the window. A
  deployment alone never fires it (it is its own best), so it watches
  exactly the time two deployments take traffic.
- `prometheus/rollouts/<name>.json`: the gate spec `sergas-obs gate` (or any
  deploy script) reads: the steps, and per check its thresholds and the
  PromQL of its bad and total events per second per deployment over a
  window (`$window`, the step's monitoring time).

The events are the SLI's own, through the SLO compiler's SLIEvents grouped
by the deployment label, so a deploy is judged by exactly what on-call is
paged for. The dashboard (`rollout_dashboard`) is rendered by the Grafana
compiler.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from ..model import Dashboard, Panel, Query, Row, Stack, Threshold
from ..model.base import duration_seconds
from ..model.rollout import ALERT_WINDOW, ERROR_RATIO_RECORD, EVENTS_RECORD, Rollout, RolloutCheck
from ..model.slo import SLI, camel
from .slo import SLIEvents, num

WINDOW_TOKEN = "$window"  # in the gate spec's queries: the window of a step, e.g. 5m


class Judged(NamedTuple):
    """A check with what it reads and its thresholds resolved (from its SLO, or its own)."""

    check: RolloutCheck
    sli: SLI
    objective: float  # percent
    source: str  # "SLO <service>/<name>" or "its own SLI"

    @property
    def error_budget(self) -> float:
        return round(1 - self.objective / 100, 12)

    @property
    def max_error_ratio(self) -> float:
        return round(self.error_budget * self.check.max_burn, 12)

    @property
    def margin(self) -> float:
        return self.error_budget if self.check.margin is None else self.check.margin


def judged(stack: Stack, rollout: Rollout) -> list[Judged]:
    slos = {slo.key: slo for slo in stack.slos}
    out = []
    for check in rollout.checks:
        if check.slo:
            slo = slos[check.slo]
            objective = slo.objective if check.objective is None else check.objective
            out.append(Judged(check, slo.sli, objective, f"SLO {slo.key}"))
        else:
            assert check.sli is not None and check.objective is not None  # RolloutCheck._one_source
            out.append(Judged(check, check.sli, check.objective, "its own SLI"))
    return out


def rules_file(rollout: Rollout) -> str:
    return f"prometheus/rules/rollout-{rollout.name}.yml"


def spec_file(rollout: Rollout) -> str:
    return f"prometheus/rollouts/{rollout.name}.json"


def group_name(stack: Stack, rollout: Rollout) -> str:
    return f"{stack.name}-rollout-{rollout.name}"


def alert_name(rollout: Rollout, check: RolloutCheck) -> str:
    return f"{camel(rollout.name)}{camel(check.name)}Regression"


def dashboard_uid(stack: Stack, rollout: Rollout) -> str:
    return f"{stack.name}-rollout-{rollout.name}"[:40]


def compile(stack: Stack) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    if stack.deployments is None:
        return documents  # the validation pass refuses rollouts without deployments
    for rollout in stack.rollouts:
        documents[rules_file(rollout)] = {"groups": [{"name": group_name(stack, rollout), "rules": rules(stack, rollout)}]}
        documents[spec_file(rollout)] = gate_spec(stack, rollout)
    return documents


def _events(stack: Stack, item: Judged) -> SLIEvents:
    assert stack.deployments is not None
    return SLIEvents(item.sli, {m.name: m for m in stack.metrics}, (stack.deployments.label,))


def _match(rollout: Rollout, check: RolloutCheck, **more: str) -> str:
    pairs = {"rollout": rollout.name, "check": check.name, **more}
    return ",".join(f"{k}={json.dumps(v)}" for k, v in pairs.items())


def rules(stack: Stack, rollout: Rollout) -> list[dict[str, Any]]:
    assert stack.deployments is not None
    label = stack.deployments.label
    out: list[dict[str, Any]] = []
    for item in judged(stack, rollout):
        check, events = item.check, _events(stack, item)
        identity = {"check": check.name, "rollout": rollout.name}
        for event, expr in (("bad", events.bad(ALERT_WINDOW)), ("total", events.total(ALERT_WINDOW))):
            out.append({"record": EVENTS_RECORD, "expr": expr, "labels": dict(sorted({**identity, "event": event}.items()))})
        bad, total = (f'{EVENTS_RECORD}{{{_match(rollout, check, event=e)}}}' for e in ("bad", "total"))
        out.append({"record": ERROR_RATIO_RECORD, "expr": f"{bad}\n/ ignoring(event)\n({total} > 0)", "labels": identity})
    for item in judged(stack, rollout):
        out.append(alert_rule(stack, rollout, item, label))
    return out


def alert_rule(stack: Stack, rollout: Rollout, item: Judged, label: str) -> dict[str, Any]:
    check = item.check
    ratio = f"{ERROR_RATIO_RECORD}{{{_match(rollout, check)}}}"
    total = f'{EVENTS_RECORD}{{{_match(rollout, check, event="total")}}}'
    # The deployments with a verdict's worth of events: the worse one and the best of the others.
    counted = f"({ratio}\n  and on(rollout, check, {label}) {total} * {num(duration_seconds(ALERT_WINDOW))} >= {check.min_events})"
    expr = (
        f"{counted}\n"
        f"> on(rollout, check) group_left()\n"
        f"  (min by (rollout, check) {counted.replace(chr(10), chr(10) + '  ')} + {num(item.margin)})\n"
        f"and {ratio} > {num(item.max_error_ratio)}"
    )
    return {
        "alert": alert_name(rollout, check),
        "expr": expr,
        "for": rollout.alert_for,
        "labels": {"check": check.name, "rollout": rollout.name, "service": rollout.service, "severity": rollout.severity},
        "annotations": {
            "summary": (f"Deployment {{{{ $labels.{label} }}}} of {rollout.service} is clearly worse than the other deployment"
                        f" on check {check.name} during rollout {rollout.name}."),
            "description": (
                f"{{{{ $value | humanizePercentage }}}} of its {check.name} events ({item.source}) were bad over the last"
                f" {ALERT_WINDOW}: more than the best other deployment's share + {_percent(item.margin)} and more than"
                f" {num(check.max_burn)}x the error budget ({_percent(item.error_budget)}), with at least {check.min_events}"
                " events. Stop the rollout and send its traffic back."
            ),
            "runbook_url": rollout.runbook_url,
            "dashboard_url": f"{stack.grafana_url.rstrip('/')}/d/{dashboard_uid(stack, rollout)}",
        },
    }


def _percent(share: float) -> str:
    return f"{num(round(share * 100, 6))}%"


def gate_spec(stack: Stack, rollout: Rollout) -> dict[str, Any]:
    """What a step is judged by, for `sergas-obs gate` and any script (JSON)."""
    assert stack.deployments is not None
    checks = []
    for item in judged(stack, rollout):
        events = _events(stack, item)
        checks.append({
            "name": item.check.name,
            "source": item.source,
            "objective_percent": item.objective,
            "error_budget": item.error_budget,
            "max_error_ratio": item.max_error_ratio,
            "margin": item.margin,
            "min_events": item.check.min_events,
            "alert": alert_name(rollout, item.check),
            "bad_per_second": events.bad(WINDOW_TOKEN),
            "total_per_second": events.total(WINDOW_TOKEN),
        })
    return {
        "rollout": rollout.name,
        "service": rollout.service,
        "deployment_label": stack.deployments.label,
        "deployments": list(stack.deployments.names),
        "baseline": rollout.baseline,
        "candidate": rollout.candidate,
        "window_token": WINDOW_TOKEN,
        "steps": [
            {"step": index, "traffic_percent": step.traffic, "monitor": step.monitor, "monitor_seconds": duration_seconds(step.monitor)}
            for index, step in enumerate(rollout.steps, 1)
        ],
        "checks": checks,
    }


def rollout_dashboards(stack: Stack) -> tuple[Dashboard, ...]:
    if stack.deployments is None:
        return ()
    return tuple(rollout_dashboard(stack, rollout, stack.deployments.label) for rollout in stack.rollouts)


def rollout_dashboard(stack: Stack, rollout: Rollout, label: str) -> Dashboard:
    items = judged(stack, rollout)
    first = items[0].check
    total = f'{EVENTS_RECORD}{{{_match(rollout, first, event="total")}}}'
    traffic = Panel(
        title="Traffic share per deployment",
        description=f"Each deployment's share of the {first.name} events over {ALERT_WINDOW}: the steps of the rollout as they happen.",
        queries=(Query(expr=f"sum by ({label}) ({total})\n/ ignoring({label}) group_left()\nsum({total})", legend=f"{{{{{label}}}}}"),),
        unit="percentunit",
        min=0,
        max=1,
        width=24,
    )
    rows = [Row(title="Traffic", panels=(traffic,))]
    for item in items:
        check = item.check
        ratio = f"{ERROR_RATIO_RECORD}{{{_match(rollout, check)}}}"
        events = f'{EVENTS_RECORD}{{{_match(rollout, check, event="total")}}}'
        rows.append(Row(title=f"{check.name} ({item.source})", panels=(
            Panel(
                title=f"{check.name}: error ratio per deployment",
                description=(f"Bad / all {check.name} events over {ALERT_WINDOW}, per deployment. The candidate fails above"
                             f" {_percent(item.max_error_ratio)} or the baseline's share + {_percent(item.margin)}."),
                queries=(Query(expr=ratio, legend=f"{{{{{label}}}}}"),),
                unit="percentunit",
                thresholds=(Threshold(value=None, color="green"), Threshold(value=item.max_error_ratio, color="red")),
                width=16,
            ),
            Panel(
                title=f"{check.name}: events per second per deployment",
                description=f"A verdict needs {check.min_events} events of the candidate in the step's window.",
                queries=(Query(expr=events, legend=f"{{{{{label}}}}}"),),
                unit="reqps",
                width=8,
            ),
        )))
    return Dashboard(
        title=f"Rollout: {rollout.name}",
        uid=dashboard_uid(stack, rollout),
        file=f"rollout_{rollout.name.replace('-', '_')}.json",
        description=rollout.description or f"Rollout {rollout.name} of {rollout.service}: candidate against baseline, per check.",
        tags=("rollout", rollout.service),
        rows=tuple(rows),
        refresh="30s",
        time_from="now-1h",
    )

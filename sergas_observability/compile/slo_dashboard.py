"""The SLO dashboards: one per service, a row per SLO, read from the SLO rules.

Every panel reads what the SLO compiler records (objective, error budget
remaining, burn rate per window), so the dashboard shows exactly what the
alerts see, and opening it costs Prometheus a few instant series reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..model import Dashboard, Panel, Query, Row, Stack, Threshold
from ..model.slo import BUDGET_REMAINING_RECORD, BURN_RATE_RECORD, OBJECTIVE_RECORD, SLO, TO_DATE_BUDGET_RECORD

# A budget left: red once overspent, orange below a quarter.
BUDGET_THRESHOLDS = (Threshold(value=None, color="red"), Threshold(value=0.0, color="orange"), Threshold(value=0.25, color="green"))
# A burn rate: orange once it spends the budget faster than the period allows.
BURN_THRESHOLDS = (Threshold(value=None, color="green"), Threshold(value=1.0, color="orange"))


def dashboard_uid(stack_name: str, service: str) -> str:
    """Stable uid of a service's SLO dashboard (the alerts link to it), prefixed
    with the stack's name like every dashboard of the stack."""
    return f"{stack_name}-slo-{service}"[:40]


def by_service(slos: Iterable[SLO]) -> dict[str, list[SLO]]:
    """The SLOs of each service, services in the order they first appear."""
    found: dict[str, list[SLO]] = {}
    for slo in slos:
        found.setdefault(slo.service, []).append(slo)
    return found


def slo_dashboards(stack: Stack, slos: Sequence[SLO] | None = None) -> tuple[Dashboard, ...]:
    """One dashboard per service of `slos` (default: all the stack's SLOs), in `by_service` order.

    Built once per Stack and SLO set: the validation pass and the Grafana
    compiler both ask, and a Stack is frozen."""
    chosen = tuple(stack.slos if slos is None else slos)
    key = f"slo-dashboards:{','.join(str(id(s)) for s in chosen)}"  # the Stack holds them: ids stay theirs
    cache = stack._compiled
    if key not in cache:
        cache[key] = tuple(service_dashboard(stack.name, service, group) for service, group in by_service(chosen).items())
    return cache[key]  # type: ignore[no-any-return]


def service_dashboard(stack_name: str, service: str, slos: list[SLO]) -> Dashboard:
    return Dashboard(
        title=f"SLOs: {service}",
        uid=dashboard_uid(stack_name, service),
        file=f"slo_{service.replace('-', '_')}.json",
        description=f"Service level objectives of {service}: SLI against objective, error budget left, burn rates.",
        tags=("slo", service),
        rows=tuple(slo_row(slo) for slo in slos),
        time_from="now-7d",
    )


def slo_row(slo: SLO) -> Row:
    match = f"service={json.dumps(slo.service)},slo={json.dumps(slo.name)}"
    budget = repr(slo.error_budget)
    # A grouped SLO draws one line per group, named by its labels.
    group = " ".join(f"{{{{{label}}}}}" for label in slo.group_by)
    named = (lambda legend: f"{group} {legend}") if group else (lambda legend: legend)
    objective = f"{slo.objective:g}% over {slo.period}"
    return Row(
        title=f"{slo.name} ({objective})",
        panels=(*_rolling_panels(slo, match, budget, named, objective), *_calendar_panels(slo, match, budget, named)),
    )


# The panels and queries are derived (Definition.derived): validated as the SLO was, and their
# queries are parsed and analysed by the validation pass with every dashboard's.


def _panel(slo: SLO, queries: Iterable[tuple[str, str]], **fields: Any) -> Panel:
    made = tuple(Query.derived(slo.origin, expr=expr, legend=legend) for expr, legend in queries)
    return Panel.derived(slo.origin, queries=made, **fields)  # type: ignore[no-any-return]


def _rolling_panels(slo: SLO, match: str, budget: str, named: Callable[[str], str], objective: str) -> tuple[Panel, ...]:
    return (
        _panel(
            slo,
            title=f"{slo.name}: SLI against objective",
            description=f"Share of good events over the last hour and over the period, against the objective ({objective}).",
            queries=(
                (f'1 - {BURN_RATE_RECORD}{{{match},window="1h"}} * {budget}', named("SLI, last 1h")),
                (f"1 - (1 - {BUDGET_REMAINING_RECORD}{{{match}}}) * {budget}", named(f"SLI, last {slo.period}")),
                (f"{OBJECTIVE_RECORD}{{{match}}}", "objective"),
            ),
            unit="percentunit",
            width=10,
        ),
        _panel(
            slo,
            title=f"{slo.name}: error budget remaining",
            kind="stat",
            description=f"Share of the {slo.period} error budget not yet spent; below 0 the objective is missed.",
            queries=((f"{BUDGET_REMAINING_RECORD}{{{match}}}", named("remaining")),),
            unit="percentunit",
            thresholds=BUDGET_THRESHOLDS,
            width=4,
        ),
        _panel(
            slo,
            title=f"{slo.name}: burn rate per window",
            description="Error ratio / error budget per window; 1 spends the budget exactly over the period.",
            queries=((f"{BURN_RATE_RECORD}{{{match}}}", named("{{window}}")),),
            unit="short",
            thresholds=BURN_THRESHOLDS,
            width=10,
        ),
    )


def _calendar_panels(slo: SLO, match: str, budget: str, named: Callable[[str], str]) -> tuple[Panel, ...]:
    """The calendar month and week so far (SLO.calendar), as an SLA report reads them."""
    if not slo.calendar:
        return ()
    periods = " and ".join(f"this {c}" for c in slo.calendar)
    return (
        _panel(
            slo,
            title=f"{slo.name}: error budget remaining, {periods}",
            kind="stat",
            description=f"Share of the budget not yet spent since the calendar {' and the ISO '.join(slo.calendar)} began (UTC); below 0 the objective is missed for it.",
            queries=((f"{TO_DATE_BUDGET_RECORD}{{{match}}}", named("this {{calendar}}")),),
            unit="percentunit",
            thresholds=BUDGET_THRESHOLDS,
            width=12,
        ),
        _panel(
            slo,
            title=f"{slo.name}: SLI, {periods}",
            kind="stat",
            description=f"Share of good events since the calendar {' and the ISO '.join(slo.calendar)} began (UTC), against the objective ({slo.objective:g}%).",
            queries=((f"1 - (1 - {TO_DATE_BUDGET_RECORD}{{{match}}}) * {budget}", named("this {{calendar}}")),),
            unit="percentunit",
            width=12,
        ),
    )

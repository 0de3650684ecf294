"""An alert's dashboard shows what the alert reads (`dashboard/alert-metric-missing`).

The on-call follows an alert's dashboard link to see the quantity that fired.
A link to a dashboard without one panel reading any metric of the alert's
expression sends them to graphs of something else. So: every alert with a
`dashboard` (declared alerts and, when the stack derives them, generated
ones) needs at least one panel on that dashboard whose queries read at least
one metric name the alert's expression reads.

Names are compared, not selectors: a panel on `up{job="app"}` counts
for an alert on `up{job="postgres-exporter"}`. Recording rules count both
ways, transitively: a series a rule records stands for the metrics of the
rule's expression, so an alert on a recorded series is shown by a panel
reading that series or anything it is recorded from, and a panel reading a
recorded series shows what the series is recorded from.

Dashboards are the declared ones (their panel definitions) and those a
compiler generates without a definition (the SLO dashboards, read from the
compiled JSON), so an alert may link to either by uid. An unknown uid is the
cross-reference check's finding, not this one's; so is an expression with an
error of its own (an unknown metric or label, a syntax error): one mistake is
reported once, and what such an expression reads is in doubt anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..model import Alert, Stack
from ..promql import PromQLError, metric_names, substitute_grafana_variables
from .dashboards import generated_queries
from .expressions import Analysis
from .findings import Finding, finding
from .promql_refs import ExpressionChecker

RULE = "dashboard/alert-metric-missing"


def check_alert_dashboards(
    stack: Stack, documents: dict[str, Any], emit: Callable[[Finding], None], analysis: Analysis | None = None
) -> None:
    """`analysis` (the validation pass's, already run): alerts whose expression it finds
    an error in are left to that finding."""
    sources = _recording_sources(stack)
    shown = _dashboard_metrics(stack, documents)
    broken = _broken_alerts(analysis) if analysis is not None else set()
    for alert in _alerts(stack):
        if alert.invalid or id(alert) in broken or alert.dashboard is None or alert.dashboard not in shown:
            continue
        try:
            read = metric_names(alert.expr)
        except PromQLError:  # promql/syntax reports it
            continue
        if not read:
            continue  # nothing to show (e.g. vector(1))
        if _expand(read, sources) & _expand(shown[alert.dashboard], sources):
            continue
        emit(finding(RULE, alert, "dashboard", _message(alert, sorted(read), sources)))


def _alerts(stack: Stack) -> tuple[Alert, ...]:
    """The declared alerts, plus the derived ones when the stack has them."""
    everything = getattr(stack, "all_alerts", None)
    return tuple(everything) if everything is not None else stack.alerts


def _broken_alerts(analysis: Analysis) -> set[int]:
    """ids of the alerts whose expression has an (unsilenced) error finding of the expression analysis."""
    broken: set[int] = set()
    for alert, source in analysis.alert_sources():
        tree = analysis.tree(source)
        if tree is None:
            broken.add(id(alert))
            continue
        found: list[Finding] = []
        ExpressionChecker(analysis.catalog, source, found.append).visit(tree)
        if any(f.level == "error" and f.rule not in alert.lint_ignore for f in found):
            broken.add(id(alert))
    return broken


def _recording_sources(stack: Stack) -> dict[str, frozenset[str]]:
    """Recorded series -> the metric names its rule's expression reads."""
    out: dict[str, frozenset[str]] = {}
    for rule in stack.recording_rules:
        if rule.invalid:
            continue
        try:
            out[rule.record] = frozenset(metric_names(rule.expr))
        except PromQLError:
            continue
    return out


def _expand(names: Iterable[str], sources: dict[str, frozenset[str]]) -> set[str]:
    """`names` and, transitively, what each recorded series among them is recorded from."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(sources.get(name, ()))
    return seen


def _query_metrics(expr: str) -> set[str]:
    try:
        return metric_names(substitute_grafana_variables(expr))
    except PromQLError:  # reported by the dashboard checks
        return set()


def _dashboard_metrics(stack: Stack, documents: dict[str, Any]) -> dict[str, set[str]]:
    """Dashboard uid -> every metric name its panels' queries read."""
    shown: dict[str, set[str]] = {}
    for dashboard in stack.dashboards:
        if dashboard.invalid:
            continue
        names = shown.setdefault(dashboard.uid, set())
        for panel in dashboard.panels:
            for query in panel.queries:
                names |= _query_metrics(query.expr)
    for uid, expr in generated_queries(stack, documents):
        shown.setdefault(uid, set()).update(_query_metrics(expr))
    return shown


def _message(alert: Alert, read: list[str], sources: dict[str, frozenset[str]]) -> str:
    parts = []
    for name in read:
        origin = sorted(_expand(sources[name], sources) - {name}) if name in sources else []
        parts.append(f"{name} (recorded from {', '.join(origin)})" if origin else name)
    it = "it" if len(read) == 1 else "one of them"
    return f"dashboard '{alert.dashboard}' shows none of {', '.join(parts)}; add a panel reading {it} or link another dashboard"

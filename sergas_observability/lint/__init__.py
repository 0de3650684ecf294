"""`sergas-obs lint`: catch broken monitoring before it ships.

`lint_stack(stack)` parses every expression of the stack (alerts, recording
rules, dashboard queries, SLO queries), cross-references each selector with
the declared metrics, checks alert and dashboard hygiene and each alert's
latency budget, runs promtool once over every expression and template, and
returns a Report. Each finding has a rule id (see `RULES`) and can be
silenced in its definition with `lint_ignore={"rule/id": "reason"}`.
"""

from __future__ import annotations

from typing import Any

from ..model import Alert, RecordingRule, Stack
from .alerts import check_alert
from .catalog import Catalog
from ..promql.grafana import parseable_query
from .dashboards import check_compiled, check_definition, generated_queries
from .expressions import Analysis
from .findings import RULES, Finding, LatencyFigure, Report
from .latency import LatencyModel, check_latency
from .notifications import check_notification_templates
from .promql_refs import Out, Source
from .silences import apply_silences
from .templates import check_with_promtool


def lint_stack(stack: Stack, *, promtool: bool = True, documents: dict[str, Any] | None = None) -> Report:
    """Lint `stack`. `promtool=False` skips the passes that run promtool and amtool.

    `documents` are the compiled outputs (default: the Grafana and
    Alertmanager compilers'), for the checks on dashboard JSON and on the
    receivers' notification templates.
    """
    found: list[Finding] = []
    emit = found.append
    if documents is None:
        from ..compile import alertmanager, grafana

        documents = {**grafana.compile(stack), **alertmanager.compile(stack)}
    catalog = Catalog(stack)
    generated = [
        Source(stack, f"dashboard '{uid}'", expr, parseable_query(expr), "dashboard")
        for uid, expr in generated_queries(stack, documents)
    ]
    analysis = Analysis(stack, catalog, generated)
    analysis.run(emit)

    if promtool:
        check_with_promtool(stack, analysis.sources, emit)

    rule_trees = {
        s.definition.record: analysis.tree(s)
        for s in analysis.sources
        if isinstance(s.definition, RecordingRule) and analysis.tree(s) is not None
    }
    latency = LatencyModel(stack, catalog, rule_trees)  # type: ignore[arg-type]
    figures: list[LatencyFigure] = []
    for alert, source in analysis.alert_sources():
        tree = analysis.tree(source)
        check_alert(stack, catalog, alert, tree, analysis.output(source), emit)
        if tree is not None:
            figures.append(check_latency(latency, alert, tree, emit))

    panel_outputs: dict[int, list[Out]] = {}
    for source in analysis.sources:
        if source.context == "dashboard":
            panel_outputs.setdefault(id(source.definition), []).append(analysis.output(source))
    for dashboard in stack.dashboards:
        check_definition(dashboard, panel_outputs, emit)
    check_compiled(stack, documents, emit)
    if promtool:
        check_notification_templates(stack, documents, emit)

    findings = _dedupe(apply_silences(stack, found))
    return Report(findings=findings, latency=figures)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per (definition, field, rule, message): a selector repeated in a query is one problem."""
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for item in findings:
        if item.key() not in seen:
            seen.add(item.key())
            out.append(item)
    return out


__all__ = ["RULES", "Finding", "LatencyFigure", "Report", "lint_stack", "Alert"]

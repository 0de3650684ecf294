"""Alert hygiene (monitoring-mixins conventions) beyond what the model enforces.

The model already rejects, at construction: names that are not CamelCase or
repeat, unknown severities, a summary not ending with '.', a runbook_url that
is not a URL, and a missing `for` without `no_for_reason`. This adds what
needs the whole stack or the expression's analysis.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import promql_parser as pp

from ..model import Alert, Stack, duration_seconds, format_duration
from ..model.base import did_you_mean
from ..promql import functions as fn
from .catalog import Catalog
from .findings import Finding, finding
from .promql_refs import Out

# A sentence end followed by more text: "Disk is full. Check it." is two sentences.
_SECOND_SENTENCE = re.compile(r"[.!?]\s+\S")
_LABEL_REF = re.compile(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)|index\s+\$labels\s+\"([A-Za-z_][A-Za-z0-9_]*)\"")
_DESCRIPTION_TEMPLATE = re.compile(r"\{\{[^}]*\$(labels|value)")


def check_alert(
    stack: Stack, catalog: Catalog, alert: Alert, tree: pp.Expr | None, out: Out, emit: Callable[[Finding], None]
) -> None:
    if _SECOND_SENTENCE.search(alert.summary.strip()):
        emit(finding("alert/summary-sentence", alert, "summary", f"summary '{alert.summary}' is more than one sentence; "
                     "put details in the description"))
    if not _DESCRIPTION_TEMPLATE.search(alert.description):
        emit(finding("alert/description-template", alert, "description",
                     "description names no series: use {{ $labels.<label> }} and/or {{ $value }}"))
    for field, text in _templates(alert):
        for label in _label_refs(text):
            if out.labels is None or label in out.labels:
                continue
            if label in catalog.external_labels:
                emit(finding("alert/template-label", alert, field,
                             f"$labels.{label} is empty: '{label}' is an external label, read it as $externalLabels.{label}"))
            elif label in ("severity", "service", "alertname") or label in alert.labels:
                emit(finding("alert/template-label", alert, field,
                             f"$labels.{label} is empty: templates see the series' labels, not the rule's own labels"))
            else:
                emit(finding("alert/template-label", alert, field,
                             f"$labels.{label} is empty: the expression's series carry only "
                             f"{sorted(out.labels) or 'no labels'}{did_you_mean(label, out.labels)}"))
    if tree is not None:
        top = _unwrap(tree)
        if isinstance(top, pp.BinaryExpr) and str(top.op) in fn.COMPARISON_OPERATORS and _returns_bool(top):
            emit(finding("alert/bool-comparison", alert, "expr",
                         f"'{top.op} bool' returns 0 or 1 for every series, so the alert always fires; drop 'bool'",
                         alert.expr))
        elif not _has_condition(top):
            emit(finding("alert/no-threshold", alert, "expr",
                         "the expression has no comparison, so the alert fires whenever any series exists",
                         alert.expr))
    for_seconds = duration_seconds(alert.for_)
    evaluation = max(duration_seconds(env.evaluation_interval) for env in stack.environments)
    if 0 < for_seconds < evaluation:
        emit(finding("alert/for-below-evaluation", alert, "for",
                     f"for {alert.for_} is shorter than the evaluation interval ({format_duration(evaluation)}): "
                     "the alert waits one whole evaluation anyway"))
    if alert.dashboard is None:
        emit(finding("alert/no-dashboard", alert, "dashboard",
                     "no dashboard: the on-call gets no link to the graphs behind the alert"))


def _templates(alert: Alert) -> Iterator[tuple[str, str]]:
    yield "summary", alert.summary
    yield "description", alert.description
    for value in alert.labels.values():
        yield "labels", value


def _label_refs(text: str) -> list[str]:
    refs: list[str] = []
    for action in re.findall(r"\{\{(.*?)\}\}", text, flags=re.S):
        refs.extend(a or b for a, b in _LABEL_REF.findall(action))
    return refs


def _unwrap(node: object) -> object:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node


def _returns_bool(node: pp.BinaryExpr) -> bool:
    return node.modifier is not None and bool(node.modifier.return_bool)


def _has_condition(node: object) -> bool:
    """Does the expression filter series (a comparison, absent(), ...) rather than return them all?"""
    node = _unwrap(node)
    if isinstance(node, pp.BinaryExpr):
        op = str(node.op)
        if op in fn.COMPARISON_OPERATORS:
            return not _returns_bool(node) or _has_condition(node.lhs) or _has_condition(node.rhs)
        if op in ("and", "unless"):
            return _has_condition(node.lhs) or (op == "and" and _has_condition(node.rhs))
        if op == "or":
            return _has_condition(node.lhs) and _has_condition(node.rhs)
        return False
    if isinstance(node, pp.Call):
        return node.func.name in fn.ABSENT_FUNCTIONS or any(_has_condition(arg) for arg in node.args)
    if isinstance(node, (pp.AggregateExpr, pp.UnaryExpr)):
        return _has_condition(node.expr)
    return False

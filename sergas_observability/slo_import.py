"""Import SLOs from Sloth (`prometheus/v1`, and its Kubernetes CRD) and OpenSLO.

`sergas-obs import sloth FILE` / `sergas-obs import openslo FILE` print Python
definitions to paste into definitions/ (review them: the source formats say
less than ours, e.g. about runbooks). Library users can call `load_sloth` /
`load_openslo` for validated SLO objects directly.

Their SLIs are PromQL with a `{{.window}}` placeholder; ours are selectors.
A query converts when it is a sum of `sum(rate(selector[{{.window}}]))`
terms (also `increase`, `sum without/by ()` of nothing); OpenSLO queries may
also be a plain selector. Anything else is refused with the SLO and field
named, rather than guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import promql_parser
import yaml

from .model import SLO, BurnRateTier, DefinitionError, RatioSLI
from .model.base import duration_seconds, format_duration
from .model.slo import DEFAULT_TIERS, camel
from .promql import PromQLError, format_selector, parse, selectors

try:  # the C loader parses the 1,000-SLO spec several times faster
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

DEFAULT_RUNBOOK = "https://runbooks.invalid/slo"
_WINDOW = "{{.window}}"
# sum(rate(<selector>[{{.window}}])), with no braces inside the matchers
_SUM_RATE = re.compile(r"^\s*sum\s*\(\s*rate\s*\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^{}]*\})?)\s*\[\{\{\.window\}\}\]\s*\)\s*\)\s*$")


class ImportError_(ValueError):
    """A spec that does not convert; the message names the SLO and the field."""


def _fail(where: str, field: str, message: str) -> ImportError_:
    return ImportError_(f"SLO '{where}' field '{field}': {message}")


# -- PromQL with {{.window}} -> selectors --------------------------------------------


def query_selectors(query: Any, where: str, field: str, allow_plain: bool = False) -> tuple[str, ...]:
    """The selectors whose rates `query` sums."""
    if not isinstance(query, str) or not query.strip():
        raise _fail(where, field, "query is missing")
    fast = _SUM_RATE.match(query)
    if fast:  # the usual shape: skip one parse (the SLO parses the selector anyway)
        return (fast.group(1),)
    text = query.replace(_WINDOW, "5m")
    try:
        tree = parse(text)
    except PromQLError as exc:
        raise _fail(where, field, str(exc)) from None
    if allow_plain and isinstance(tree, promql_parser.VectorSelector) and _WINDOW not in query:
        return (_selector_text(tree),)
    terms: list[str] = []
    _sum_terms(tree, terms, where, field)
    return tuple(terms)


def _sum_terms(node: Any, out: list[str], where: str, field: str) -> None:
    if isinstance(node, promql_parser.ParenExpr):
        return _sum_terms(node.expr, out, where, field)
    if isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "+":
        _sum_terms(node.lhs, out, where, field)
        _sum_terms(node.rhs, out, where, field)
        return None
    if isinstance(node, promql_parser.AggregateExpr) and str(node.op) == "sum" and not _grouped(node):
        node = node.expr
        while isinstance(node, promql_parser.ParenExpr):
            node = node.expr
    if isinstance(node, promql_parser.Call) and node.func.name in ("rate", "increase") and len(node.args) == 1:
        matrix = node.args[0]
        if isinstance(matrix, promql_parser.MatrixSelector):
            out.append(_selector_text(matrix.vector_selector))
            return None
    raise _fail(where, field, "only sums of sum(rate(<selector>[{{.window}}])) convert to our model; rewrite it as selectors")


def _grouped(node: Any) -> bool:
    modifier = getattr(node, "modifier", None)
    labels = getattr(modifier, "labels", None) if modifier is not None else None
    return bool(labels)


def _selector_text(node: Any) -> str:
    (selector,) = selectors(node)
    return format_selector(selector.metric or "", selector.matchers)


# -- Sloth ---------------------------------------------------------------------------


def _documents(text: str) -> list[dict[str, Any]]:
    try:
        docs = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.YAMLError as exc:
        raise ImportError_(f"not YAML: {str(exc).splitlines()[0]}") from None
    for doc in docs:
        if not isinstance(doc, dict):
            raise ImportError_("every YAML document must be a mapping")
    return docs


def load_sloth(text: str, page_severity: str = "P0", ticket_severity: str = "P1", runbook_base: str = DEFAULT_RUNBOOK) -> list[SLO]:
    """Sloth `prometheus/v1` specs (several YAML documents allowed) or PrometheusServiceLevel CRDs."""
    slos: list[SLO] = []
    for doc in _documents(text):
        if doc.get("kind") == "PrometheusServiceLevel":
            spec = doc.get("spec") or {}
        elif doc.get("version") == "prometheus/v1":
            spec = doc
        else:
            raise ImportError_(f"not a Sloth prometheus/v1 spec (version: {doc.get('version')!r}, kind: {doc.get('kind')!r})")
        service = str(spec.get("service") or "")
        for item in spec.get("slos") or ():
            slos.append(_sloth_slo(service, spec.get("labels") or {}, item, page_severity, ticket_severity, runbook_base))
    return slos


def _sloth_slo(service: str, labels: dict[str, str], item: dict[str, Any], page: str, ticket: str, runbook_base: str) -> SLO:
    name = item.get("name", "?")
    where = f"{service}/{name}"
    sli = item.get("sli") or {}
    events = sli.get("events")
    if not events:
        kind = next(iter(sli), "none")
        raise _fail(where, f"sli.{kind}", "only event SLIs (error_query / total_query) convert")
    error_query = events.get("error_query", events.get("errorQuery"))
    total_query = events.get("total_query", events.get("totalQuery"))
    bad = query_selectors(error_query, where, "sli.events.error_query")
    total = query_selectors(total_query, where, "sli.events.total_query")
    alerting = item.get("alerting") or {}
    annotations = {**(alerting.get("annotations") or {})}
    runbook = annotations.pop("runbook", None) or annotations.pop("runbook_url", None) or f"{runbook_base}/{service}-{name}"
    for key in ("summary", "description", "title"):
        annotations.pop(key, None)
    page_alert = alerting.get("page_alert", alerting.get("pageAlert")) or {}
    ticket_alert = alerting.get("ticket_alert", alerting.get("ticketAlert")) or {}
    tiers = tuple(
        t for t in DEFAULT_TIERS
        if not (t.action == "page" and page_alert.get("disable")) and not (t.action == "ticket" and ticket_alert.get("disable"))
    )
    alert_name = alerting.get("name") or ""
    fields: dict[str, Any] = {
        "service": service,
        "name": name,
        "objective": item.get("objective"),
        "description": item.get("description") or "",
        "sli": RatioSLI(bad=bad, total=total),
        "runbook_url": runbook,
        "page_severity": page,
        "ticket_severity": ticket,
        "labels": {**labels, **(item.get("labels") or {}), **(alerting.get("labels") or {})},
        "annotations": annotations,
        "alert_name": alert_name if not alert_name or alert_name[:1].isupper() else camel(alert_name),
    }
    if tiers != DEFAULT_TIERS:
        fields["tiers"] = tiers
    return _build(where, fields)


def _build(where: str, fields: dict[str, Any]) -> SLO:
    try:
        return SLO(**fields)
    except DefinitionError as exc:
        raise _fail(where, exc.field or "?", exc.message) from None


# -- OpenSLO -------------------------------------------------------------------------

_UNITS = {"Minute": "m", "Hour": "h", "Day": "d", "Week": "w"}


def load_openslo(text: str, page_severity: str = "P0", ticket_severity: str = "P1", runbook_base: str = DEFAULT_RUNBOOK) -> list[SLO]:
    """OpenSLO v1 and v1alpha `kind: SLO` documents with ratio metrics (Occurrences budgeting)."""
    docs = _documents(text)
    indicators: dict[str, Any] = {
        str((d.get("metadata") or {}).get("name")): d.get("spec") or {}
        for d in docs
        if d.get("kind") == "SLI" and str(d.get("apiVersion", "")).startswith("openslo/")
    }
    slos: list[SLO] = []
    for doc in docs:
        version = str(doc.get("apiVersion", ""))
        if not version.startswith("openslo/"):
            raise ImportError_(f"not an OpenSLO document (apiVersion: {version!r})")
        if doc.get("kind") != "SLO":
            continue
        slos.extend(_openslo_slos(doc, indicators, page_severity, ticket_severity, runbook_base))
    return slos


def _openslo_slos(doc: dict[str, Any], indicators: dict[str, Any], page: str, ticket: str, runbook_base: str) -> Iterable[SLO]:
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    service, base_name = spec.get("service"), meta.get("name", "?")
    where = f"{service}/{base_name}"
    method = spec.get("budgetingMethod", "Occurrences")
    if method != "Occurrences":
        raise _fail(where, "spec.budgetingMethod", f"{method} budgeting does not convert (only Occurrences: events, not time slices)")
    period = _openslo_period(spec, where)
    indicator = spec.get("indicator")
    if indicator is None and spec.get("indicatorRef"):
        indicator = {"spec": indicators.get(spec["indicatorRef"])}
        if indicator["spec"] is None:
            raise _fail(where, "spec.indicatorRef", f"no SLI named '{spec['indicatorRef']}' in this file")
    objectives = spec.get("objectives") or []
    if not objectives:
        raise _fail(where, "spec.objectives", "at least one objective is needed")
    annotations = dict(meta.get("annotations") or {})
    runbook = annotations.pop("runbook", None) or annotations.pop("runbook_url", None) or f"{runbook_base}/{service}-{base_name}"
    for index, objective in enumerate(objectives):
        name = base_name if len(objectives) == 1 else f"{base_name}-{objective.get('name') or index + 1}"
        where = f"{service}/{name}"
        ratio = objective.get("ratioMetrics") or (indicator or {}).get("spec", {}).get("ratioMetric")
        if not ratio:
            raise _fail(where, "spec.indicator", "only ratio metrics (good or bad over total) convert")
        sli = {key: _openslo_query(ratio[key], where, key) for key in ("good", "bad", "total") if ratio.get(key)}
        target = objective.get("target")
        percent = objective.get("targetPercent", None if target is None else round(float(target) * 100, 10))
        fields: dict[str, Any] = {
            "service": service,
            "name": name,
            "objective": percent,
            "description": spec.get("description") or "",
            "period": period,
            "sli": {"type": "ratio", **sli},
            "runbook_url": runbook,
            "page_severity": page,
            "ticket_severity": ticket,
            "labels": {k: str(v) for k, v in (meta.get("labels") or {}).items() if isinstance(v, (str, int, float))},
        }
        yield _build(where, fields)


def _openslo_query(metric: dict[str, Any], where: str, key: str) -> tuple[str, ...]:
    source = metric.get("metricSource") or {}
    query = (source.get("spec") or {}).get("query") or metric.get("query")
    kind = source.get("type") or metric.get("source") or "prometheus"
    if str(kind).lower() != "prometheus":
        raise _fail(where, f"ratioMetric.{key}", f"source '{kind}' is not Prometheus")
    return query_selectors(str(query or ""), where, f"ratioMetric.{key}", allow_plain=True)


def _openslo_period(spec: dict[str, Any], where: str) -> str:
    windows = spec.get("timeWindow") or spec.get("timeWindows") or [{"duration": "30d", "isRolling": True}]
    window = windows[0]
    if not window.get("isRolling", True):
        raise _fail(where, "spec.timeWindow", "calendar-aligned windows do not convert (only rolling ones)")
    if "duration" in window:
        text = str(window["duration"])
    else:
        unit = _UNITS.get(window.get("unit"))
        if unit is None:
            raise _fail(where, "spec.timeWindows", f"unit {window.get('unit')!r} does not convert")
        text = f"{window.get('count')}{unit}"
    try:
        return format_duration(duration_seconds(text))
    except ValueError as exc:
        raise _fail(where, "spec.timeWindow", str(exc)) from None


# -- printing Python definitions -----------------------------------------------------------


def render_python(slos: Iterable[SLO], source: str) -> str:
    """Python source defining SLOS, for definitions/ (only non-default fields)."""
    slos = list(slos)
    lines = [
        f'"""SLOs imported from {source} by sergas-obs; review them (runbooks!) and add SLOS to the Stack."""',
        "",
        "from sergas_observability.model import SLO, BurnRateTier, RatioSLI" if any(s.tiers != DEFAULT_TIERS for s in slos)
        else "from sergas_observability.model import SLO, RatioSLI",
        "",
        "SLOS = (",
    ]
    defaults = SLO.model_fields
    for slo in slos:
        lines.append("    SLO(")
        for field in ("service", "name", "objective", "period", "description", "sli", "runbook_url", "page_severity",
                      "ticket_severity", "tiers", "min_traffic", "alert_name", "labels", "annotations"):
            value = getattr(slo, field)
            if field == "alert_name" and value == camel(slo.name) + "BudgetBurn":
                continue
            if field not in ("service", "name", "objective", "sli", "runbook_url") and value == defaults[field].default:
                continue
            lines.append(f"        {field}={_py(value)},")
        lines.append("    ),")
    lines.append(")")
    return "\n".join(lines) + "\n"


def _py(value: Any) -> str:
    if isinstance(value, RatioSLI):
        parts = [f"{k}={_py(v[0] if len(v) == 1 else v)}" for k, v in value.selector_fields().items()]
        return f"RatioSLI({', '.join(parts)})"
    if isinstance(value, BurnRateTier):
        fields = value.model_dump(exclude_defaults=True)
        return "BurnRateTier(" + ", ".join(f"{k}={_py(v)}" for k, v in fields.items()) + ")"
    if isinstance(value, tuple):
        return "(" + ", ".join(_py(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):  # as in definitions/: "text", and 'selector{a="b"}'
        if '"' in value and "'" not in value and "\\" not in value and value.isprintable():
            return f"'{value}'"
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are Python escapes
    return repr(value)

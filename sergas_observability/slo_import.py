"""Import SLOs from Sloth (`prometheus/v1`, and its Kubernetes CRD) and OpenSLO.

`sergas-obs import sloth FILE` / `sergas-obs import openslo FILE` print Python
definitions to paste into definitions/ (review them: the source formats say
less than ours, e.g. about runbooks). Library users can call `load_sloth` /
`load_openslo` for validated SLO objects directly.

Their SLIs are PromQL with a `{{.window}}` placeholder; ours are selectors.
A query converts when it is a sum of `sum(rate(selector[{{.window}}]))`
terms (also `increase`, `sum without/by ()` of nothing); OpenSLO queries may
also be a plain selector. A 0/1 gauge (Pyrra's bool_gauge, an OpenSLO
threshold metric `gte 1`) becomes a ProbeSLI, OpenSLO calendar windows of a
month or a week SLO.calendar. Anything else is refused with the SLO and field
named, rather than guessed.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import promql_parser
import yaml

from .model import SLO, BurnRateTier, DefinitionError, LatencySLI, ProbeSLI, RatioSLI
from .model.base import duration_seconds, format_duration
from .model.slo import DEFAULT_TIERS, camel
from .promql import PromQLError, format_selector, parse, selectors

try:  # the C loader parses the 1,000-SLO spec several times faster
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

DEFAULT_RUNBOOK = "https://runbooks.invalid/slo"
# A 0/1 gauge's scrape interval, which no source format states: Prometheus's default.
DEFAULT_PROBE_INTERVAL = "1m"
_WINDOW = "{{.window}}"
_WINDOW_SPELLINGS = re.compile(r"\{\{\s*\.window\s*\}\}")
# sum(rate(<selector>[{{.window}}])), with no braces inside the matchers
_SUM_RATE = re.compile(r"^\s*sum\s*\(\s*rate\s*\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^{}]*\})?)\s*\[\{\{\.window\}\}\]\s*\)\s*\)\s*$")


class ImportError_(ValueError):
    """A spec that does not convert; the message names the document, the SLO and the field."""


def _fail(subject: str, field: str, message: str) -> ImportError_:
    """`subject` says where: "document 2: SLO 'checkout/orders'", "document 2: SLO #3" or "document 2:"."""
    return ImportError_(f"{subject} field '{field}': {message}")


# -- typed access to the parsed YAML ---------------------------------------------

_NUMBER = (int, float)
_KINDS: dict[Any, str] = {str: "a string", _NUMBER: "a number", int: "a whole number", bool: "true or false",
                          dict: "a mapping", list: "a list"}
_REQUIRED: Any = object()


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check(value: Any, kind: Any, subject: str, field: str) -> Any:
    """`value` when it is of `kind` (YAML's true/false is no number)."""
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise _fail(subject, field, f"expected {_KINDS[kind]}, got {_shown(value)}")


def _get(mapping: dict[Any, Any], key: str, kind: Any, subject: str, field: str, default: Any = _REQUIRED) -> Any:
    """mapping[key] of `kind`; a key left empty in YAML counts as absent."""
    value = mapping.get(key)
    if value is None:
        if default is _REQUIRED:
            raise _fail(subject, field, "is missing")
        return default
    return _check(value, kind, subject, field)


def _strings(mapping: dict[Any, Any], key: str, subject: str, field: str) -> dict[str, str]:
    """A mapping of strings to strings (labels, annotations), {} when absent. A YAML scalar
    that is not a string (`generated: true`) is the text it was written as: every label is."""
    value = _get(mapping, key, dict, subject, field, {})
    texts: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str):
            raise _fail(subject, field, f"names must be strings, got {_shown(name)}")
        if isinstance(text, bool):
            text = "true" if text else "false"
        elif isinstance(text, (int, float)):
            text = str(text)
        texts[name] = _check(text, str, subject, f"{field}.{name}")
    return texts


def _spelling(mapping: dict[Any, Any], snake: str, camel_case: str) -> str:
    """The key `mapping` uses: Sloth accepts both error_query and errorQuery."""
    return camel_case if mapping.get(snake) is None and mapping.get(camel_case) is not None else snake


def _documents(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(number, document) for each non-empty YAML document, numbered from 1 as they appear
    ("2[3]": the third item of a document that is a list)."""
    try:
        found = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
        detail = f"{problem} (line {mark.line + 1})" if mark is not None and problem else str(exc).splitlines()[0]
        raise ImportError_(f"not YAML: {detail}") from None
    except ValueError as exc:  # a scalar YAML resolves that Python refuses: 2024-13-45, an over-long integer
        raise ImportError_(f"not YAML: {str(exc).split(';')[0]}") from None
    docs: list[tuple[str, dict[str, Any]]] = []
    for number, doc in enumerate(found, 1):
        if isinstance(doc, list):  # a list of documents in one (OpenSLO allows it)
            docs += [(f"{number}[{index}]", item) for index, item in enumerate(doc, 1)]
        elif doc is not None:
            docs.append((str(number), doc))
    if not docs:
        raise ImportError_("the file holds no YAML document")
    for number, doc in docs:
        if not isinstance(doc, dict):
            raise ImportError_(f"document {number}: expected a mapping, got {_shown(doc)}")
    return docs


@contextmanager
def _each(refused: list[str] | None) -> Iterator[None]:
    """Convert one SLO (or document): with `refused`, a refusal is recorded there and
    the next one converts; without, it is raised."""
    try:
        yield
    except ImportError_ as exc:
        if refused is None:
            raise
        refused.append(str(exc))


def _build(subject: str, fields: dict[str, Any], sources: dict[str, str]) -> SLO:
    """The SLO; a DefinitionError names the field as the spec spells it (`sources`: ours -> theirs)."""
    try:
        return SLO(**fields)
    except DefinitionError as exc:
        field = exc.field or "?"
        head, dot, rest = field.partition(".")
        source = sources.get(field) or (sources[head] + dot + rest if head in sources else field)
        raise _fail(subject, source, exc.message) from None


# -- PromQL with {{.window}} -> selectors --------------------------------------------


def query_selectors(query: Any, where: str, field: str, allow_plain: bool = False) -> tuple[str, ...]:
    """The selectors whose rates `query` sums (`where`: the SLO's service/name, for errors)."""
    return _query_selectors(query, f"SLO '{where}'", field, allow_plain)


def _query_tree(query: Any, subject: str, field: str) -> tuple[str, Any]:
    """The query with `{{ .window }}` spelt one way, and its tree (the window read as 5m)."""
    if not isinstance(query, str) or not query.strip():
        raise _fail(subject, field, "query is missing")
    query = _WINDOW_SPELLINGS.sub(_WINDOW, query)
    try:
        return query, _unfilled(parse(query.replace(_WINDOW, "5m")))
    except PromQLError as exc:
        raise _fail(subject, field, str(exc)) from None


def _query_selectors(query: Any, subject: str, field: str, allow_plain: bool = False) -> tuple[str, ...]:
    fast = _SUM_RATE.match(query) if isinstance(query, str) else None
    if fast:  # the usual shape: skip one parse (the SLO parses the selector anyway)
        return (fast.group(1),)
    query, tree = _query_tree(query, subject, field)
    if allow_plain and isinstance(tree, promql_parser.VectorSelector) and _WINDOW not in query:
        return (_selector_text(tree),)
    terms: list[str] = []
    _sum_terms(tree, terms, subject, field)
    return tuple(terms)


def _unfilled(node: Any) -> Any:
    """`x or vector(0)` is x: our rules fill in a missing rate with 0 themselves."""
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    if (isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "or" and isinstance(node.rhs, promql_parser.Call)
            and node.rhs.func.name == "vector" and str(node.rhs.args[0]) in ("0", "0.0")):
        return _unfilled(node.lhs)
    return node


def _sum_terms(node: Any, out: list[str], subject: str, field: str) -> None:
    node = _unfilled(node)
    if isinstance(node, promql_parser.ParenExpr):
        return _sum_terms(node.expr, out, subject, field)
    if isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "+":
        _sum_terms(node.lhs, out, subject, field)
        _sum_terms(node.rhs, out, subject, field)
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
    raise _fail(subject, field, "only sums of sum(rate(<selector>[{{.window}}])) convert to our model; rewrite it as selectors")


def _grouped(node: Any) -> bool:
    modifier = getattr(node, "modifier", None)
    labels = getattr(modifier, "labels", None) if modifier is not None else None
    return bool(labels)


def _selector_text(node: Any) -> str:
    (selector,) = selectors(node)
    return format_selector(selector.metric or "", selector.matchers)


def _sli(bad: Any, total: Any, subject: str, bad_field: str, total_field: str, good: Any = None) -> dict[str, Any]:
    """Our SLI from their bad (or good) and total queries, trees or text.

    `count - bucket` as the bad query, or a good query over total, becomes a
    good/total ratio; a histogram's `le` bucket over its count becomes a
    LatencySLI (whose rules read the bucket exactly as the client writes it)."""
    fields: dict[str, Any] = {"type": "ratio"}
    if good is not None:
        fields["good"] = _terms(good, subject, bad_field)
    else:
        tree = bad if not isinstance(bad, str) else _query_tree(bad, subject, bad_field)[1]
        if isinstance(tree, promql_parser.BinaryExpr) and str(tree.op) == "-":
            minuend, subtrahend = _terms(tree.lhs, subject, bad_field), _terms(tree.rhs, subject, bad_field)
            if minuend != _terms(total, subject, total_field):
                raise _fail(subject, bad_field, "a difference converts only as total - good (its left side must be the total query)")
            fields["good"] = subtrahend
        else:
            fields["bad"] = _terms(tree, subject, bad_field)
    fields["total"] = _terms(total, subject, total_field)
    return _as_latency(fields) if "good" in fields else fields


def _terms(query: Any, subject: str, field: str) -> tuple[str, ...]:
    if isinstance(query, str):
        return _query_selectors(query, subject, field, allow_plain=True)
    terms: list[str] = []
    _sum_terms(query, terms, subject, field)
    return tuple(terms)


def _as_latency(fields: dict[str, Any]) -> dict[str, Any]:
    """good = `x_bucket{..., le="T"}`, total = `x_count{...}` (same other matchers): a LatencySLI."""
    if len(fields["good"]) != 1 or len(fields["total"]) != 1:
        return fields
    (good,), (total,) = selectors(fields["good"][0]), selectors(fields["total"][0])
    le = [m for m in good.matchers if m[0] == "le"]
    rest = [m for m in good.matchers if m[0] != "le"]
    name = (good.metric or "").removesuffix("_bucket")
    if (len(le) != 1 or le[0][1] != "=" or not (good.metric or "").endswith("_bucket") or total.metric != f"{name}_count"
            or sorted(rest) != sorted(total.matchers)):
        return fields
    try:
        threshold = float(le[0][2])
    except ValueError:
        return fields
    return {"type": "latency", "histogram": format_selector(name, rest), "threshold": threshold}


# -- Sloth ---------------------------------------------------------------------------

# Our SLO's fields as Sloth spells them, for the model's errors.
_SLOTH_FIELDS = {
    "sli.bad": "sli.events.error_query", "sli.total": "sli.events.total_query", "alert_name": "alerting.name",
    "runbook_url": "alerting.annotations.runbook", "annotations": "alerting.annotations", "tiers": "alerting",
}


def load_sloth(text: str, page_severity: str = "", ticket_severity: str = "", runbook_base: str = DEFAULT_RUNBOOK,
               refused: list[str] | None = None) -> list[SLO]:
    """Sloth `prometheus/v1` specs (several YAML documents allowed) or PrometheusServiceLevel CRDs.

    With `refused`, an SLO (or document) that does not convert is recorded
    there, named with its reason, and the others still convert; without, the
    first refusal raises ImportError_."""
    slos: list[SLO] = []
    for number, doc in _documents(text):
        with _each(refused):
            _sloth_document(number, doc, page_severity, ticket_severity, runbook_base, slos, refused)
    return slos


def _sloth_document(number: str, doc: dict[str, Any], page_severity: str, ticket_severity: str, runbook_base: str,
                    slos: list[SLO], refused: list[str] | None) -> None:
    """One document's SLOs, each converted on its own, into `slos`."""
    subject = f"document {number}:"
    if doc.get("kind") == "PrometheusServiceLevel":
        spec, prefix = _get(doc, "spec", dict, subject, "spec"), "spec."
    elif doc.get("version") == "prometheus/v1":
        spec, prefix = doc, ""
    else:
        raise ImportError_(f"{subject} not a Sloth prometheus/v1 spec (version: {_shown(doc.get('version'))}, kind: {_shown(doc.get('kind'))})")
    service = _get(spec, "service", str, subject, f"{prefix}service")
    labels = _strings(spec, "labels", subject, f"{prefix}labels")
    items = _get(spec, "slos", list, subject, f"{prefix}slos")
    if not items:
        raise _fail(subject, f"{prefix}slos", "at least one SLO is needed")
    for position, item in enumerate(items, 1):
        with _each(refused):
            unnamed = f"{subject} SLO #{position}"
            _check(item, dict, unnamed, f"{prefix}slos")
            name = _get(item, "name", str, unnamed, "name")
            slo_subject = f"{subject} SLO '{service}/{name}'"
            slo = _sloth_slo(slo_subject, service, name, labels, item, page_severity, ticket_severity, runbook_base)
            slos.append(_build(slo_subject, slo, {**_SLOTH_FIELDS, "service": f"{prefix}service"}))


def _raw_ratio(query: str, subject: str, field: str) -> dict[str, Any]:
    """`bad / total`, `(total - good) / total` or `1 - good / total`: our SLI."""
    _, tree = _query_tree(query, subject, field)
    complement = (isinstance(tree, promql_parser.BinaryExpr) and str(tree.op) == "-"
                  and isinstance(tree.lhs, promql_parser.NumberLiteral) and tree.lhs.val == 1)
    ratio = _unfilled(tree.rhs) if complement else tree
    if not (isinstance(ratio, promql_parser.BinaryExpr) and str(ratio.op) == "/"):
        raise _fail(subject, field, "a raw SLI converts when it is a ratio of sums of rates: bad / total, or 1 - good / total")
    if complement:
        return _sli(None, ratio.rhs, subject, field, field, good=ratio.lhs)
    return _sli(_unfilled(ratio.lhs), ratio.rhs, subject, field, field)


def _sloth_slo(subject: str, service: str, name: str, labels: dict[str, str], item: dict[str, Any], page: str, ticket: str,
               runbook_base: str) -> dict[str, Any]:
    """The SLO's fields, from one entry of `slos`."""
    sli = _get(item, "sli", dict, subject, "sli")
    events = _get(sli, "events", dict, subject, "sli.events", None)
    raw = _get(sli, "raw", dict, subject, "sli.raw", None)
    if events is not None:
        bad_key, total_key = _spelling(events, "error_query", "errorQuery"), _spelling(events, "total_query", "totalQuery")
        ours = _sli(_get(events, bad_key, str, subject, f"sli.events.{bad_key}", ""), _get(events, total_key, str, subject, f"sli.events.{total_key}", ""),
                    subject, f"sli.events.{bad_key}", f"sli.events.{total_key}")
    elif raw is not None:
        key = _spelling(raw, "error_ratio_query", "errorRatioQuery")
        ours = _raw_ratio(_get(raw, key, str, subject, f"sli.raw.{key}", ""), subject, f"sli.raw.{key}")
    else:
        kind = next(iter(sli), "events")
        raise _fail(subject, f"sli.{kind}", "only event and raw SLIs convert (plugins do not)")
    alerting = _get(item, "alerting", dict, subject, "alerting", {})
    annotations = {**_strings(alerting, "annotations", subject, "alerting.annotations")}
    runbook = annotations.pop("runbook", None) or annotations.pop("runbook_url", None) or f"{runbook_base}/{service}-{name}"
    for key in ("summary", "description", "title"):
        annotations.pop(key, None)
    disabled: set[str] = set()
    for action in ("page", "ticket"):
        key = _spelling(alerting, f"{action}_alert", f"{action}Alert")
        alert = _get(alerting, key, dict, subject, f"alerting.{key}", {})
        if _get(alert, "disable", bool, subject, f"alerting.{key}.disable", False):
            disabled.add(action)
    tiers = tuple(t for t in DEFAULT_TIERS if t.action not in disabled)
    alert_name = _get(alerting, "name", str, subject, "alerting.name", "")
    fields: dict[str, Any] = {
        "service": service,
        "name": name,
        "objective": _get(item, "objective", _NUMBER, subject, "objective"),
        "description": _get(item, "description", str, subject, "description", ""),
        "sli": ours,
        "runbook_url": runbook,
        "page_severity": page,
        "ticket_severity": ticket,
        "labels": {**labels, **_strings(item, "labels", subject, "labels"), **_strings(alerting, "labels", subject, "alerting.labels")},
        "annotations": annotations,
        "alert_name": alert_name if not alert_name or alert_name[:1].isupper() else camel(alert_name),
    }
    if tiers != DEFAULT_TIERS:
        fields["tiers"] = tiers
    return fields


# -- OpenSLO -------------------------------------------------------------------------

_UNITS = {"Minute": "m", "Hour": "h", "Day": "d", "Week": "w"}


def load_openslo(text: str, page_severity: str = "", ticket_severity: str = "", runbook_base: str = DEFAULT_RUNBOOK,
                 refused: list[str] | None = None) -> list[SLO]:
    """OpenSLO v1 and v1alpha `kind: SLO` documents with ratio metrics (Occurrences budgeting).

    `refused` as for load_sloth: per SLO document."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for number, doc in _documents(text):
        with _each(refused):
            subject = f"document {number}:"
            version = _get(doc, "apiVersion", str, subject, "apiVersion", "")
            if not version.startswith("openslo/"):
                raise ImportError_(f"{subject} not an OpenSLO document (apiVersion: {version!r})")
            found.append((number, _get(doc, "kind", str, subject, "kind", ""), doc))
    indicators: dict[str, tuple[str, dict[str, Any]]] = {}  # SLI name -> (subject for errors, spec)
    for number, kind, doc in found:
        if kind == "SLI":
            subject = f"document {number}:"
            name = _get(_get(doc, "metadata", dict, subject, "metadata"), "name", str, subject, "metadata.name")
            indicators[name] = (f"{subject} SLI '{name}'", _get(doc, "spec", dict, f"{subject} SLI '{name}'", "spec"))
    slos: list[SLO] = []
    for number, kind, doc in found:
        if kind == "SLO":
            with _each(refused):
                slos.extend(list(_openslo_slos(f"document {number}:", doc, indicators, page_severity, ticket_severity, runbook_base)))
    if not slos and not refused:
        raise ImportError_("no OpenSLO document of kind SLO in the file")
    return slos


def _openslo_slos(subject: str, doc: dict[str, Any], indicators: dict[str, tuple[str, dict[str, Any]]], page: str, ticket: str,
                  runbook_base: str) -> Iterable[SLO]:
    meta = _get(doc, "metadata", dict, subject, "metadata")
    base_name = _get(meta, "name", str, subject, "metadata.name")
    spec = _get(doc, "spec", dict, f"{subject} SLO '{base_name}'", "spec")
    service = _get(spec, "service", str, f"{subject} SLO '{base_name}'", "spec.service")
    where = f"{subject} SLO '{service}/{base_name}'"
    method = _get(spec, "budgetingMethod", str, where, "spec.budgetingMethod", "Occurrences")
    if method != "Occurrences":
        raise _fail(where, "spec.budgetingMethod", f"{method} budgeting does not convert (only Occurrences: events, not time slices)")
    period, period_field, calendar = _openslo_period(spec, where)
    # The SLI is inline or another document: its ratio metric's subject and field, and the SLO's field naming it.
    ref = _get(spec, "indicatorRef", str, where, "spec.indicatorRef", None)
    indicator = _get(spec, "indicator", dict, where, "spec.indicator", None)
    if indicator is not None or ref is None:
        sli_subject, sli_field, named_by = where, "spec.indicator.spec.ratioMetric", "spec.indicator"
        indicator_spec = _get(indicator or {}, "spec", dict, where, "spec.indicator.spec", {})
    elif ref in indicators:
        (sli_subject, indicator_spec), sli_field, named_by = indicators[ref], "spec.ratioMetric", "spec.indicatorRef"
    else:
        raise _fail(where, "spec.indicatorRef", f"no SLI named '{ref}' in this file")
    indicator_ratio = _get(indicator_spec, "ratioMetric", dict, sli_subject, sli_field, None)
    threshold_field = sli_field.removesuffix("ratioMetric") + "thresholdMetric"
    threshold = _get(indicator_spec, "thresholdMetric", dict, sli_subject, threshold_field, None)
    objectives = _get(spec, "objectives", list, where, "spec.objectives", [])
    if not objectives:
        raise _fail(where, "spec.objectives", "at least one objective is needed")
    annotations = _strings(meta, "annotations", where, "metadata.annotations")
    runbook = annotations.get("runbook") or annotations.get("runbook_url") or f"{runbook_base}/{service}-{base_name}"
    labels = _get(meta, "labels", dict, where, "metadata.labels", {})
    for index, objective in enumerate(objectives):
        _check(objective, dict, where, "spec.objectives")
        suffix = _get(objective, "name", str, where, "spec.objectives.name", None) or index + 1
        name = base_name if len(objectives) == 1 else f"{base_name}-{suffix}"
        slo_where = f"{subject} SLO '{service}/{name}'"
        ratio_subject, ratio_field = slo_where, "spec.objectives.ratioMetrics"  # v1alpha
        ratio = _get(objective, "ratioMetrics", dict, slo_where, ratio_field, None)
        if ratio is None:
            ratio_subject, ratio_field, ratio = sli_subject, sli_field, indicator_ratio
        if ratio is None and threshold is not None:
            ratio_subject, ratio_field = sli_subject, threshold_field
            sli = _openslo_threshold(threshold, objective, sli_subject, threshold_field, slo_where)
        elif ratio is None:
            raise _fail(slo_where, named_by, "only ratio metrics (good or bad over total) and 0/1 threshold metrics convert")
        else:
            sli = {key: _openslo_query(ratio[key], ratio_subject, f"{ratio_field}.{key}") for key in ("good", "bad", "total") if ratio.get(key)}
            sli = _as_latency({"type": "ratio", **sli}) if set(sli) == {"good", "total"} else {"type": "ratio", **sli}
        percent = _get(objective, "targetPercent", _NUMBER, slo_where, "spec.objectives.targetPercent", None)
        target_field = "spec.objectives.targetPercent"
        if percent is None:
            target_field = "spec.objectives.target"
            percent = round(_get(objective, "target", _NUMBER, slo_where, target_field) * 100, 10)
        fields: dict[str, Any] = {
            "service": service,
            "name": name,
            "objective": percent,
            "description": _get(spec, "description", str, slo_where, "spec.description", ""),
            "period": period,
            "calendar": calendar,
            "sli": sli,
            "runbook_url": runbook,
            "page_severity": page,
            "ticket_severity": ticket,
            "labels": {k: str(v) for k, v in labels.items() if isinstance(v, (str, int, float))},
        }
        sources = {"service": "spec.service", "name": "metadata.name", "objective": target_field, "period": period_field, "calendar": period_field,
                   "sli": ratio_field if ratio_subject == slo_where else named_by, "labels": "metadata.labels",
                   "runbook_url": "metadata.annotations.runbook", "description": "spec.description"}
        yield _build(slo_where, fields, sources)


def _openslo_query(metric: Any, subject: str, field: str) -> tuple[str, ...]:
    metric = _check(metric, dict, subject, field)
    source = _get(metric, "metricSource", dict, subject, f"{field}.metricSource", {})
    query = (_get(_get(source, "spec", dict, subject, f"{field}.metricSource.spec", {}), "query", str, subject, f"{field}.metricSource.spec.query", None)
             or _get(metric, "query", str, subject, f"{field}.query", ""))
    kind = (_get(source, "type", str, subject, f"{field}.metricSource.type", None)
            or _get(metric, "source", str, subject, f"{field}.source", "prometheus"))
    if kind.lower() != "prometheus":
        raise _fail(subject, field, f"source '{kind}' is not Prometheus")
    return _query_selectors(query, subject, field, allow_plain=True)


def _openslo_threshold(metric: dict[str, Any], objective: dict[str, Any], subject: str, field: str, where: str) -> dict[str, Any]:
    """A threshold metric whose good samples are its 1s - a 0/1 gauge such as probe_success - as a ProbeSLI."""
    (selector,) = _openslo_query(metric, subject, field) or ("",)
    op, value = objective.get("op"), objective.get("value")
    if (op, value) not in (("gte", 1), ("gt", 0)) or len(_openslo_query(metric, subject, field)) != 1:
        raise _fail(where, "spec.objectives.op", f"a threshold metric converts as a 0/1 gauge (op gte, value 1: each sample is an event); "
                                                 f"{selector} {op} {value} has no equivalent (a quantile's samples are not events)")
    return {"type": "probe", "success": selector, "interval": DEFAULT_PROBE_INTERVAL}


# OpenSLO calendar windows that convert: one calendar month or ISO week, counted from its start in UTC.
_CALENDARS = {"1M": "month", "1w": "week", "7d": "week"}
_CALENDAR_PERIODS = {"month": "30d", "week": "7d"}


def _openslo_period(spec: dict[str, Any], subject: str) -> tuple[str, str, tuple[str, ...]]:
    """The period, the field it is written in, and its calendar period when it is calendar-aligned."""
    key = "timeWindow" if spec.get("timeWindow") is not None or spec.get("timeWindows") is None else "timeWindows"
    field = f"spec.{key}"
    windows = _get(spec, key, list, subject, field, [])
    if not windows:
        return "30d", field, ()
    window = _check(windows[0], dict, subject, field)
    duration = _get(window, "duration", str, subject, f"{field}.duration", None)
    if duration is None:
        unit = _get(window, "unit", str, subject, f"{field}.unit")
        if unit not in (*_UNITS, "Month"):
            raise _fail(subject, f"{field}.unit", f"unit {unit!r} does not convert (Minute, Hour, Day, Week, or a calendar Month)")
        duration = f"{_get(window, 'count', int, subject, f'{field}.count')}{_UNITS.get(unit, 'M')}"
    if not _get(window, "isRolling", bool, subject, f"{field}.isRolling", True):
        calendar = _openslo_calendar(window, duration, subject, field)
        return _CALENDAR_PERIODS[calendar], field, (calendar,)
    try:
        return format_duration(duration_seconds(duration)), field, ()
    except ValueError as exc:
        raise _fail(subject, field, str(exc)) from None


def _openslo_calendar(window: dict[str, Any], duration: str, subject: str, field: str) -> str:
    """month or week: a calendar window of one, in UTC, starting where our periods start."""
    calendar = _CALENDARS.get(duration)
    if calendar is None:
        raise _fail(subject, f"{field}.duration", f"calendar windows convert for one month or one week (1M, 1w); {duration} does not")
    spec = _get(window, "calendar", dict, subject, f"{field}.calendar", {})
    zone = _get(spec, "timeZone", str, subject, f"{field}.calendar.timeZone", "UTC")
    if zone not in ("UTC", "Etc/UTC", "GMT", "Z"):
        raise _fail(subject, f"{field}.calendar.timeZone", f"the calendar counts are UTC; time zone {zone!r} does not convert")
    start_text = _get(spec, "startTime", str, subject, f"{field}.calendar.startTime", "")
    if start_text:
        try:
            start = datetime.datetime.fromisoformat(start_text.replace("Z", "+00:00"))
        except ValueError:
            raise _fail(subject, f"{field}.calendar.startTime", f"{start_text!r} is not a date and time such as '2026-01-01 00:00:00'") from None
        aligned = start.time() == datetime.time() and (start.day == 1 if calendar == "month" else start.weekday() == 0)
        if not aligned:
            raise _fail(subject, f"{field}.calendar.startTime",
                        f"a {calendar} starts at 00:00 UTC on {'the 1st' if calendar == 'month' else 'a Monday'}; {start_text!r} does not")
    return calendar


# -- Pyrra ---------------------------------------------------------------------------


def load_pyrra(text: str, page_severity: str = "", ticket_severity: str = "", runbook_base: str = DEFAULT_RUNBOOK,
               refused: list[str] | None = None) -> list[SLO]:
    """Pyrra `ServiceLevelObjective` resources (pyrra.dev/v1alpha1): ratio, latency and bool_gauge indicators.

    Pyrra names no service: the resource's namespace is the service (else
    "default"), its name the SLO's. `grouping` becomes group_by. `refused` as
    for load_sloth."""
    slos: list[SLO] = []
    for number, doc in _documents(text):
        with _each(refused):
            subject = f"document {number}:"
            version = _get(doc, "apiVersion", str, subject, "apiVersion", "")
            if not version.startswith("pyrra.dev/") or doc.get("kind") != "ServiceLevelObjective":
                raise ImportError_(f"{subject} not a Pyrra ServiceLevelObjective (apiVersion: {version!r}, kind: {_shown(doc.get('kind'))})")
            slos.append(_pyrra_slo(subject, doc, page_severity, ticket_severity, runbook_base))
    return slos


def _pyrra_slo(subject: str, doc: dict[str, Any], page: str, ticket: str, runbook_base: str) -> SLO:
    meta = _get(doc, "metadata", dict, subject, "metadata")
    name = _get(meta, "name", str, subject, "metadata.name")
    service = _get(meta, "namespace", str, subject, "metadata.namespace", "default")
    where = f"{subject} SLO '{service}/{name}'"
    spec = _get(doc, "spec", dict, where, "spec")
    target = spec.get("target")  # Pyrra writes it as a string: "99.5"
    try:
        objective = float(target) if isinstance(target, (str, int, float)) and not isinstance(target, bool) else None
    except ValueError:
        objective = None
    if objective is None:
        raise _fail(where, "spec.target", "is missing" if target is None else f"expected a percentage such as '99.5', got {_shown(target)}")
    indicator = _get(spec, "indicator", dict, where, "spec.indicator")
    kinds = [k for k in indicator if indicator.get(k) is not None]
    if kinds not in (["ratio"], ["latency"], ["bool_gauge"]):
        raise _fail(where, f"spec.indicator.{kinds[0] if kinds else 'ratio'}",
                    "only ratio, latency and bool_gauge indicators convert (native histograms do not yet)")
    kind = kinds[0]
    body = _get(indicator, kind, dict, where, f"spec.indicator.{kind}")
    if kind == "bool_gauge":  # a 0/1 gauge: its samples are the events
        (success,) = _query_selectors(_get(body, "metric", str, where, f"spec.indicator.{kind}.metric"), where,
                                      f"spec.indicator.{kind}.metric", allow_plain=True)
        sli: dict[str, Any] = {"type": "probe", "success": success, "interval": DEFAULT_PROBE_INTERVAL}
    else:
        parts = ("errors", "total") if kind == "ratio" else ("success", "total")
        selectors_of = {
            part: _query_selectors(_get(_get(body, part, dict, where, f"spec.indicator.{kind}.{part}"), "metric", str, where,
                                        f"spec.indicator.{kind}.{part}.metric"), where, f"spec.indicator.{kind}.{part}.metric", allow_plain=True)
            for part in parts
        }
        if kind == "ratio":
            sli = {"type": "ratio", "bad": selectors_of["errors"], "total": selectors_of["total"]}
        else:
            sli = _as_latency({"type": "ratio", "good": selectors_of["success"], "total": selectors_of["total"]})
    grouping = _get(body, "grouping", list, where, f"spec.indicator.{kind}.grouping", [])
    alerting = _get(spec, "alerting", dict, where, "spec.alerting", {})
    alert_name = _get(alerting, "name", str, where, "spec.alerting.name", "")
    fields: dict[str, Any] = {
        "service": service,
        "name": name,
        "objective": objective,
        "period": _get(spec, "window", str, where, "spec.window", "30d"),
        "description": _get(spec, "description", str, where, "spec.description", ""),
        "sli": sli,
        "group_by": tuple(_check(label, str, where, f"spec.indicator.{kind}.grouping") for label in grouping),
        "runbook_url": f"{runbook_base}/{service}-{name}",
        "page_severity": page,
        "ticket_severity": ticket,
        "alert_name": alert_name if not alert_name or alert_name[:1].isupper() else camel(alert_name),
    }
    sources = {"service": "metadata.namespace", "name": "metadata.name", "objective": "spec.target", "period": "spec.window",
               "sli": f"spec.indicator.{kind}", "group_by": f"spec.indicator.{kind}.grouping", "alert_name": "spec.alerting.name",
               "description": "spec.description"}
    return _build(where, fields, sources)


# -- printing Python definitions -----------------------------------------------------------


def render_python(slos: Iterable[SLO], source: str) -> str:
    """Python source defining SLOS, for definitions/ (only non-default fields)."""
    slos = list(slos)
    lines = [
        f'"""SLOs imported from {source} by sergas-obs; review them (runbooks!) and add SLOS to the Stack."""',
        "",
        "from sergas_observability.model import " + ", ".join(_imported(slos)),
        "",
        "SLOS = (",
    ]
    defaults = SLO.model_fields
    for slo in slos:
        lines.append("    SLO(")
        for field in ("service", "name", "objective", "period", "calendar", "description", "sli", "runbook_url", "page_severity",
                      "ticket_severity", "tiers", "min_bad_events", "group_by", "alert_name", "labels", "annotations"):
            value = getattr(slo, field)
            if field == "alert_name" and value == camel(slo.name) + "BudgetBurn":
                continue
            if field not in ("service", "name", "objective", "sli", "runbook_url") and value == defaults[field].default:
                continue
            # No source format says how often a gauge is scraped: the reader must.
            note = "  # interval: how often the gauge is scraped (the formats do not say): check it" if isinstance(value, ProbeSLI) else ""
            lines.append(f"        {field}={_py(value)},{note}")
        lines.append("    ),")
    lines.append(")")
    return "\n".join(lines) + "\n"


def _imported(slos: list[SLO]) -> list[str]:
    names = {"SLO"} | {type(s.sli).__name__ for s in slos} | ({"BurnRateTier"} if any(s.tiers and s.tiers != DEFAULT_TIERS for s in slos) else set())
    return sorted(names, key=lambda n: (n != "SLO", n))


def _py(value: Any) -> str:
    if isinstance(value, LatencySLI):
        return f"LatencySLI(histogram={_py(value.histogram)}, threshold={value.threshold!r})"
    if isinstance(value, ProbeSLI):
        return f"ProbeSLI(success={_py(value.success)}, interval={_py(value.interval)})"
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

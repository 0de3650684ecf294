"""Cross-reference one PromQL expression against the catalog of series.

A walk over the promql-parser AST that computes, for every sub-expression,
which labels its result carries, and checks each label reference against the
labels actually available at that point: a `by (route)` over series without
`route` is caught even when the metric has it but an inner aggregation has
already dropped it. The same walk checks functions against metric kinds,
matcher values against declared values, and rate windows against scrape
intervals.

Label-set semantics follow Prometheus' engine: aggregations keep their
`by` labels (or drop their `without` labels); one-to-one binary operations
keep the left side's labels (only the `on` labels with `on`); group_left /
group_right keep the "many" side plus the included labels; `and`/`unless`
keep the left side, `or` either side.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import promql_parser as pp

from ..model import Definition, format_duration
from ..model.base import did_you_mean
from ..promql import children
from ..promql import functions as fn
from ..promql.grafana import VARIABLE_MARKER, has_variable, range_variable
from .catalog import COUNTER_LIKE, Catalog, Labels, Series, job_matcher
from .findings import Finding, Level, finding


@dataclass(frozen=True)
class Source:
    """One expression to lint and the definition it belongs to."""

    definition: Definition  # findings attach here
    field: str
    expr: str  # as written
    parseable: str  # what is parsed (dashboard variables substituted)
    context: str  # "rule", "alert", "dashboard" or "slo"
    owners: tuple[Definition, ...] = ()  # more definitions whose lint_ignore applies (a panel's dashboard)


@dataclass(frozen=True)
class Out:
    """What a sub-expression yields: its labels (None: unknown) and whether it is a scalar."""

    labels: Labels | None
    scalar: bool = False


SCALAR = Out(frozenset(), scalar=True)
_PLAIN_ALTERNATION = re.compile(r"^[\w.+\-:/ ]+(\|[\w.+\-:/ ]+)*$")


def _op(node: object) -> str:
    return str(node.op).lower()  # type: ignore[attr-defined]


class ExpressionChecker:
    """Walks one parsed expression; `emit` receives the findings."""

    def __init__(self, catalog: Catalog, source: Source, emit: Callable[[Finding], None]):
        self.catalog = catalog
        self.source = source
        self._emit = emit

    # -- reporting -----------------------------------------------------------------

    def report(self, rule: str, message: str, level: Level | None = None) -> None:
        src = self.source
        self._emit(finding(rule, src.definition, src.field, message, src.expr, level=level, owners=src.owners))

    def _unknown_label(self, label: str, available: Labels, where: str) -> None:
        if label in self.catalog.external_labels:
            self.report(
                "promql/external-label",
                f"{where}: '{label}' is an external label; Prometheus adds it only to alerts and remote write, "
                "so the series queried here never carry it",
            )
        else:
            self.report("promql/unknown-label", f"{where}: no label '{label}'{did_you_mean(label, available)}")

    def _check_labels(self, labels: list[str], available: Labels | None, where: str) -> None:
        if available is None:
            return
        for label in labels:
            if label not in available:
                self._unknown_label(label, available, where)

    # -- the walk --------------------------------------------------------------------

    def visit(self, node: object, counter_ok: bool = False) -> Out:
        if isinstance(node, pp.VectorSelector):
            return self.selector(node, counter_ok)
        if isinstance(node, pp.MatrixSelector):
            return self.selector(node.vector_selector, counter_ok)
        if isinstance(node, pp.Call):
            return self.call(node, counter_ok)
        if isinstance(node, pp.AggregateExpr):
            return self.aggregate(node, counter_ok)
        if isinstance(node, pp.BinaryExpr):
            return self.binary(node, counter_ok)
        if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
            return self.visit(node.expr, counter_ok)
        return SCALAR  # number and string literals

    def series_of(self, node: pp.VectorSelector) -> Series | None:
        name = _metric_name(node)
        return None if name is None else self.catalog.get(name)

    def selector(self, node: pp.VectorSelector, counter_ok: bool) -> Out:
        name = _metric_name(node)
        if name is None:
            return Out(None)
        series = self.catalog.get(name)
        if series is None:
            self.report("promql/unknown-metric", f"metric '{name}' is not declared{did_you_mean(name, self.catalog.series)}")
            return Out(None)
        if series.metric is not None and not series.jobs:
            exporter = series.metric.exporter or "app"
            self.report(
                "promql/unscraped-metric",
                f"metric '{name}' comes from exporter '{exporter}', which no scrape job yields: the query is always empty",
            )
        for matcher in node.matchers.matchers:
            if matcher.name == "__name__":
                continue
            if series.labels is not None and matcher.name not in series.labels:
                self._unknown_label(matcher.name, series.labels, f"selector '{name}'")
            else:
                self._check_value(series, matcher.name, str(matcher.op), matcher.value)
        if series.kind in COUNTER_LIKE and not counter_ok:
            self.report(
                "promql/raw-counter",
                f"'{name}' is a counter: its raw value only grows; use rate() or increase()",
            )
        return Out(series.labels)

    def _check_value(self, series: Series, label: str, op: str, value: str) -> None:
        known = series.values.get(label)
        if not known or value == "" or has_variable(value):
            return
        shown = ", ".join(sorted(known)[:12])
        if op.endswith("NotEqual") or op.endswith(".Equal"):
            if value not in known:
                verb = "filters nothing out" if op.endswith("NotEqual") else "matches nothing"
                self.report(
                    "promql/unknown-label-value",
                    f"'{series.name}{{{label}=...}}': '{value}' is never a value of '{label}' ({shown}), "
                    f"so the matcher {verb}{_suggest(label, value, known)}",
                )
        elif op.endswith(".Re"):
            try:
                pattern = re.compile(value)
            except re.error:
                return  # RE2 syntax Python does not read: leave it to promtool
            if not any(pattern.fullmatch(v) for v in known):
                hint = ""
                if _PLAIN_ALTERNATION.match(value):
                    missing = [alt for alt in value.split("|") if alt not in known]
                    hint = did_you_mean(missing[0], known) if missing else ""
                self.report(
                    "promql/unknown-label-value",
                    f"'{series.name}{{{label}=~\"{value}\"}}' matches none of the values of '{label}' ({shown}){hint}",
                )

    # -- functions -----------------------------------------------------------------------

    def call(self, node: pp.Call, counter_ok: bool) -> Out:
        name = node.func.name
        args = list(node.args)
        # Gauge functions over a counter are reported as such, not as a raw counter too.
        safe = counter_ok or name in fn.COUNTER_SAFE_FUNCTIONS or name in fn.GAUGE_FUNCTIONS
        outs = [self.visit(arg, safe) for arg in args]
        for arg in args:
            if isinstance(arg, pp.MatrixSelector):
                self._check_range_function(name, arg)
        if name == "histogram_quantile" and len(args) == 2:
            self._check_histogram_quantile(args[1], outs[1])
        if name in fn.SCALAR_FUNCTIONS or str(node.func.return_type).endswith("Scalar"):
            return SCALAR
        if name in fn.LABELLESS_FUNCTIONS:
            return Out(frozenset())
        if name in fn.ABSENT_FUNCTIONS:
            return Out(_equality_labels(args[0]) if args else frozenset())
        vector_outs = [(arg, out) for arg, out in zip(args, outs) if not out.scalar]
        if not vector_outs:
            return Out(frozenset())  # e.g. day_of_week() of the evaluation time
        labels = vector_outs[0][1].labels
        if name in fn.LABEL_WRITING_FUNCTIONS:
            labels = self._label_writing(name, args, labels)
        if name == "histogram_quantile" and labels is not None:
            labels = labels - {"le"}
        return Out(labels)

    def _label_writing(self, name: str, args: list[object], labels: Labels | None) -> Labels | None:
        dst_index, src_spec = fn.LABEL_WRITING_FUNCTIONS[name]
        strings = [a.val if isinstance(a, pp.StringLiteral) else None for a in args]
        sources = strings[src_spec:] if isinstance(src_spec, int) else [strings[i] for i in src_spec if i < len(strings)]
        self._check_labels([s for s in sources if s], labels, f"{name}() source label")
        dst = strings[dst_index] if dst_index < len(strings) else None
        return None if labels is None or dst is None else labels | {dst}

    def _check_range_function(self, name: str, matrix: pp.MatrixSelector) -> None:
        series = self.series_of(matrix.vector_selector)
        if series is None:
            return
        if name in fn.COUNTER_FUNCTIONS and series.kind not in COUNTER_LIKE:
            what = {
                "recorded": "a recorded series (a gauge); record the rate of the raw counter instead",
                "summary": "a summary's quantile series (a gauge)",
            }.get(series.kind, "a gauge")
            self.report("promql/rate-on-non-counter", f"{name}() over '{series.name}', which is {what}")
        if name in fn.GAUGE_FUNCTIONS and series.kind in COUNTER_LIKE:
            self.report(
                "promql/gauge-function-on-counter",
                f"{name}() over the counter '{series.name}' mistakes every reset for a drop; use rate() or increase()",
            )
        window = matrix.range.total_seconds()
        variable = range_variable(window)
        if self.source.context == "dashboard" and name in fn.RATE_INTERVAL_FUNCTIONS and variable != "__rate_interval":
            shown = f"${variable}" if variable else f"[{_duration(window)}]"
            self.report(
                "dashboard/rate-interval",
                f"{name}() over '{series.name}' uses {shown}; use [$__rate_interval] so the window follows "
                "the zoom and never holds fewer than 4 scrapes",
            )
        if variable is None and name in fn.TWO_SAMPLE_FUNCTIONS and series.kind != "recorded":
            scrape = self.catalog.worst_scrape_seconds(series, job_matcher(matrix.vector_selector))
            if window < 2 * scrape:
                self.report(
                    "promql/rate-window",
                    f"{name}() window {_duration(window)} over '{series.name}' holds at most one sample "
                    f"(scraped every {_duration(scrape)}): the result is always empty",
                )
            elif window < 4 * scrape:
                self.report(
                    "promql/rate-window",
                    f"{name}() window {_duration(window)} over '{series.name}' holds fewer than 4 scrapes "
                    f"(every {_duration(scrape)}): one missed scrape empties it; use at least {_duration(4 * scrape)}",
                    level="warning",
                )

    def _check_histogram_quantile(self, arg: object, out: Out) -> None:
        for node in _vector_selectors(arg):
            series = self.series_of(node)
            if series is None or series.kind in ("histogram_bucket", "recorded"):
                continue
            self.report(
                "promql/histogram-quantile",
                f"histogram_quantile() over '{series.name}', which is not a histogram's _bucket series",
            )
        if out.labels is not None and "le" not in out.labels:
            self.report(
                "promql/histogram-quantile",
                "histogram_quantile() needs the 'le' label, but its argument aggregates it away (keep it: by (le, ...))",
            )

    # -- aggregations --------------------------------------------------------------------

    def aggregate(self, node: pp.AggregateExpr, counter_ok: bool) -> Out:
        op = _op(node)
        if node.param is not None:
            self.visit(node.param)
        inner = self.visit(node.expr, counter_ok or op in fn.COUNTER_SAFE_AGGREGATIONS)
        modifier = node.modifier
        labels = list(modifier.labels) if modifier is not None else []
        without = modifier is not None and str(modifier.type).endswith("Without")
        self._check_labels(labels, inner.labels, f"{op} {'without' if without else 'by'} ({', '.join(labels)})")
        if op in fn.SELECTING_AGGREGATIONS:
            return Out(inner.labels)
        extra: Labels = frozenset()
        if op == "count_values" and isinstance(node.param, pp.StringLiteral):
            extra = frozenset({node.param.val})
        if without:
            return Out(None if inner.labels is None else inner.labels - set(labels) | extra)
        return Out(frozenset(labels) | extra)

    # -- binary operations --------------------------------------------------------------------

    def binary(self, node: pp.BinaryExpr, counter_ok: bool) -> Out:
        op = _op(node)
        lhs = self.visit(node.lhs, counter_ok)
        # The right side of and/unless is only tested for presence.
        rhs = self.visit(node.rhs, counter_ok or op in ("and", "unless"))
        if lhs.scalar and rhs.scalar:
            return SCALAR
        if lhs.scalar or rhs.scalar:
            return rhs if lhs.scalar else lhs
        modifier = node.modifier
        matching = modifier.matching if modifier is not None else None
        on = matching is not None and str(matching.type).endswith("Include")
        match_labels = list(matching.labels) if matching is not None else []
        card = str(modifier.card) if modifier is not None else "OneToOne"
        include = list(modifier.group_labels or []) if modifier is not None else []
        keyword = "on" if on else "ignoring"
        if on:
            self._check_labels(match_labels, lhs.labels, f"on ({', '.join(match_labels)}), left side")
            self._check_labels(match_labels, rhs.labels, f"on ({', '.join(match_labels)}), right side")
        elif match_labels and lhs.labels is not None and rhs.labels is not None:
            self._check_labels(match_labels, lhs.labels | rhs.labels, f"ignoring ({', '.join(match_labels)})")
        if card.endswith("ManyToOne"):
            self._check_labels(include, rhs.labels, f"group_left ({', '.join(include)}), right side")
        elif card.endswith("OneToMany"):
            self._check_labels(include, lhs.labels, f"group_right ({', '.join(include)}), left side")
        if op != "or" and not on and lhs.labels is not None and rhs.labels is not None:
            left, right = lhs.labels - set(match_labels), rhs.labels - set(match_labels)
            if left != right:
                only_l, only_r = sorted(left - right), sorted(right - left)
                self.report(
                    "promql/vector-match",
                    f"'{op}' matches series by all their labels{' but the ignored' if match_labels else ''}, "
                    f"yet only the left side carries {only_l or 'nothing more'} and only the right side "
                    f"{only_r or 'nothing more'}: no pair ever matches; use on (...) or {keyword} (...)",
                )
        if op in ("and", "unless"):
            return Out(lhs.labels)
        if op == "or":
            both = None if lhs.labels is None or rhs.labels is None else lhs.labels | rhs.labels
            return Out(both)
        if card.endswith("ManyToOne"):
            return Out(None if lhs.labels is None else lhs.labels | set(include))
        if card.endswith("OneToMany"):
            return Out(None if rhs.labels is None else rhs.labels | set(include))
        if on:
            return Out(frozenset(match_labels))
        return Out(None if lhs.labels is None else lhs.labels - set(match_labels))


def _suggest(label: str, value: str, known: frozenset[str]) -> str:
    """did-you-mean, numerically for bucket bounds ('1' is the bound spelt '1.0')."""
    if label == "le":
        try:
            number = float(value)
            match = next((k for k in sorted(known) if float(k) == number), None)
        except ValueError:
            match = None
        if match:
            return f" (did you mean '{match}'?)"
    return did_you_mean(value, known)


def _metric_name(node: pp.VectorSelector) -> str | None:
    """The metric a selector reads; None when it is a pattern or a dashboard variable."""
    name = node.name or next(
        (m.value for m in node.matchers.matchers if m.name == "__name__" and str(m.op).endswith(".Equal")), None
    )
    return None if not name or name.startswith(VARIABLE_MARKER) else name


def _equality_labels(node: object) -> Labels:
    if isinstance(node, pp.MatrixSelector):
        node = node.vector_selector
    if isinstance(node, pp.VectorSelector):
        return frozenset(m.name for m in node.matchers.matchers if str(m.op).endswith(".Equal") and m.name != "__name__")
    return frozenset()


def _vector_selectors(node: object) -> list[pp.VectorSelector]:
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, pp.VectorSelector):
        return [node]
    return [sel for child in children(node) for sel in _vector_selectors(child)]


def _duration(seconds: float) -> str:
    return format_duration(seconds)

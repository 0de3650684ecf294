"""PromQL inspection on top of the `promql-parser` package.

Used by the model to reject expressions that do not parse, and by the
compilers and lint to find which metrics and labels an expression reads.
promtool remains the final judge of the generated files: this parser accepts
a little syntax that promtool 2.42 rejects.
"""

from __future__ import annotations

import functools

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import promql_parser

# Grafana's built-in and dashboard variables, replaced by parseable stand-ins.
_GRAFANA_RANGE_VARS = re.compile(r"\$(?:__rate_interval|__interval|__range|__auto)\b|\$\{__(?:rate_interval|interval|range)\}")
_GRAFANA_VARS = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


class PromQLError(ValueError):
    """An expression does not parse."""


@dataclass(frozen=True)
class Selector:
    """One vector selector in an expression: metric name and its label matchers."""

    metric: str | None
    matchers: tuple[tuple[str, str, str], ...] = field(default=())  # (label, op, value)
    range: float | None = None  # seconds, for matrix selectors

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.matchers)


def substitute_grafana_variables(expr: str) -> str:
    """Make a dashboard query parseable: range variables become 5m, others a literal."""
    expr = _GRAFANA_RANGE_VARS.sub("5m", expr)
    return _GRAFANA_VARS.sub("grafana_variable", expr)


# Validation, the expression analysis and the scoping of rules all read the
# same expressions: each is parsed once (the trees are never changed).
@functools.lru_cache(maxsize=65536)
def parse(expr: str) -> promql_parser.Expr:
    try:
        return promql_parser.parse(expr)
    except ValueError as exc:
        raise PromQLError(f"invalid PromQL ({exc}): {expr}") from None


def selectors(expr: str | promql_parser.Expr) -> list[Selector]:
    """Every vector selector in the expression, in order of appearance."""
    if isinstance(expr, str):
        return list(_selectors_of(expr))
    found: list[Selector] = []
    _collect(expr, found)
    return found


@functools.lru_cache(maxsize=65536)  # like parse: the same texts are read by every pass (Selectors are frozen)
def _selectors_of(expr: str) -> tuple[Selector, ...]:
    found: list[Selector] = []
    _collect(parse(expr), found)
    return tuple(found)


def _collect(node: object, found: list[Selector]) -> None:
    # An own walk rather than promql_parser.walk: that one cannot skip the
    # vector selector inside a matrix selector without stopping altogether.
    if isinstance(node, promql_parser.MatrixSelector):
        found.append(_selector(node.vector_selector, node.range.total_seconds()))
    elif isinstance(node, promql_parser.VectorSelector):
        found.append(_selector(node, None))
    else:
        for child in children(node):
            _collect(child, found)


def children(node: object) -> list[object]:
    """The sub-expressions of an AST node."""
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, promql_parser.Call):
        return list(node.args)
    if isinstance(node, promql_parser.AggregateExpr):
        return [node.expr] + ([node.param] if node.param is not None else [])
    if isinstance(node, (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)):
        return [node.expr]
    return []


def _selector(node: promql_parser.VectorSelector, range_seconds: float | None) -> Selector:
    matchers = []
    name = node.name
    for matcher in node.matchers.matchers:
        if matcher.name == "__name__":
            name = name or matcher.value
            continue
        matchers.append((matcher.name, _OPS[str(matcher.op)], matcher.value))
    return Selector(metric=name or None, matchers=tuple(matchers), range=range_seconds)


# MatchOp values are not hashable; key by their string form.
_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


def metric_names(expr: str | promql_parser.Expr) -> set[str]:
    """Names of the metrics an expression reads."""
    return {sel.metric for sel in selectors(expr) if sel.metric}


def matcher_holds(op: str, expected: str, value: str) -> bool:
    """Whether a label's `value` ("" when absent) satisfies `op` (=, !=, =~, !~) with `expected`,
    as Prometheus and Alertmanager match it (regexes anchored at both ends)."""
    if op in ("=~", "!~"):
        return (_anchored(expected)(value) is not None) == (op == "=~")
    return (value == expected) == (op == "=")


@functools.lru_cache(maxsize=4096)  # the same few matchers are tried against many values
def _anchored(expected: str) -> Callable[[str], re.Match[str] | None]:
    return re.compile(expected).fullmatch


def format_selector(metric: str, matchers: Sequence[tuple[str, str, str]]) -> str:
    """A vector selector as PromQL text: name{label op "value", ...} (values escaped)."""
    if not matchers:
        return metric
    inner = ",".join(f"{name}{op}{json.dumps(value)}" for name, op, value in matchers)
    return f"{metric}{{{inner}}}"

"""Print a PromQL AST back to text, adding label matchers to every selector.

A rule written for one Prometheus sees only that Prometheus's series. Handed
to a ruler that queries every environment at once (Thanos Ruler, Mimir with
one tenant), the same text would aggregate, join and `absent()` across all of
them. `scope(expr, {"env": "production"})` gives the expression that sees
exactly what production's own Prometheus saw: every vector selector gains
`env="production"`, the rest of the expression is unchanged.

promql-parser can print an AST but not change one, so this is a small printer
of its node types. Operands are printed as parsed: the parser keeps explicit
parentheses as ParenExpr nodes, so no precedence rules are needed here.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from datetime import timedelta

import promql_parser as P

from . import parse

_MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


# Longer expressions are broken before each top-level binary operator.
WIDTH = 100


# Where the added matchers go while an expression is laid out: each expression
# is parsed and printed once, then filled in for every environment.
_SLOT = "\x00"


def scope(expr: str, labels: Mapping[str, str]) -> str:
    """`expr` with `label="value"` added to every vector selector."""
    if not labels:
        return _layout(parse(expr), "")
    matchers = ",".join(f"{name}={_quote(value)}" for name, value in sorted(labels.items()))
    return _template(expr).replace(_SLOT, matchers)


@functools.lru_cache(maxsize=65536)
def _template(expr: str) -> str:
    return _layout(parse(expr), _SLOT)


def _layout(node: P.Expr, extra: str) -> str:
    # `a or b or c` parses as ((a or b) or c): walk down the left spine, one
    # operand per line, so a long rule reads (and diffs) like the original.
    # A long parenthesised right operand (`1 - (...)`) is laid out inside its
    # parentheses, indented.
    text = _print(node, extra)
    if len(text) <= WIDTH or not isinstance(node, P.BinaryExpr):
        return text
    left, right = _layout(node.lhs, extra), _print(node.rhs, extra)
    if isinstance(node.rhs, P.ParenExpr) and len(right) > WIDTH:
        inner = _layout(node.rhs.expr, extra).replace("\n", "\n  ")
        return f"{left}\n{_operator(node)} (\n  {inner}\n)" if "\n" in left else f"{left} {_operator(node)} (\n  {inner}\n)"
    return f"{left}\n{_operator(node)} {right}"


def _operator(node: P.BinaryExpr) -> str:
    """`/`, `> bool`, `* on (job) group_left (tier)`, ..."""
    modifier = str(node.modifier) if node.modifier is not None else ""
    return f"{node.op} {modifier}".strip()


def to_text(node: P.Expr) -> str:
    """The expression of a parsed AST, as text PromQL accepts (no matchers added)."""
    return _print(node, "")


@functools.lru_cache(maxsize=8192)
def _quote(value: str) -> str:
    # PromQL strings follow Go's escaping, which JSON's is a subset of.
    return json.dumps(value, ensure_ascii=False)


def _duration(delta: timedelta) -> str:
    millis = round(delta.total_seconds() * 1000)
    sign, millis = ("-", -millis) if millis < 0 else ("", millis)
    out = []
    for suffix, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            out.append(f"{count}{suffix}")
    return sign + ("".join(out) or "0s")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # 5, not 5.0: the way people write thresholds
    return repr(value)


def _modifiers(node: P.VectorSelector | P.SubqueryExpr) -> str:
    out = ""
    if node.offset is not None:
        out += f" offset {_duration(node.offset)}"
    if node.at is not None:
        out += f" {node.at}"  # `@ 1700000000.000`, `@ start()`, `@ end()`
    return out


def _selector(node: P.VectorSelector, extra: str) -> str:
    if node.matchers.or_matchers:
        raise ValueError("`or` inside a selector is not supported by the Prometheus versions targeted")
    parts = [f"{m.name}{_MATCH_OPS[str(m.op)]}{_quote(m.value)}" for m in node.matchers.matchers]
    body = ",".join(parts + ([extra] if extra else []))
    if node.name and not body:
        return node.name
    return f"{node.name or ''}{{{body}}}"


def _print(node: P.Expr, extra: str) -> str:
    if isinstance(node, P.VectorSelector):
        return _selector(node, extra) + _modifiers(node)
    if isinstance(node, P.MatrixSelector):
        vs = node.vector_selector
        return f"{_selector(vs, extra)}[{_duration(node.range)}]" + _modifiers(vs)
    if isinstance(node, P.SubqueryExpr):
        assert node.range is not None  # a subquery always has its range
        step = _duration(node.step) if node.step is not None else ""
        return f"{_print(node.expr, extra)}[{_duration(node.range)}:{step}]" + _modifiers(node)
    if isinstance(node, P.Call):
        return f"{node.func.name}({', '.join(_print(arg, extra) for arg in node.args)})"
    if isinstance(node, P.AggregateExpr):
        modifier = f" {node.modifier}" if node.modifier is not None else ""
        param = f"{_print(node.param, extra)}, " if node.param is not None else ""
        return f"{node.op}{modifier} ({param}{_print(node.expr, extra)})"
    if isinstance(node, P.BinaryExpr):
        return f"{_print(node.lhs, extra)} {_operator(node)} {_print(node.rhs, extra)}"
    if isinstance(node, P.ParenExpr):
        return f"({_print(node.expr, extra)})"
    if isinstance(node, P.UnaryExpr):
        return f"-{_print(node.expr, extra)}"
    if isinstance(node, P.NumberLiteral):
        return _number(node.val)
    if isinstance(node, P.StringLiteral):
        return _quote(node.val)
    raise TypeError(f"unsupported PromQL node {type(node).__name__}")

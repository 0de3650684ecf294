"""Add label matchers to every vector selector of a PromQL expression, in its own text.

A rule written for one Prometheus sees only that Prometheus's series. Handed
to a ruler that queries every environment at once (Thanos Ruler, Mimir with
one tenant), the same text would aggregate, join and `absent()` across all of
them. `scope(expr, {"env": "production"})` gives the expression that sees
exactly what production's own Prometheus saw: every vector selector gains
`env="production"`, and nothing else changes - not a space, not a line
break - so a scoped rule reads, and diffs, like the rule it came from.

The matchers are inserted into the text, found by a small PromQL lexer: in
PromQL every `{...}` outside a string is a selector's matchers, and a name is
a selector unless it calls a function or aggregation (`name(`, `sum by`), is
a keyword, a number (`Inf`, `NaN`) or a label of a `by (...)`-style list.
Each expression is read once, by one regex pass; the matchers of each environment are then
filled in (tests/test_distributed.py checks the result against the parser).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping

# Where the added matchers go: each expression is lexed once, then filled in for every environment.
_SLOT = "\x00"

_KEYWORDS = frozenset({"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"})
# Followed by a parenthesised list of label names, not of expressions.
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_AGGREGATIONS = frozenset({"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk",
                           "count_values", "quantile", "limitk", "limit_ratio"})
_NUMBERS = frozenset({"inf", "nan"})


def scope(expr: str, labels: Mapping[str, str]) -> str:
    """`expr` with `label="value"` added to every vector selector."""
    if not labels:
        return expr
    matchers = ",".join(f"{name}={_quote(value)}" for name, value in sorted(labels.items()))
    return _template(expr).replace(_SLOT, matchers)


@functools.lru_cache(maxsize=8192)
def _quote(value: str) -> str:
    # PromQL strings follow Go's escaping, which JSON's is a subset of.
    return json.dumps(value, ensure_ascii=False)


_PIECE = re.compile(
    r"""
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<comment>\#[^\n]*)
    | (?P<braces>\{(?:[^{}"'`]|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)*\})
    | (?P<brackets>\[[^\]]*\])
    | (?P<labels>\b(?:"""
    + "|".join(sorted(_LABEL_LISTS))
    + r""")(?:\s|\#[^\n]*)*\([^)]*\))
    | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[a-zA-Z0-9_]*)
    | (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)
    """,
    re.VERBOSE | re.DOTALL,
)
# What follows a name, past spaces and comments: its next character, or its next word.
_NEXT = re.compile(r"(?:\s|\#[^\n]*)*(?:([a-zA-Z_][a-zA-Z0-9_]*)|(.))", re.DOTALL)


@functools.lru_cache(maxsize=65536)
def _template(expr: str) -> str:
    """`expr` with _SLOT where each selector's added matchers go.

    One regex pass over the text: strings, comments, `[...]` windows, `by (...)`-style
    label lists and numbers are kept as they are; a `{...}` gets the slot before its
    `}`; a name that is neither a keyword, a number, a function or aggregation nor
    followed by its own `{...}` is a bare metric and gains `{slot}`."""

    def piece(match: re.Match[str]) -> str:
        kind, text = match.lastgroup, match.group()
        if kind == "braces":
            body = text[1:-1]
            inner = body.rstrip()
            sep = "" if not inner.strip() or inner.endswith(",") else ","
            return "{" + inner + sep + _SLOT + body[len(inner):] + "}"
        if kind != "name" or text in _KEYWORDS or text.lower() in _NUMBERS:
            return text
        after = _NEXT.match(expr, match.end())
        word, char = (after.group(1), after.group(2)) if after else (None, None)
        if char in ("(", "{") or (text in _AGGREGATIONS and word in ("by", "without")):
            return text
        return text + "{" + _SLOT + "}"

    return _PIECE.sub(piece, expr)

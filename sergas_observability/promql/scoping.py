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
Each expression is lexed once; the matchers of each environment are then
filled in (tests/test_distributed.py checks the result against the parser).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping

# Where the added matchers go: each expression is lexed once, then filled in for every environment.
_SLOT = "\x00"

_TOKEN = re.compile(
    r"""
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<comment>\#[^\n]*)
    | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[a-zA-Z0-9_]*)
    | (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)
    | (?P<space>\s+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
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


@functools.lru_cache(maxsize=65536)
def _template(expr: str) -> str:
    """`expr` with _SLOT where each selector's added matchers go."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(expr)]
    significant = [i for i, (kind, _) in enumerate(tokens) if kind not in ("space", "comment")]
    following = {a: b for a, b in zip(significant, significant[1:])}

    def next_text(i: int) -> str:
        j = following.get(i)
        return tokens[j][1] if j is not None else ""

    out: list[str] = []
    i, depth_brackets = 0, 0
    skip_list = False  # inside a `by (...)`-style list of label names
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "other" and text == "{":  # a selector's matchers: copy them, then the slot
            j = i + 1
            while j < len(tokens) and tokens[j][1] != "}":
                j += 1
            inner = "".join(t for _, t in tokens[i + 1:j]).rstrip()
            body = "".join(t for _, t in tokens[i + 1:j])
            trailing = body[len(inner):]
            sep = "" if not inner.strip() or inner.endswith(",") else ","
            out.append("{" + inner + sep + _SLOT + trailing + "}")
            i = j + 1
            continue
        out.append(text)
        if kind == "other" and text == "[":
            depth_brackets += 1
        elif kind == "other" and text == "]":
            depth_brackets -= 1
        elif kind == "other" and text == ")" and skip_list:
            skip_list = False
        elif kind == "name" and not depth_brackets and not skip_list:
            after = next_text(i)
            lower = text.lower()
            if text in _LABEL_LISTS:
                skip_list = after == "("
            elif text in _KEYWORDS or lower in _NUMBERS or after == "(" or (text in _AGGREGATIONS and after in ("by", "without")):
                pass
            elif after != "{":  # a bare metric name
                out.append("{" + _SLOT + "}")
        i += 1
    return "".join(out)

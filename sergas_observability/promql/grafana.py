"""Dashboard queries made parseable while remembering what was a Grafana variable.

`substitute_grafana_variables` (in this package) turns every range variable
into `5m`; the lint needs to tell `[$__rate_interval]` from a literal `[5m]`
and to skip label-value checks on `$job`. Here each range variable becomes a
sentinel duration no one writes by hand, and every other variable a marker
string that label-value checks recognise.
"""

from __future__ import annotations

import re

# Sentinel windows, in milliseconds (promql-parser keeps them exactly).
RANGE_SENTINELS_MS = {
    "__rate_interval": 7_777_001,
    "__interval": 7_777_002,
    "__range": 7_777_003,
    "__auto": 7_777_004,
}
SENTINEL_SECONDS = {ms / 1000: name for name, ms in RANGE_SENTINELS_MS.items()}
VARIABLE_MARKER = "grafana_var_"

_RANGE_NAMES = "__rate_interval|__interval|__range|__auto"
_RANGE_VAR = re.compile(rf"\$\{{({_RANGE_NAMES})\}}|\$({_RANGE_NAMES})\b")
_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def parseable_query(expr: str) -> str:
    """`expr` with range variables as sentinel durations and other variables as markers."""
    expr = _RANGE_VAR.sub(lambda m: f"{RANGE_SENTINELS_MS[m.group(1) or m.group(2)]}ms", expr)
    return _VAR.sub(lambda m: VARIABLE_MARKER + (m.group(1) or m.group(2) or m.group(3)), expr)


def range_variable(seconds: float | None) -> str | None:
    """The Grafana variable a parsed window stands for, or None for a literal window."""
    return None if seconds is None else SENTINEL_SECONDS.get(seconds)


def has_variable(text: str) -> bool:
    return VARIABLE_MARKER in text


def variables(expr: str) -> set[str]:
    """Names of the dashboard variables a query uses (built-in $__ variables excluded)."""
    names = {m.group(1) or m.group(2) or m.group(3) for m in _VAR.finditer(expr)}
    return {name for name in names if not name.startswith("__")}

"""Expand Prometheus alert annotation templates the way Prometheus does.

Used to write the expected annotations of generated promtool unit tests. Only
the subset our conventions use is supported ($labels.NAME, $value and the
humanize*/printf formatters); anything else is reported so the author can
simplify the template. The number formatting follows Go's fmt rules.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_LABEL = re.compile(r"^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$")
_PRINTF = re.compile(r'^printf\s+"(%\.\d+f)"\s+\$value$')


class TemplateError(ValueError):
    """A template uses something the expander does not support."""


def go_float(value: float) -> str:
    """fmt.Sprint of a float64 (%v is strconv 'g' with shortest digits: exponent when exp < -4 or >= 6)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    exp10 = len(text) + int(exponent) - 1  # exponent of the leading digit
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    return prefix + format(Decimal(repr(abs(value))).normalize(), "f")


def _g4(value: float) -> str:
    """Go's %.4g (Python's agrees for finite values)."""
    return "%.4g" % value


def humanize(value: float) -> str:
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _g4(value)
    if abs(value) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix, value = p, value / 1000
        return _g4(value) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return _g4(value) + prefix


def humanize_percentage(value: float) -> str:
    return _g4(value * 100) + "%"


def humanize_duration(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return _g4(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1:
        seconds = int(value)
        days, seconds = divmod(seconds, 86400)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(value)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if value == 0 or value >= 1:
            break
        prefix, value = p, value * 1000
    return f"{sign}{_g4(value)}{prefix}s"


_FILTERS = {"humanize": humanize, "humanizePercentage": humanize_percentage, "humanizeDuration": humanize_duration}


def expand(template: str, labels: dict[str, str], value: float) -> str:
    """The text Prometheus renders for `template` with these labels and value."""

    def action(match: re.Match[str]) -> str:
        body = match.group(1)
        printf = _PRINTF.match(body)
        if printf:
            return printf.group(1) % value
        parts = [p.strip() for p in body.split("|")]
        head, filters = parts[0], parts[1:]
        label = _LABEL.match(head)
        if label and not filters:
            return labels.get(label.group(1), "")
        if head == "$value":
            if not filters:
                return go_float(value)
            if len(filters) == 1 and filters[0] in _FILTERS:
                return _FILTERS[filters[0]](value)
        raise TemplateError(
            f"'{{{{ {body} }}}}' cannot be expanded for the generated test; "
            'use $labels.NAME, $value, $value | humanize/humanizePercentage/humanizeDuration or printf "%.Nf" $value'
        )

    return _ACTION.sub(action, template)

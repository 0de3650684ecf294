"""JSON as `json.dumps(document, indent=2, ensure_ascii=False)` writes it, faster.

The standard library's encoder runs in C only without `indent`; with it, a
generator per nesting level writes every token. Dashboards are most of the
JSON generate writes (and the Kubernetes ConfigMaps hold them again), so
this writer builds the same text with one recursive pass over lists of
lines, leaving only the strings to the C escaper.
"""

from __future__ import annotations

import json
from typing import Any

_escape = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C when available; ensure_ascii=False
_float = json.encoder.JSONEncoder().encode  # NaN/Infinity spelled as json.dumps spells them


def dump(document: Any) -> str:
    """The text `json.dumps(document, indent=2, ensure_ascii=False)` returns."""
    out: list[str] = []
    _value(document, "", out)
    return "".join(out)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _escape(value)  # type: ignore[no-any-return]
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)  # type: ignore[no-any-return]
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _value(value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = indent + "  "
        out.append("{\n")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",\n")
            first = False
            if not isinstance(key, str):
                key = _key(key)
            out.append(f"{inner}{_escape(key)}: ")
            _value(item, inner, out)
        out.append(f"\n{indent}}}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        out.append("[\n")
        first = True
        for item in value:
            if not first:
                out.append(",\n")
            first = False
            out.append(inner)
            _value(item, inner, out)
        out.append(f"\n{indent}]")
    else:
        out.append(_scalar(value))


def _key(key: Any) -> str:
    """A non-string key as json.dumps converts it."""
    if key is True or key is False or key is None or isinstance(key, (int, float)):
        return _scalar(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")

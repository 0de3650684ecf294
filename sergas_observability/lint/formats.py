"""The lint report as text (people), JSON (tools) or GitHub Actions annotations (CI)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..model import format_duration
from .findings import Finding, LatencyFigure, Report
from .latency import breakdown

FORMATS = ("text", "json", "github")


def _location(origin: str | None) -> tuple[str | None, int | None]:
    """(path relative to the working directory when inside it, line) of a definition's origin."""
    if not origin:
        return None, None
    path, _, line = origin.rpartition(":")
    if not line.isdigit():
        return origin, None
    try:
        relative = os.path.relpath(path)
        path = relative if not relative.startswith("..") else path
    except ValueError:
        pass
    return path, int(line)


def _where(item: Finding) -> str:
    path, line = _location(item.origin)
    field = f" field '{item.field}'" if item.field else ""
    prefix = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
    return f"{prefix}{item.where}{field}"


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "github":
        return to_github(report)
    return to_text(report)


def to_text(report: Report) -> str:
    lines: list[str] = []
    for item in report.active:
        lines.append(item.one_line())
        if item.expr:
            lines.extend("    | " + part for part in item.expr.splitlines())
    if report.silenced:
        lines.append(f"silenced ({len(report.silenced)}):")
        for item in report.silenced:
            lines.append(f"  {_where(item)}: [{item.rule}] {item.message} -- reason: {item.silenced}")
    if report.latency:
        lines.append("alert latency (worst case over the environments; budget per severity):")
        width = max(len(f.alert) for f in report.latency)
        for figure in report.latency:
            budget = format_duration(figure.budget) if figure.budget is not None else "none"
            mark = "  OVER BUDGET" if figure.over_budget else ""
            lines.append(
                f"  {figure.alert:<{width}}  {figure.severity:<3} {format_duration(figure.total):>7} / {budget:<6}"
                f" {breakdown(figure)} ({figure.environment}){mark}"
            )
    errors, warnings = len(report.errors), len(report.warnings)
    lines.append(f"{errors} error(s), {warnings} warning(s), {len(report.silenced)} silenced.")
    return "\n".join(lines) + "\n"


def _finding_json(item: Finding) -> dict[str, object]:
    path, line = _location(item.origin)
    return {
        "rule": item.rule, "level": item.level, "definition": item.where, "field": item.field,
        "message": item.message, "file": path, "line": line, "expr": item.expr, "silenced": item.silenced,
    }


def _latency_json(figure: LatencyFigure) -> dict[str, object]:
    return {
        "alert": figure.alert, "severity": figure.severity, "environment": figure.environment,
        "seconds": figure.total, "budget_seconds": figure.budget, "over_budget": figure.over_budget,
        "terms": {"scrape": figure.scrape, "evaluation": figure.evaluation, "window": figure.window,
                  "for": figure.for_, "group_wait": figure.group_wait},
    }


def to_json(report: Report) -> str:
    document = {
        "findings": [_finding_json(f) for f in report.active],
        "silenced": [_finding_json(f) for f in report.silenced],
        "latency": [_latency_json(f) for f in report.latency],
        "summary": {"errors": len(report.errors), "warnings": len(report.warnings), "silenced": len(report.silenced)},
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(report: Report) -> str:
    """Workflow commands: ::error / ::warning annotate the line; silences become ::notice."""
    lines = []
    for item in report.findings:
        command = "notice" if item.silenced else item.level
        path, line = _location(item.origin)
        props = [f"title={_escape_property(item.rule)}"]
        if path:
            props.insert(0, f"file={_escape_property(Path(path).as_posix())}")
            if line:
                props.insert(1, f"line={line}")
        message = f"{item.where}{f' field {item.field!r}' if item.field else ''}: {item.message}"
        if item.silenced:
            message += f" (silenced: {item.silenced})"
        if item.expr:
            message += "\n" + item.expr
        lines.append(f"::{command} {','.join(props)}::{_escape_data(message)}")
    lines.append(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s), {len(report.silenced)} silenced.")
    return "\n".join(lines) + "\n"

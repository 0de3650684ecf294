"""Grafana dashboards: rows of panels, each with queries, unit and thresholds."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from ..promql import parse, substitute_grafana_variables
from .base import after_check, Definition

PanelKind = Literal["timeseries", "stat", "gauge", "table"]
_UID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
_FILE_RE = re.compile(r"^[a-z0-9_]+\.json$")


class Query(Definition):
    """A PromQL query with its legend (`{{label}}` placeholders as in Grafana)."""

    kind_name = "Query"
    expr: str
    legend: str = ""
    instant: bool = False

    @field_validator("expr")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse(substitute_grafana_variables(value))
        return value


class Threshold(Definition):
    """A colour step: from `value` upwards (None is the base step)."""

    kind_name = "Threshold"
    value: float | None
    color: str


class Panel(Definition):
    kind_name = "Panel"
    title: str
    kind: PanelKind = "timeseries"
    queries: tuple[Query, ...]
    unit: str
    description: str = ""
    thresholds: tuple[Threshold, ...] = ()
    min: float | None = None
    max: float | None = None
    # Text shown instead of a raw value, e.g. {"0": "closed", "2": "open"} for a state gauge.
    value_text: dict[str, str] = {}
    # Lint rules silenced for this panel: rule id -> the written reason (listed by `sergas-obs lint`).
    lint_ignore: dict[str, str] = {}
    width: int = 12
    height: int = 8

    @field_validator("queries", mode="before")
    @classmethod
    def _queries_from_strings(cls, value: object) -> object:
        if isinstance(value, str):
            value = (value,)
        if isinstance(value, (list, tuple)):
            return tuple(Query(expr=item) if isinstance(item, str) else item for item in value)
        return value

    @field_validator("thresholds", mode="before")
    @classmethod
    def _thresholds_from_pairs(cls, value: object) -> object:
        if isinstance(value, (list, tuple)):
            return tuple(
                Threshold(value=item[0], color=item[1]) if isinstance(item, (list, tuple)) else item for item in value
            )
        return value

    @after_check
    def _sane(self) -> "Panel":
        if not self.queries:
            raise self.fail("queries", "a panel needs at least one query")
        if not 1 <= self.width <= 24:
            raise self.fail("width", "width must be 1..24 grid columns")
        if self.height < 1:
            raise self.fail("height", "height must be positive")
        if not self.unit:
            raise self.fail("unit", "every panel needs a unit (Grafana unit id, e.g. 's', 'percentunit', 'reqps', 'short')")
        steps = [t.value for t in self.thresholds]
        if steps and steps[0] is not None:
            raise self.fail("thresholds", "the first threshold is the base step: its value must be None")
        if any(v is None for v in steps[1:]) or steps[1:] != sorted(steps[1:]):  # type: ignore[type-var]
            raise self.fail("thresholds", "threshold values must increase")
        return self


class Row(Definition):
    kind_name = "Row"
    title: str
    panels: tuple[Panel, ...]


class Dashboard(Definition):
    """A dashboard. `uid` defaults to a slug of the title and must stay stable.

    `file` names the JSON file under grafana/dashboards/; it defaults to the uid
    with '-' turned into '_' (e.g. when the file names are fixed elsewhere and
    the uid carries a prefix, set both).
    """

    kind_name = "Dashboard"
    title: str
    uid: str = ""
    file: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    rows: tuple[Row, ...]
    refresh: str = "1m"
    time_from: str = "now-6h"
    lint_ignore: dict[str, str] = {}  # lint rule id -> reason, for the dashboard and all its panels

    @after_check
    def _uid(self) -> "Dashboard":
        if not self.uid:
            object.__setattr__(self, "uid", re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")[:40])
        if not _UID_RE.match(self.uid):
            raise self.fail("uid", f"uid '{self.uid}' must be 1-40 characters of letters, digits, '-' or '_'")
        if self.file and not _FILE_RE.match(self.file):
            raise self.fail("file", f"file '{self.file}' must be lower-case letters, digits or '_' ending in .json")
        titles = [panel.title for row in self.rows for panel in row.panels]
        if len(set(titles)) != len(titles):
            raise self.fail("rows", "panel titles repeat within the dashboard")
        return self

    @property
    def panels(self) -> tuple[Panel, ...]:
        return tuple(panel for row in self.rows for panel in row.panels)

    @property
    def file_name(self) -> str:
        return self.file or self.uid.replace("-", "_") + ".json"

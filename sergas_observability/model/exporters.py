"""Metrics an exporter computes from our own queries: postgres_exporter's custom queries.

postgres_exporter exposes only what its built-in collectors know; a query
of ours (how long has the longest active query run?) becomes metrics through
its queries file (`--extend.query-path`). A `PostgresQuery` is declared once:
the queries file is compiled from it, and its `metrics()` are the catalog
entries the rules and panels read, so the two cannot disagree.

Each value column becomes the metric `<namespace>_<column>`, labelled by the
label columns (plus `server` on postgres_exporter 0.15).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from .base import Definition, after_check
from .metrics import Label, Metric, MetricKind

_COLUMN_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
EXPORTER = "postgres_exporter"


class QueryValue(Definition):
    """A value column of a custom query: a gauge, or a counter the database keeps."""

    kind_name = "QueryValue"
    column: str
    kind: Literal["gauge", "counter"] = "gauge"
    help: str

    @field_validator("column")
    @classmethod
    def _column(cls, value: str) -> str:
        if not _COLUMN_RE.match(value):
            raise ValueError(f"column '{value}' must be snake_case: it names the metric")
        return value


class PostgresQuery(Definition):
    """One postgres_exporter custom query (see the module docstring)."""

    kind_name = "PostgresQuery"
    namespace: str
    sql: str
    labels: tuple[str, ...] = ()
    values: tuple[QueryValue, ...]
    # Run on the primary only (postgres_exporter's `master`): replicas answer the same.
    primary_only: bool = True

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _COLUMN_RE.match(value):
            raise ValueError(f"namespace '{value}' must be snake_case: it prefixes the metric names")
        return value

    @after_check
    def _columns(self) -> "PostgresQuery":
        if not self.values:
            raise self.fail("values", "a query needs at least one value column")
        columns = list(self.labels) + [v.column for v in self.values]
        if len(set(columns)) != len(columns):
            raise self.fail("values", "columns repeat")
        return self

    def metrics(self) -> tuple[Metric, ...]:
        """The catalog entries this query yields (add them to the Stack's metrics)."""
        return tuple(
            Metric(name=f"{self.namespace}_{v.column}", kind=MetricKind(v.kind), help=v.help,
                   labels=tuple(Label(name=label) for label in self.labels + ("server",)), exporter=EXPORTER)
            for v in self.values
        )

    def queries_entry(self) -> dict[str, object]:
        """This query as postgres_exporter's queries file has it."""
        columns = [{label: {"usage": "LABEL", "description": label}} for label in self.labels]
        columns += [{v.column: {"usage": v.kind.upper(), "description": v.help}} for v in self.values]
        return {"query": " ".join(self.sql.split()), "master": self.primary_only, "metrics": columns}

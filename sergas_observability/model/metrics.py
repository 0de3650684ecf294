"""Metric declarations: the application's own and the exporters' catalogs."""

from __future__ import annotations

import re
from enum import Enum
from typing import Literal

from pydantic import field_validator

from .base import after_check, Definition, LabelName, check_snake


class MetricKind(str, Enum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    SUMMARY = "summary"


# Base units (Prometheus naming guide): the name must carry the unit as a suffix
# (before `_total` for counters).
UNITS = ("seconds", "bytes", "ratio", "percent", "celsius", "meters", "volts", "amperes", "joules", "grams")

# How a gauge is combined across worker processes in prometheus_client's multiprocess mode.
GaugeMode = Literal["all", "liveall", "livesum", "max", "min", "sum", "mostrecent", "livemax", "livemin", "livemostrecent"]

_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

# Labels Prometheus itself adds or owns; an application metric may not declare them.
# (The environment label, `env` by default, is the Stack's: checked by the validation pass.)
RESERVED_LABELS = frozenset({"job", "instance", "le", "quantile", "__name__"})

# Labels every scraped series carries, whatever its metric declares.
SCRAPE_LABELS = frozenset({"job", "instance"})


class Label(Definition):
    """A label of a metric. `values` lists the allowed values when they are known."""

    kind_name = "Label"
    name: LabelName
    values: tuple[str, ...] | None = None
    description: str = ""

    @field_validator("values")
    @classmethod
    def _unique_values(cls, values: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if values is not None:
            if not values:
                raise ValueError("an empty set of values would reject every observation; omit 'values' instead")
            if len(set(values)) != len(values):
                raise ValueError("values repeat")
        return values


class Metric(Definition):
    """One metric family.

    `exporter` is None for the application's own metrics (the ones the generated
    instrumentation module exposes) and the exporter's name for catalog entries.
    """

    kind_name = "Metric"
    name: str
    kind: MetricKind
    help: str
    unit: str | None = None
    labels: tuple[Label, ...] = ()
    buckets: tuple[float, ...] | None = None
    multiprocess_mode: GaugeMode | None = None
    exporter: str | None = None

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_from_names(cls, value: object) -> object:
        if isinstance(value, (list, tuple)):
            return tuple(Label(name=item) if isinstance(item, str) else item for item in value)
        return value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _METRIC_NAME_RE.match(value):
            raise ValueError(f"'{value}' is not a valid metric name")
        return value

    @field_validator("help")
    @classmethod
    def _help_present(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("help text is required")
        return value

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, value: str | None) -> str | None:
        if value is not None and value not in UNITS:
            raise ValueError(f"'{value}' is not a base unit ({', '.join(UNITS)})")
        return value

    @field_validator("buckets")
    @classmethod
    def _sorted_buckets(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None:
            if not value:
                raise ValueError("at least one bucket is needed")
            if list(value) != sorted(set(value)):
                raise ValueError("buckets must be strictly increasing")
        return value

    @after_check
    def _conventions(self) -> "Metric":
        kind = self.kind
        names = [label.name for label in self.labels]
        if len(set(names)) != len(names):
            raise self.fail("labels", "labels repeat")
        if self.exporter is None:
            self._application_conventions(names)
        if self.buckets is not None and kind is not MetricKind.HISTOGRAM:
            raise self.fail("buckets", "buckets only apply to histograms")
        if self.multiprocess_mode is not None and kind is not MetricKind.GAUGE:
            raise self.fail("multiprocess_mode", "multiprocess_mode only applies to gauges")
        return self

    def _application_conventions(self, names: list[str]) -> None:
        # Exporters name their metrics their own way (pg_stat_database_deadlocks is
        # a counter without _total); only our own metrics must follow the guide.
        name, kind = self.name, self.kind
        try:
            check_snake(name, "metric name")
        except ValueError as exc:
            raise self.fail("name", str(exc)) from None
        if kind is MetricKind.COUNTER and not name.endswith("_total"):
            raise self.fail("name", f"counter '{name}' must end with _total")
        if kind is not MetricKind.COUNTER and name.endswith("_total"):
            raise self.fail("name", f"only counters may end with _total ('{name}' is a {kind.value})")
        if self.unit:
            stem = name.removesuffix("_total")
            if not stem.endswith("_" + self.unit):
                raise self.fail("name", f"'{name}' declares unit '{self.unit}' so its name must end with _{self.unit}")
        reserved = sorted(RESERVED_LABELS.intersection(names))
        if reserved:
            raise self.fail("labels", f"label '{reserved[0]}' is reserved (added by Prometheus or the scrape)")

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels)

    def series_names(self) -> dict[str, tuple[str, ...]]:
        """The series names this family exposes, with the labels each carries."""
        labels = self.label_names
        if self.kind is MetricKind.HISTOGRAM:
            base = self.name
            return {f"{base}_bucket": labels + ("le",), f"{base}_sum": labels, f"{base}_count": labels}
        if self.kind is MetricKind.SUMMARY:
            base = self.name
            return {base: labels + ("quantile",), f"{base}_sum": labels, f"{base}_count": labels}
        return {self.name: labels}

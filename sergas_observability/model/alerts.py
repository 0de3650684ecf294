"""Alerting and recording rules, and the scenarios that prove an alert works."""

from __future__ import annotations

import re

from pydantic import Field, PrivateAttr, field_validator

from ..promql import parse
from .base import after_check, Definition, Duration, HttpUrl, LabelSet, check_snake, duration_seconds, is_camel

_RECORD_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*(:[a-zA-Z0-9_]+)*$")
# Labels the generator sets itself on every alert.
_OWNED_LABELS = ("severity", "alertname")


def _check_expr(value: str) -> str:
    parse(value)
    return value


class AlertScenario(Definition):
    """Input series for a promtool unit test, in promtool's expanding notation.

    `series` maps a series selector to its values, e.g.
    `{'up{job="postgres", instance="db:9187"}': "0x20"}` (one sample a minute).
    For the firing case, `labels` are the labels the alert's expression returns
    and `value` its value, which the generator uses to expand the annotation
    templates exactly as Prometheus will.
    """

    kind_name = "AlertScenario"
    series: dict[str, str]
    labels: LabelSet = {}
    value: float | None = None

    @field_validator("series")
    @classmethod
    def _selectors_parse(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a scenario needs at least one input series")
        for selector in value:
            parse(selector)
        return value


class AlertTest(Definition):
    """A firing and a quiet scenario (and any more quiet ones), evaluated at `at` (default: `for` + 5m)."""

    kind_name = "AlertTest"
    firing: AlertScenario
    quiet: AlertScenario
    also_quiet: tuple[AlertScenario, ...] = ()
    at: Duration | None = None


class Alert(Definition):
    """One alerting rule (monitoring-mixins conventions).

    `service` is copied to a label of the same name and used by inhibition:
    a firing higher severity silences lower ones of the same service.
    `for_` is spelled with an underscore because `for` is a Python keyword;
    it is required (`for_="0s"` with a `no_for_reason` for an alert that must
    fire on the first evaluation).
    """

    kind_name = "Alert"
    name: str
    expr: str
    for_: Duration = Field(alias="for")  # required: how long the condition must hold is a decision, not a default
    severity: str
    service: str
    summary: str
    description: str
    runbook_url: HttpUrl
    dashboard: str | None = None
    labels: LabelSet = {}
    group: str = ""  # default: `<stack>-alerts`
    test: AlertTest | None = None
    no_for_reason: str | None = None
    # Lint rules silenced for this alert: rule id -> the written reason (listed by `sergas-obs lint`).
    lint_ignore: dict[str, str] = {}
    # Set on alerts the library derives (meta-monitoring): what they were derived from.
    _derived_from: str | None = PrivateAttr(default=None)

    @property
    def derived_from(self) -> str | None:
        """'ScrapeJob 'x'' for a generated alert, None for a declared one."""
        return self._derived_from

    @field_validator("name")
    @classmethod
    def _camel(cls, value: str) -> str:
        if not is_camel(value):
            raise ValueError(f"alert name '{value}' must be CamelCase")
        return value

    _expr = field_validator("expr")(classmethod(lambda cls, v: _check_expr(v)))

    @field_validator("summary")
    @classmethod
    def _one_sentence(cls, value: str) -> str:
        if not value.endswith(".") or "\n" in value:
            raise ValueError("summary must be one sentence ending with '.'")
        return value

    @field_validator("labels")
    @classmethod
    def _not_owned(cls, value: dict[str, str]) -> dict[str, str]:
        for key in _OWNED_LABELS + ("service",):
            if key in value:
                raise ValueError(f"label '{key}' is set by its own field, not in labels")
        return value

    @after_check
    def _for_or_reason(self) -> "Alert":
        if duration_seconds(self.for_) == 0 and not self.no_for_reason:
            raise self.fail("for", "an alert without 'for' must say why in no_for_reason")
        return self


class RecordingRule(Definition):
    """A recording rule, named level:metric:operations."""

    kind_name = "RecordingRule"
    record: str
    expr: str
    labels: LabelSet = {}
    group: str = ""  # default: `<stack>-recording`
    interval: Duration | None = None
    lint_ignore: dict[str, str] = {}  # lint rule id -> reason (see Alert)

    _expr = field_validator("expr")(classmethod(lambda cls, v: _check_expr(v)))

    @field_validator("record")
    @classmethod
    def _level_metric_operations(cls, value: str) -> str:
        if not _RECORD_RE.match(value) or value.count(":") != 2:
            raise ValueError(f"record '{value}' must follow level:metric:operations")
        return value


def check_group_name(value: str) -> str:
    return check_snake(value.replace("-", "_"), "rule group")

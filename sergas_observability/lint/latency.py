"""Alert-latency budget: the worst-case time from a condition to its notification.

For each alert and environment, the sum of

- scrape: the longest scrape interval of the series it reads (a change is
  stored up to one interval after it happens);
- evaluation: the environment's evaluation interval, plus one evaluation
  interval per recording rule between the raw series and the alert;
- window: the lag of its windowed functions. An average over a window
  (rate, increase, avg_over_time, ...) crosses a threshold only once enough
  of the window holds the new values: up to the whole window when the new
  value barely exceeds the threshold. Windows add up through recording
  rules; `a and b` waits for the slower side, `a or b` for the faster;
  max_over_time, last_over_time, irate and idelta add no window lag;
- for: how long the condition must hold;
- group_wait: how long Alertmanager holds a new group before notifying.

The worst environment is reported. (A new series joining an alert group that
is already notifying waits group_interval instead; the budget is about the
condition first becoming true, as the seed's "Alert latency < 5 min" is.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import promql_parser as pp

from ..model import Alert, Environment, RecordingRule, Stack, format_duration
from ..promql import functions as fn
from .catalog import Catalog, job_matcher, seconds
from .findings import Finding, LatencyFigure, finding


@dataclass(frozen=True)
class _Lag:
    scrape: float
    rules: float  # evaluation intervals of the recording rules in between
    window: float

    @property
    def total(self) -> float:
        return self.scrape + self.rules + self.window


def _max(lags: list[_Lag], default: _Lag) -> _Lag:
    return max(lags, key=lambda lag: lag.total, default=default)


class LatencyModel:
    def __init__(self, stack: Stack, catalog: Catalog, rule_trees: dict[str, pp.Expr]):
        self.stack = stack
        self.catalog = catalog
        self.rule_trees = rule_trees

    def lag(self, node: object, env: Environment, depth: int = 0) -> _Lag:
        none = _Lag(0.0, 0.0, 0.0)
        if depth > 20:  # a recording-rule cycle; promtool rejects those anyway
            return none
        if isinstance(node, pp.MatrixSelector):
            node = node.vector_selector
        if isinstance(node, pp.VectorSelector):
            return self._selector(node, env, depth)
        if isinstance(node, pp.Call):
            inner = _max([self.lag(arg, env, depth) for arg in node.args], none)
            if node.func.name in fn.WINDOW_LAG_FUNCTIONS:
                window = max((_range(arg) for arg in node.args), default=0.0)
                inner = _Lag(inner.scrape, inner.rules, inner.window + window)
            return inner
        if isinstance(node, pp.BinaryExpr):
            left, right = self.lag(node.lhs, env, depth), self.lag(node.rhs, env, depth)
            op = str(node.op).lower()
            if op == "unless":
                return left
            if op == "or":
                return min((left, right), key=lambda lag: lag.total)
            return _max([left, right], none)
        if isinstance(node, pp.AggregateExpr):
            return self.lag(node.expr, env, depth)
        if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
            return self.lag(node.expr, env, depth)
        return none

    def _selector(self, node: pp.VectorSelector, env: Environment, depth: int) -> _Lag:
        series = self.catalog.get(node.name or "")
        default_scrape = seconds(env.scrape_interval)
        if series is None:
            return _Lag(default_scrape, 0.0, 0.0)
        rule = series.recorded_by
        if isinstance(rule, RecordingRule) and rule.record in self.rule_trees:
            inner = self.lag(self.rule_trees[rule.record], env, depth + 1)
            interval = seconds(rule.interval or env.evaluation_interval)
            return _Lag(inner.scrape, inner.rules + interval, inner.window)
        return _Lag(self.catalog.scrape_seconds(series, env, job_matcher(node)), 0.0, 0.0)

    def figure(self, alert: Alert, tree: pp.Expr) -> LatencyFigure:
        severity = self.stack.severity(alert.severity)
        budget = seconds(severity.latency_budget) if severity.latency_budget else None
        figures = []
        for env in self.stack.environments:
            lag = self.lag(tree, env)
            figures.append(
                LatencyFigure(
                    alert=alert.name,
                    severity=alert.severity,
                    environment=env.name,
                    scrape=lag.scrape,
                    evaluation=seconds(env.evaluation_interval) + lag.rules,
                    window=lag.window,
                    for_=seconds(alert.for_),
                    group_wait=seconds(severity.group_wait),
                    budget=budget,
                )
            )
        return max(figures, key=lambda figure: figure.total)


def _range(node: object) -> float:
    if isinstance(node, (pp.MatrixSelector, pp.SubqueryExpr)) and node.range is not None:
        return node.range.total_seconds()
    return 0.0


def breakdown(figure: LatencyFigure) -> str:
    terms = [
        ("scrape", figure.scrape), ("evaluation", figure.evaluation), ("window", figure.window),
        ("for", figure.for_), ("group_wait", figure.group_wait),
    ]
    return " + ".join(f"{name} {format_duration(value)}" for name, value in terms if value)


def check_latency(model: LatencyModel, alert: Alert, tree: pp.Expr, emit: Callable[[Finding], None]) -> LatencyFigure:
    figure = model.figure(alert, tree)
    if figure.over_budget:
        emit(finding(
            "latency/over-budget", alert, "for",
            f"worst-case notification latency {format_duration(figure.total)} ({breakdown(figure)}, in {figure.environment}) "
            f"is over the {figure.severity} budget of {format_duration(figure.budget or 0)}",
        ))
    return figure

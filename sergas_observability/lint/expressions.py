"""Every PromQL expression of a stack, with the definition it belongs to, parsed once.

Recording rules come first and are analysed in dependency order, so the
labels of a recorded series are known before anything reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import promql_parser

from ..model import Alert, RecordingRule, Stack
from ..promql import PromQLError, metric_names, parse
from ..promql.grafana import parseable_query
from .catalog import Catalog
from .findings import Finding, finding
from .promql_refs import ExpressionChecker, Out, Source


def sources(stack: Stack) -> Iterator[Source]:
    for rule in stack.recording_rules:
        yield Source(rule, "expr", rule.expr, rule.expr, "rule")
    for alert in stack.all_alerts:
        yield Source(alert, "expr", alert.expr, alert.expr, "alert")
    for dashboard in stack.dashboards:
        for panel in dashboard.panels:
            for query in panel.queries:
                yield Source(panel, "queries", query.expr, parseable_query(query.expr), "dashboard", (dashboard,))
    yield from _slo_sources(stack)


def _slo_sources(stack: Stack) -> Iterator[Source]:
    """The SLI selectors of each SLO, as the SLO compiler reads them: rate()d over the base window."""
    slos = getattr(stack, "slos", ())
    if not slos:
        return
    from ..model.slo import BASE_WINDOW, LatencySLI, ProbeSLI  # only stacks with SLOs need the SLO model

    for slo in slos:
        sli = slo.sli
        if isinstance(sli, ProbeSLI):
            yield Source(slo, "sli.success", sli.success, f"count_over_time({sli.success}[{BASE_WINDOW}])", "slo")
        elif isinstance(sli, LatencySLI):
            metric = sli.selector.metric or ""
            bucket = sli.histogram.replace(metric, metric + "_bucket", 1)
            yield Source(slo, "sli.histogram", sli.histogram, f"rate({bucket}[{BASE_WINDOW}])", "slo")
        else:
            for name, selectors in sli.selector_fields().items():
                for selector in selectors:
                    yield Source(slo, f"sli.{name}", selector, f"rate({selector}[{BASE_WINDOW}])", "slo")


def add_slo_series(stack: Stack, catalog: Catalog) -> None:
    """What the SLO and rollout compilers record, readable by alerts and dashboards like any recorded series."""
    if getattr(stack, "slos", ()):
        from ..model.slo import RECORDED_SERIES

        for name, labels in RECORDED_SERIES.items():
            catalog.add_recorded(name, None, frozenset(labels))
    deployments = getattr(stack, "deployments", None)
    if getattr(stack, "rollouts", ()) and deployments is not None:
        from ..model.rollout import RECORDED_SERIES as ROLLOUT_SERIES

        for name, labels in ROLLOUT_SERIES.items():
            catalog.add_recorded(name, None, frozenset(labels) | {deployments.label})


class Analysis:
    """Parsed expressions and what each yields, filled in by `run`."""

    def __init__(self, stack: Stack, catalog: Catalog, extra: list[Source] | None = None, *, only: tuple[type, ...] = ()):
        self.stack = stack
        self.catalog = catalog
        self.trees: dict[int, promql_parser.Expr] = {}  # id(source) -> tree
        self.outputs: dict[int, Out] = {}
        # `extra`: queries of generated dashboards (no definition of their own); `only`: the
        # kinds of definition whose expressions are analysed (default: every kind).
        self.sources: list[Source] = [s for s in sources(stack) if not only or isinstance(s.definition, only)] + list(extra or [])
        add_slo_series(stack, catalog)

    def tree(self, source: Source) -> promql_parser.Expr | None:
        return self.trees.get(id(source))

    def output(self, source: Source) -> Out:
        return self.outputs.get(id(source), Out(None))

    def run(self, emit: Callable[[Finding], None]) -> None:
        for source in self.sources:
            try:
                self.trees[id(source)] = parse(source.parseable)
            except PromQLError as exc:
                message = str(exc).removesuffix(": " + source.parseable)
                emit(finding("promql/syntax", source.definition, source.field, message, source.expr, owners=source.owners))
        self._infer_recorded()
        for source in self.sources:
            tree = self.tree(source)
            if tree is not None:
                self.outputs[id(source)] = ExpressionChecker(self.catalog, source, emit).visit(tree)

    def _infer_recorded(self) -> None:
        """Give each recorded series the labels its expression yields (dependencies first)."""
        rules = {s.definition.record: s for s in self.sources if isinstance(s.definition, RecordingRule)}
        for record, source in rules.items():
            self.catalog.add_recorded(record, source.definition, None)
        done: set[str] = set()

        def infer(record: str, path: tuple[str, ...]) -> None:
            if record in done or record in path:
                return  # a cycle: leave its labels unknown
            source = rules[record]
            tree = self.tree(source)
            if tree is None:
                done.add(record)
                return
            for name in metric_names(tree):
                if name in rules:
                    infer(name, path + (record,))
            out = ExpressionChecker(self.catalog, source, lambda _f: None).visit(tree)
            rule: RecordingRule = source.definition  # type: ignore[assignment]
            labels = None if out.labels is None else out.labels | set(rule.labels)
            self.catalog.add_recorded(record, rule, labels)
            done.add(record)

        for record in rules:
            infer(record, ())

    def alert_sources(self) -> list[tuple[Alert, Source]]:
        return [(s.definition, s) for s in self.sources if isinstance(s.definition, Alert)]  # type: ignore[misc]

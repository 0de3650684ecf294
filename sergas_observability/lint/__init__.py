"""The validation pass and `sergas-obs lint`: every mistake caught before it ships.

`validate(stack)` is the one pass `generate`, `check` and `lint` all run
between loading the definitions and compiling them, so what one accepts the
others accept. It reports every independent mistake at once, as findings with
a rule id (see `RULES`), in file and line order:

1. the construction errors collected while the definitions loaded;
2. the Stack's cross-references (references.py), the names the compilers
   derive (artifacts.py) and the silent-failure checks (semantics.py);
3. once those hold, the analysis of every expression (label inference,
   metric kinds, alert and dashboard hygiene, latency budgets).

`lint_stack` adds the passes that run promtool and amtool. Findings of rules
not in `UNSILENCEABLE` can be silenced in their definition with
`lint_ignore={"rule/id": "reason"}`. Compilers assume a stack that validated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..model import Alert, DefinitionError, RecordingRule, Stack
from ..promql.grafana import parseable_query
from . import artifacts, references, rollouts, runbooks, semantics
from .alert_dashboards import check_alert_dashboards
from .alerts import check_alert
from .catalog import Catalog
from .dashboards import check_compiled, check_definition, generated_queries
from .expressions import Analysis
from .findings import RULES, TOOL_RULES, UNSILENCEABLE, Finding, LatencyFigure, Report, from_error, ordered
from .latency import LatencyModel, check_latency
from .notifications import check_notification_templates
from .promql_refs import Out, Source
from .silences import apply_silences
from .templates import check_with_promtool

Check = Callable[[Stack, Callable[[Finding], None]], None]
STRUCTURE_CHECKS: tuple[Check, ...] = references.CHECKS + rollouts.CHECKS + runbooks.CHECKS + artifacts.CHECKS + semantics.CHECKS


class InternalError(Exception):
    """A bug in a check or compiler, not a mistake in the definitions."""

    def __init__(self, stage: str, exc: BaseException):
        self.stage, self.exc = stage, exc
        super().__init__(f"internal error in {stage}: {type(exc).__name__}: {exc}")

    def __reduce__(self) -> tuple[Any, ...]:  # pickled by its arguments (background.py sends it back)
        return (type(self), (self.stage, self.exc), self.__dict__)


class InvalidStack(DefinitionError):
    """The stack has mistakes: `findings` are every error; `where`, `field`
    and `message` those of the first, so callers catching DefinitionError see it."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        first = findings[0]
        super().__init__(first.where, first.field, first.message, first.origin)

    def one_line(self) -> str:
        return "\n".join(f.one_line() for f in self.findings)

    def __str__(self) -> str:
        return self.one_line()


def ensure_valid(stack: Stack) -> Stack:
    """`stack` when the validation pass finds no error; else InvalidStack (for library use:
    build a Stack in Python, `ensure_valid` it, then compile)."""
    errors = validate(stack).errors
    if errors:
        raise InvalidStack(errors)
    return stack


def validate(
    stack: Stack | None, load_errors: Sequence[DefinitionError] = (), *, documents: dict[str, Any] | None = None
) -> Report:
    """Every mistake in the definitions, without external tools (what `generate` refuses)."""
    return _run(stack, load_errors, documents, promtool=False)


def lint_stack(
    stack: Stack | None, *, promtool: bool = True, documents: dict[str, Any] | None = None,
    load_errors: Sequence[DefinitionError] = (),
) -> Report:
    """The validation pass plus, with `promtool`, the passes that run promtool and amtool.

    `documents` are the compiled outputs (default: the Grafana and
    Alertmanager compilers'), for the checks on dashboard JSON and on the
    receivers' notification templates.
    """
    return _run(stack, load_errors, documents, promtool=promtool)


def _run(stack: Stack | None, load_errors: Sequence[DefinitionError], documents: dict[str, Any] | None, promtool: bool) -> Report:
    found: list[Finding] = [from_error(e, "definition/import" if not e.where else "definition/invalid") for e in load_errors]
    if stack is None:
        return Report(findings=ordered(found))
    emit = found.append

    def failed() -> frozenset[int]:
        return frozenset(id(f.owners[0]) for f in found if f.level == "error" and f.owners)

    with references.skipping(failed) as refresh:
        for check in STRUCTURE_CHECKS:
            try:
                check(stack, emit)
            except Exception as exc:
                # Placeholders of broken definitions may hold anything, and a
                # check may trip over an earlier mistake; that mistake is
                # reported, so the check has nothing to add.
                if not any(f.level == "error" for f in found):
                    raise InternalError(f"validation ({check.__name__})", exc) from exc
            refresh()
    figures: list[LatencyFigure] = []
    if not any(f.level == "error" for f in found):  # the analysis needs a consistent stack
        try:
            figures = _analyse(stack, documents, promtool, emit)
        except Exception as exc:
            raise InternalError("validation (expression analysis)", exc) from exc
        stack._compiled[_FIGURES] = tuple(figures)
    unchecked = frozenset() if promtool else TOOL_RULES
    findings = _dedupe(apply_silences(stack, found, unchecked=unchecked))
    return Report(findings=ordered(findings), latency=figures)


def _analyse(stack: Stack, documents: dict[str, Any] | None, promtool: bool, emit: Callable[[Finding], None]) -> list[LatencyFigure]:
    if documents is None:
        from ..compile import compiled

        documents = {**compiled(stack, "grafana"), **compiled(stack, "alertmanager")}
    artifacts.check_documents(stack, documents, emit)
    catalog = Catalog(stack)
    generated = [
        Source(stack, f"dashboard '{uid}'", expr, parseable_query(expr), "dashboard")
        for uid, expr in generated_queries(stack, documents)
    ]
    analysis = Analysis(stack, catalog, generated)
    analysis.run(emit)

    if promtool:
        check_with_promtool(stack, analysis.sources, emit)

    latency = _latency_model(stack, catalog, analysis)
    figures: list[LatencyFigure] = []
    for alert, source in analysis.alert_sources():
        tree = analysis.tree(source)
        check_alert(stack, catalog, alert, tree, analysis.output(source), emit)
        if tree is not None:
            figures.append(check_latency(latency, alert, tree, emit))

    panel_outputs: dict[int, list[Out]] = {}
    for source in analysis.sources:
        if source.context == "dashboard":
            panel_outputs.setdefault(id(source.definition), []).append(analysis.output(source))
    for dashboard in stack.dashboards:
        check_definition(dashboard, panel_outputs, emit)
    check_compiled(stack, documents, emit)
    check_alert_dashboards(stack, documents, emit, analysis)
    if promtool:
        check_notification_templates(stack, documents, emit)
    return figures


# Where the figures are kept for the catalog compiler, which prints them (a Stack is frozen:
# they stay true for it). Set by the pass, or by latency_figures without it.
_FIGURES = "latency-figures"


def latency_figures(stack: Stack) -> tuple[LatencyFigure, ...]:
    """Each alert's worst-case time to notification, as the validation pass computes it
    (Report.latency), kept for the catalog: the pass's when it ran in this process, else
    from the analysis of the alerts and of the recording rules they read alone (cheap
    beside the whole pass)."""
    if _FIGURES not in stack._compiled:
        catalog = Catalog(stack)
        analysis = Analysis(stack, catalog, only=(Alert, RecordingRule))
        analysis.run(lambda _finding: None)
        latency = _latency_model(stack, catalog, analysis)
        stack._compiled[_FIGURES] = tuple(
            latency.figure(alert, tree) for alert, source in analysis.alert_sources() if (tree := analysis.tree(source)) is not None
        )
    return stack._compiled[_FIGURES]  # type: ignore[no-any-return]


def _latency_model(stack: Stack, catalog: Catalog, analysis: Analysis) -> LatencyModel:
    rule_trees = {
        s.definition.record: analysis.tree(s)
        for s in analysis.sources
        if isinstance(s.definition, RecordingRule) and analysis.tree(s) is not None
    }
    return LatencyModel(stack, catalog, rule_trees)  # type: ignore[arg-type]


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (definition, field, rule, message): a selector repeated in a query is one problem."""
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for item in findings:
        if item.key() not in seen:
            seen.add(item.key())
            out.append(item)
    return out


__all__ = [
    "RULES", "TOOL_RULES", "UNSILENCEABLE", "Finding", "InternalError", "InvalidStack", "LatencyFigure", "Report",
    "ensure_valid", "latency_figures", "lint_stack", "validate",
]

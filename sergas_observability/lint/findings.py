"""What the lint reports: rules (with ids and default levels), findings, the report.

Every finding carries a rule id, so a definition can silence exactly one rule
with a written reason (`lint_ignore={"rule/id": "why"}`); silenced findings
are kept and listed, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as dc_field  # `field` is also a Finding attribute
from typing import Literal

from ..model import Definition, DefinitionError

Level = Literal["error", "warning"]

# rule id -> (level, what it catches). The README's rule table mirrors this.
RULES: dict[str, tuple[Level, str]] = {
    # the definitions themselves (certain: cannot be silenced)
    "definition/invalid": ("error", "a definition's field is wrong (type, value, naming convention, unknown field)"),
    "definition/import": ("error", "the definitions module fails to import"),
    "stack/duplicate": ("error", "two definitions of one kind share a name, uid or file"),
    "stack/unknown-reference": ("error", "a severity, receiver, environment, dashboard, metric, label, exporter, module or rule group that is not declared"),
    "stack/name-collision": ("error", "two definitions derive the same generated name: alert, file, uid, rule file, Kubernetes object, secret"),
    "stack/invalid-name": ("error", "a name a target refuses: not a DNS label, not a Python identifier, too long"),
    "stack/untestable": ("error", "no promtool test can be generated (templates that do not expand, selectors no declared series matches)"),
    "stack/too-large": ("error", "a generated file larger than its target holds (a dashboard over a ConfigMap's 1 MiB)"),
    "stack/unknown-runbook": ("error", "a runbook_url that is no declared runbook, or names a section it does not have"),
    "stack/placeholder-runbook": ("warning", "a runbook_url that points nowhere on purpose (an importer's runbooks.invalid)"),
    "config/address": ("error", "an address that is not host:port, a probe URL without scheme"),
    "config/unscraped-environment": ("error", "an environment no scrape job or probe targets: every alert there is silent"),
    "routing/inhibition-cycle": ("error", "severities that inhibit each other: both muted while both fire"),
    "routing/inhibit-equal-label": ("error", "an inhibit_equal label an alert does not carry: one service's alert mutes every other's"),
    "slo/objective-ratio": ("error", "an objective of 1 or less: a ratio written where a percentage is meant"),
    "slo/no-budget": ("error", "an objective that leaves no error budget"),
    "slo/tiny-budget": ("warning", "min_bad_events so low that a single failed event alerts"),
    "slo/tier-unreachable": ("error", "a burn-rate tier that not even a total outage fires"),
    # PromQL cross-reference
    "promql/syntax": ("error", "the expression does not parse"),
    "promql/promtool-rejects": ("error", "promtool rejects an expression the Python parser accepted"),
    "promql/unknown-metric": ("error", "the metric is not declared (app, recording rule or exporter catalog)"),
    "promql/unscraped-metric": ("error", "no scrape job or probe yields the metric's exporter"),
    "promql/unknown-label": ("error", "a matcher, by/without, on/ignoring or group_x label the series do not carry"),
    "promql/external-label": ("error", "an external label (env, cluster, ...): only alerts and remote write carry it"),
    "promql/unknown-label-value": ("error", "a matcher value the label never takes (declared values, job names, buckets)"),
    "promql/rate-on-non-counter": ("error", "rate/irate/increase/resets over a gauge, summary quantile or recorded series"),
    "promql/gauge-function-on-counter": ("warning", "delta/deriv/predict_linear over a counter (use rate/increase)"),
    "promql/raw-counter": ("warning", "a counter's raw value used without rate/increase"),
    "promql/histogram-quantile": ("error", "histogram_quantile not over _bucket series, or with `le` aggregated away"),
    "promql/vector-match": ("error", "a binary operation whose sides never share a label set"),
    "promql/rate-window": ("error", "a rate window holding fewer than 2 scrapes (error) or 4 (warning)"),
    # alert hygiene
    "alert/summary-sentence": ("error", "summary is more than one sentence"),
    "alert/description-template": ("error", "description uses neither {{ $labels.* }} nor {{ $value }}"),
    "alert/template-label": ("error", "a template reads $labels.X the alert's series do not carry"),
    "alert/template-compile": ("error", "promtool cannot compile an annotation or label template"),
    "alert/no-threshold": ("warning", "the expression has no comparison: it fires whenever any series exists"),
    "alert/bool-comparison": ("error", "a top-level `bool` comparison returns 0/1 for every series: always fires"),
    "alert/for-below-evaluation": ("warning", "`for` shorter than the evaluation interval"),
    "alert/no-dashboard": ("warning", "no dashboard link for the on-call"),
    # dashboard hygiene
    "dashboard/uid-not-pinned": ("warning", "uid derived from the title: renaming the dashboard breaks its links"),
    "dashboard/datasource-variable": ("error", "the compiled dashboard has no `datasource` variable, or a query ignores it"),
    "dashboard/panel-unit": ("error", "a compiled panel has no unit"),
    "dashboard/unknown-unit": ("warning", "a panel unit Grafana does not know"),
    "dashboard/rate-interval": ("warning", "a rate window on a dashboard that is not $__rate_interval"),
    "dashboard/legend-label": ("error", "a legend {{label}} the query's series do not carry"),
    "dashboard/undefined-variable": ("error", "a query uses a $variable the dashboard does not define"),
    "dashboard/alert-metric-missing": ("error", "an alert's dashboard has no panel reading any metric the alert reads"),
    # routing
    "routing/notification-template": ("error", "amtool cannot render a receiver's notification template"),
    # latency budget
    "latency/over-budget": ("error", "worst-case notification latency over the severity's budget"),
    # the silences themselves
    "lint/silence-without-reason": ("error", "a lint_ignore entry without a written reason"),
    "lint/unknown-rule": ("error", "a lint_ignore entry naming a rule that does not exist"),
    "lint/unused-silence": ("warning", "a lint_ignore entry that silenced nothing"),
}


# Mistakes that are certain: no written reason makes them right.
UNSILENCEABLE = frozenset(
    [rule for rule in RULES if rule.startswith(("definition/", "stack/", "config/"))]
    + ["routing/inhibition-cycle", "routing/inhibit-equal-label", "slo/objective-ratio", "slo/no-budget"]
)
# Rules only the promtool and amtool passes can find (`lint`, `check`; not `generate`).
TOOL_RULES = frozenset({"promql/promtool-rejects", "alert/template-compile", "routing/notification-template"})


@dataclass(frozen=True)
class Finding:
    """One problem, attached to the definition (and field) at fault."""

    rule: str
    where: str  # "Alert 'HighErrorRate'"
    field: str | None
    message: str
    origin: str | None = None  # file:line where the definition was written
    expr: str | None = None  # the expression, shown under the message
    level: Level = "error"
    silenced: str | None = None  # the written reason, when a lint_ignore silenced it
    # The definitions whose lint_ignore may silence this finding (a panel's dashboard too).
    owners: tuple[Definition, ...] = dc_field(default=(), repr=False, compare=False)

    def key(self) -> tuple[str, str, str, str]:
        return (self.where, self.field or "", self.rule, self.message)

    def location(self) -> tuple[str, int]:
        """(file, line) of the definition at fault, for ordering ('' and 0 when unknown)."""
        path, _, line = (self.origin or "").rpartition(":")
        return (path, int(line)) if line.isdigit() else (self.origin or "", 0)

    def one_line(self) -> str:
        """`error: file:line: Kind 'name' field 'f': message [rule]`, as every command prints it.

        The rule id is shown where a `lint_ignore` may silence the finding."""
        place = f"{self.origin}: " if self.origin else ""
        field = f" field '{self.field}'" if self.field else ""
        what = f"{self.where}{field}: " if self.where else ""
        rule = "" if self.rule in UNSILENCEABLE else f" [{self.rule}]"
        return f"{self.level}: {place}{what}{self.message}{rule}"


def from_error(error: DefinitionError, rule: str = "definition/invalid") -> Finding:
    """A construction error (or a failed import) as a finding."""
    return Finding(rule, error.where, error.field, error.message, error.origin)


def ordered(findings: list[Finding]) -> list[Finding]:
    """In file and line order, as a compiler reports; unplaced findings last, stable otherwise."""
    return sorted(findings, key=lambda f: (f.origin is None, f.location()))


def finding(
    rule: str,
    definition: Definition,
    field: str | None,
    message: str,
    expr: str | None = None,
    *,
    level: Level | None = None,
    owners: tuple[Definition, ...] = (),
) -> Finding:
    """A finding for `definition`, at the rule's default level unless `level` says otherwise."""
    if rule not in RULES:
        raise KeyError(f"unknown lint rule {rule!r}")  # a typo in the lint itself
    return Finding(
        rule, definition.describe(), field, message, definition.origin, expr, level or RULES[rule][0],
        owners=(definition, *owners),
    )


@dataclass(frozen=True)
class LatencyFigure:
    """An alert's worst-case time to notification, term by term, in seconds."""

    alert: str
    severity: str
    environment: str
    scrape: float
    evaluation: float
    window: float
    for_: float
    group_wait: float
    budget: float | None

    @property
    def total(self) -> float:
        return self.scrape + self.evaluation + self.window + self.for_ + self.group_wait

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.total > self.budget


@dataclass
class Report:
    findings: list[Finding] = dc_field(default_factory=list)
    latency: list[LatencyFigure] = dc_field(default_factory=list)

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if f.silenced is None]

    @property
    def silenced(self) -> list[Finding]:
        return [f for f in self.findings if f.silenced is not None]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.active if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.active if f.level == "warning"]

    def rules(self) -> list[str]:
        """The rule ids of the active findings (what tests compare)."""
        return [f.rule for f in self.active]

    def detached(self) -> "Report":
        """The report without the definitions its findings name (what silencing read): all
        another process needs to print it."""
        return Report([replace(f, owners=()) for f in self.findings], list(self.latency))


def silenced(item: Finding, reason: str) -> Finding:
    return replace(item, silenced=reason)

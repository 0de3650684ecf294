"""SLO recording rules and burn-rate alerts.

Per SLO, in a group evaluated every minute:

1. `slo:sli_events:rate5m{event="bad"}` and `{event="total"}`: the bad and
   total event rates over 5m, read from the raw series once; and, when a tier
   reads a window longer than 6h, `slo:sli_events:rate6h` over 6h.
2. `slo:burn_rate:ratio{window=...}`, one rule per window the tiers use:
   error ratio / error budget. Windows up to 6h are read from the raw series
   (6h through its recorded rate): they decide how fast an alert fires, and
   a windowed average of the 5m rates would see a step ~2.5 minutes late (a 5m
   rate takes 5 minutes to rise). Longer windows are the exact last 6h plus an
   average of the recorded 5m rates before it (`[18h] offset 6h` for a day):
   weighted by duration, so traffic-weighted (sum of bad over sum of total,
   never a mean of ratios), and exact for any change within the last 6 hours -
   no lag where detection happens - at the cost of a few thousand samples of
   2 recorded series, whatever the cardinality behind them.
3. One alert per tier, each with its own name, so the on-call sees which pair
   fired and the fast page clears on its own. Every tier also needs:
   - its recovery window (5m for pages, 30m for tickets) to burn at half its
     rate or more: it resolves within ~5 (~30) minutes of recovery instead of
     waiting for its short window, while a steady burn, whose recovery window
     hovers around the tier's rate, never makes it flap;
   - at least `min_bad_events` bad events in its long window (in its short
     one for windows over 6h): a handful of failures at low traffic never
     alerts, a sustained outage at any traffic does (there is no traffic
     floor to fall under).

and in a second group every 2m30s (the period figures move slowly):

4. `slo:error_budget_remaining:ratio`: 1 - period error ratio / budget, from
   the recorded 5m rates (cheap over 30 days; 1 = untouched, < 0 = overspent).
5. `slo:objective:ratio{period=...}`: the objective, for dashboards.
6. Per calendar period of `SLO.calendar` (month, ISO week; UTC), in a file
   and group of their own every 2m30s, what an SLA report reads: `slo:sli_events:to_date{event=..., calendar=...}`, the bad
   and total events since the period began, and
   `slo:error_budget_remaining:to_date` from them. PromQL has no window
   that starts at a date, so the counts advance at each evaluation by the 5m
   rate x the seconds since `slo:sli_events:counted_at` (at most 5m: a gap
   in evaluation, such as a Prometheus restart, is not counted, good or bad
   events alike), and start again from 0 at the first evaluation of a new
   month or week. Cost: a few instant reads per evaluation, whatever the
   traffic; the counts begin when the rules are first loaded.

Every ratio divides by the total clamped to a tiny positive number and every
rate falls back to 0 when its series do not exist yet: zero traffic gives an
error ratio of 0 and a budget of 1, never NaN.

No alert has a `for`: the short window already demands a sustained burn, and
a `for` would only add its length to every detection time.

Each series is its own rule (one per event, one per window): the same series
and cost as one `or` of label_replace() branches, but every expression is a
few short lines a reviewer reads - numerator, denominator, budget - and one
changed window changes one rule.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from prometheus_client.utils import floatToGoString

from ..model import Stack
from ..model.base import KeptPer, duration_seconds, format_duration
from ..model.slo import (
    BASE_WINDOW,
    BUDGET_REMAINING_RECORD,
    BURN_RATE_RECORD,
    EVENTS_RECORD,
    OBJECTIVE_RECORD,
    RECENT_EVENTS_RECORD,
    RECOVERY_WINDOWS,
    SLI,
    SLO,
    TO_DATE_BUDGET_RECORD,
    TO_DATE_CLOCK_RECORD,
    TO_DATE_EVENTS_RECORD,
    BurnRateTier,
    LatencySLI,
    ProbeSLI,
    RatioSLI,
)
from ..promql import format_selector
from ..promql.templates import go_float
from .slo_dashboard import dashboard_uid

FAST_INTERVAL = "1m"
PERIOD_INTERVAL = "2m30s"
# Windows up to this long are read from the raw series (see the module docstring).
RAW_WINDOW_LIMIT = duration_seconds("6h")
# Divides by the total traffic when it is 0 (one event in 30 years is 1e-9/s).
TINY_RATE = "1e-09"


def rules_file(slo: SLO) -> str:
    """One file per SLO: its promtool tests then evaluate its rules alone."""
    return f"prometheus/rules/slo-{slo.service}-{slo.name}.yml"


def calendar_rules_file(slo: SLO) -> str:
    """The calendar counts (SLO.calendar) in a file of their own: they report, they do not
    alert, so the alerts' timing tests evaluate the SLO's rules without them (a dot: no
    SLO's own file has one)."""
    return f"prometheus/rules/slo-{slo.service}-{slo.name}.calendar.yml"


def rule_files(slo: SLO) -> tuple[str, ...]:
    """Every rule file of the SLO: its own, and its calendar counts' when it has any."""
    return (rules_file(slo), calendar_rules_file(slo)) if slo.calendar else (rules_file(slo),)


def compile(stack: Stack) -> dict[str, Any]:
    return compile_slos(stack.slos, {m.name: m for m in stack.metrics}, Links.of(stack))


class Links(NamedTuple):
    """What an SLO's alerts take from their stack: the Grafana base URL and the stack
    name the dashboard uids start with (where they point), and the severities
    for SLOs that name none (`Stack.slo_page_severity`, `slo_ticket_severity`)."""

    grafana_url: str
    stack_name: str
    page_severity: str = ""
    ticket_severity: str = ""

    @classmethod
    def of(cls, stack: Stack) -> "Links":
        return cls(stack.grafana_url, stack.name, stack.slo_page_severity, stack.slo_ticket_severity)

    def dashboard(self, slo: SLO) -> str:
        return f"{self.grafana_url.rstrip('/')}/d/{dashboard_uid(self.stack_name, slo.service)}"

    def severity(self, slo: SLO, tier: BurnRateTier) -> str:
        """The tier's severity: the SLO's own, else the stack's default for its action."""
        return slo.severity_of(tier) or (self.page_severity if tier.action == "page" else self.ticket_severity)


NO_LINKS = Links("", "")


def compile_slos(slos: Sequence[SLO], metrics: dict[str, Any], links: Links) -> dict[str, Any]:
    """Rule files keyed by path, from already validated SLOs (no model built here)."""
    files: dict[str, Any] = {}
    for slo in slos:
        files[rules_file(slo)] = {"groups": slo_groups(slo, metrics, links)}
        if slo.calendar:
            files[calendar_rules_file(slo)] = {"groups": [{"name": calendar_group(slo), "interval": PERIOD_INTERVAL, "rules": calendar_rules(slo)}]}
    return files


def slo_groups(slo: SLO, metrics: dict[str, Any], links: Links, events: "SLIEvents | None" = None) -> list[dict[str, Any]]:
    """The SLO's two rule groups. Built over placeholder selectors, then filled with the SLI's:
    the placeholder text is the SLO's rule shape too (rule_shape), kept for the tests' compiler."""
    if events is not None:
        return _groups(slo, links, events)
    real = SLIEvents(slo.sli, metrics, slo.group_by)
    anonymous = real.anonymous()
    groups = _groups(slo, links, anonymous)
    _SHAPES.put(_shape_key(slo, metrics), _shape_of(slo, groups))
    fills = anonymous.fills(real)
    for group in groups:
        group["rules"] = [_filled(rule, fills) for rule in group["rules"]]
    return groups


def _groups(slo: SLO, links: Links, events: "SLIEvents") -> list[dict[str, Any]]:
    fast = [*events_rules(slo, events), *burn_rate_rules(slo, events)]
    fast.extend(alert_rule(slo, tier, links) for tier in slo.tiers)
    name, period = group_names(slo)
    return [
        {"name": name, "interval": FAST_INTERVAL, "rules": fast},
        {"name": period, "interval": PERIOD_INTERVAL, "rules": [budget_remaining_rule(slo), objective_rule(slo)]},
    ]


def _filled(rule: dict[str, Any], fills: Sequence[tuple[str, str]]) -> dict[str, Any]:
    expr = rule["expr"]
    if "\0" not in expr:  # reads recorded series only
        return rule
    for placeholder, selector in fills:
        expr = expr.replace(placeholder, selector)
    return {**rule, "expr": expr}


Shape = tuple[tuple[str, str, "str | None", "str | None", str], ...]


def rule_shape(slo: SLO, metrics: dict[str, Any]) -> Shape:
    """What an SLO's rules compute, without what they are called or read.

    The rule text with placeholder selectors and without the SLO's identity
    (names, labels, annotations). Two SLOs of one shape evaluate the same
    expressions over their own series, so on the same traffic their alerts
    fire and resolve at the same evaluations: their detection times are
    proven once per shape (compile.slo_tests). slo_groups leaves it behind:
    computed here only for an SLO whose rules were not compiled in this process."""

    def shape() -> Shape:
        return _shape_of(slo, _groups(slo, NO_LINKS, SLIEvents(slo.sli, metrics, slo.group_by).anonymous()))

    return _SHAPES.get(_shape_key(slo, metrics), shape)


def _shape_of(slo: SLO, groups: list[dict[str, Any]]) -> Shape:
    """Each rule's interval, kind, event and window labels and expression, the SLO's own matchers
    taken out: not the alerts' names, labels or annotations (not what they compute)."""
    matchers = slo_matchers(slo)
    return tuple(
        (group["interval"], rule.get("record", "alert"), rule.get("labels", {}).get("event"),
         rule.get("labels", {}).get("window"), rule["expr"].replace(matchers, "<slo>"))
        for group in groups for rule in group["rules"]
    )


def _shape_key(slo: SLO, metrics: dict[str, Any]) -> tuple[Any, ...]:
    """What a shape is a function of: the SLO and the metrics its SLI reads."""
    return (slo, *(metrics.get(name) for name in slo.sli.metric_names()))


_SHAPES: KeptPer[Shape] = KeptPer()


def group_names(slo: SLO) -> tuple[str, str]:
    """The SLO's two rule groups: the fast one and the period one."""
    name = f"slo-{slo.service}-{slo.name}"
    return name, f"{name}-period"


def calendar_group(slo: SLO) -> str:
    """The group of the calendar counts (in calendar_rules_file)."""
    return f"slo-{slo.service}-{slo.name}.calendar"


# -- PromQL pieces ------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def num(value: float) -> str:
    """A float as a short PromQL literal (14.4, 6, 0.005)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def slo_matchers(slo: SLO) -> str:
    return _matchers(slo.service, slo.name)


@functools.lru_cache(maxsize=1024)
def _matchers(service: str, name: str) -> str:
    return f"service={json.dumps(service)},slo={json.dumps(name)}"


def _rate_sum(selectors: Sequence[str], window: str) -> str:
    terms = [f"(sum(rate({s}[{window}])) or vector(0))" for s in selectors]
    return terms[0] if len(terms) == 1 else "(" + " + ".join(terms) + ")"


def _by(slo: SLO) -> str:
    """` by (route)` for an SLO grouped by route, '' otherwise."""
    return _by_labels(slo.group_by)


def _by_labels(labels: Sequence[str]) -> str:
    return f" by ({', '.join(labels)})" if labels else ""


def _on(slo: SLO) -> str:
    """How an alert's conditions match: one series (`on()`), or one per group."""
    return f"on({', '.join(slo.group_by)})"


class SLIEvents:
    """PromQL for the bad and the total event rate (per second) of an SLI over a window.

    Each expression is one label-free series that exists even when the
    metrics do not (0), and is safe as an operand (parenthesised). Grouped by
    labels (SLO.group_by), one series per group that has traffic; a group
    without bad events gets a bad rate of 0 (`or total * 0`), never a gap.
    """

    def __init__(self, sli: SLI, metrics: dict[str, Any], group_by: Sequence[str] = ()):
        self._by = _by_labels(group_by)
        self._good: tuple[str, ...] = ()
        self._bad: tuple[str, ...] = ()
        self._total: tuple[str, ...] = ()
        self._probe = ""  # a ProbeSLI's gauge: its samples are the events
        self._interval = 0.0  # ... taken every this many seconds
        if isinstance(sli, ProbeSLI):
            self._probe = format_selector(sli.selector.metric or "", sli.selector.matchers)
            self._interval = duration_seconds(sli.interval)
        elif isinstance(sli, RatioSLI):
            self._good, self._bad, self._total = sli.good, sli.bad, sli.total
        elif isinstance(sli, LatencySLI):
            selector = sli.selector
            family = metrics.get(selector.metric or "")
            le = bucket_label(sli.threshold, exporter=getattr(family, "exporter", None) is not None)
            self._good = (format_selector(f"{selector.metric}_bucket", selector.matchers + (("le", "=", le),)),)
            self._total = (format_selector(f"{selector.metric}_count", selector.matchers),)

    def anonymous(self) -> "SLIEvents":
        """The same events over placeholder selectors (good0, bad0, total0, ... between NULs,
        which no PromQL text holds: `fills` puts the selectors back by plain replacement)."""
        other = object.__new__(SLIEvents)
        other._by = self._by
        other._probe, other._interval = ("\0probe0\0" if self._probe else ""), self._interval
        other._good, other._bad, other._total = (
            tuple(f"\0{name}{index}\0" for index in range(len(selectors)))
            for name, selectors in (("good", self._good), ("bad", self._bad), ("total", self._total))
        )
        return other

    def fills(self, real: "SLIEvents") -> list[tuple[str, str]]:
        """(placeholder, selector) for these anonymous events and the real ones they stand for."""
        pairs = list(zip(self._good + self._bad + self._total, real._good + real._bad + real._total))
        return pairs + ([(self._probe, real._probe)] if self._probe else [])

    def bad(self, window: str) -> str:
        if self._probe:
            return self._probes(f"1 - avg_over_time({self._probe}[{window}])")
        if self._by:
            return self._grouped_bad(window)
        if self._bad:
            return _rate_sum(self._bad, window)
        return f"clamp_min({_rate_sum(self._total, window)} - {_rate_sum(self._good, window)}, 0)"

    def total(self, window: str) -> str:
        if self._probe:
            return self._probes(f"avg_over_time({self._probe}[{window}]) * 0 + 1")
        if self._by:
            return self._grouped_total(window)
        if self._total:
            return _rate_sum(self._total, window)
        return f"({_rate_sum(self._good, window)} + {_rate_sum(self._bad, window)})"

    def _probes(self, share: str) -> str:
        """Probes a second over the window: each probed series' share of failed (or of all)
        probes, per interval. The share is the mean of the 0/1 samples, exact whatever the
        window (a count of samples is not: a range holds both its ends)."""
        per_second = f"sum{self._by + ' ' if self._by else ''}({share}) / {self._interval:g}"
        return f"({per_second})" if self._by else f"({per_second} or vector(0))"

    def _sum(self, selectors: tuple[str, ...], window: str) -> str:
        (selector,) = selectors  # grouped SLIs read one selector per field (SLO._check_sli)
        return f"sum{self._by} (rate({selector}[{window}]))"

    def _grouped_bad(self, window: str) -> str:
        if self._bad and self._total:
            return f"({self._sum(self._bad, window)} or {self._sum(self._total, window)} * 0)"
        if self._bad:  # bad and good
            return f"({self._sum(self._bad, window)} or {self._sum(self._good, window)} * 0)"
        total = self._sum(self._total, window)
        return f"clamp_min({total} - ({self._sum(self._good, window)} or {total} * 0), 0)"

    def _grouped_total(self, window: str) -> str:
        if self._total:
            return self._sum(self._total, window)
        good, bad = self._sum(self._good, window), self._sum(self._bad, window)
        return f"(({good} or {bad} * 0) + ({bad} or {good} * 0))"

    def selectors(self) -> dict[str, tuple[str, ...]]:
        """good/bad/total selectors as the rules read them (for test input); a probe's gauge is its total."""
        return {"good": self._good, "bad": self._bad, "total": (self._probe,) if self._probe else self._total}


def bucket_label(threshold: float, exporter: bool) -> str:
    """The `le` value a client writes for this bucket: Python's client writes
    1.0, Go clients (exporters) write 1."""
    return go_float(threshold) if exporter else floatToGoString(threshold)


def _identity(slo: SLO, **more: str) -> dict[str, str]:
    return dict(sorted({**more, "service": slo.service, "slo": slo.name}.items()))


RECENT_WINDOW = format_duration(RAW_WINDOW_LIMIT)


def _long(slo: SLO) -> bool:
    """Whether a tier reads a window longer than the raw ones (then 6h is recorded too)."""
    return _reads_long(slo.windows)


@functools.lru_cache(maxsize=256)  # asked for every rule of every SLO, of a few sets of windows
def _reads_long(windows: tuple[str, ...]) -> bool:
    return any(duration_seconds(w) > RAW_WINDOW_LIMIT for w in windows)


def events_rules(slo: SLO, events: SLIEvents) -> list[dict[str, Any]]:
    windows = [(EVENTS_RECORD, BASE_WINDOW)] + ([(RECENT_EVENTS_RECORD, RECENT_WINDOW)] if _long(slo) else [])
    return [
        {"record": record, "expr": (events.bad if event == "bad" else events.total)(window), "labels": _identity(slo, event=event)}
        for record, window in windows
        for event in ("bad", "total")
    ]


def _series(slo: SLO, record: str, event: str) -> str:
    return f'{record}{{{slo_matchers(slo)},event="{event}"}}'


def _summed(slo: SLO, inner: str, fill: str | None = None) -> str:
    """sum(inner), 0 when it has no series; grouped: per group, and `fill` x 0 where a group has none."""
    if not slo.group_by:
        return f"(sum({inner}) or vector(0))"
    return f"sum{_by(slo)} ({inner})" if fill is None else f"(sum{_by(slo)} ({inner}) or {fill} * 0)"


def _average(slo: SLO, event: str, window: str) -> str:
    """Events per second of one kind over `window`: the mean of the recorded 5m rates."""
    return _summed(slo, f"avg_over_time({_series(slo, EVENTS_RECORD, event)}[{window}])")


def _recorded(slo: SLO, event: str, window: str) -> str:
    """Events per second of one kind over a tier's `window`, from the recorded rates."""
    if window == BASE_WINDOW:
        return _summed(slo, _series(slo, EVENTS_RECORD, event))
    if window == RECENT_WINDOW and _long(slo):
        return _summed(slo, _series(slo, RECENT_EVENTS_RECORD, event))
    seconds = duration_seconds(window)
    if seconds <= RAW_WINDOW_LIMIT:
        return _average(slo, event, window)
    # The exact last 6h, then the average of the 5m rates before it, weighted by hours
    # (a group younger than 6h has no average yet: its 6h alone).
    before = format_duration(seconds - RAW_WINDOW_LIMIT)
    recent_hours, before_hours = RAW_WINDOW_LIMIT / 3600, (seconds - RAW_WINDOW_LIMIT) / 3600
    recent = _summed(slo, _series(slo, RECENT_EVENTS_RECORD, event))
    earlier = _summed(slo, f"avg_over_time({_series(slo, EVENTS_RECORD, event)}[{before}] offset {RECENT_WINDOW})", fill=recent)
    return f"({recent} * {num(recent_hours)} + {earlier} * {num(before_hours)})"


def _ratio(bad: str, total: str, budget: float) -> str:
    """bad / total / budget, one operand a line."""
    return f"{bad}\n/ clamp_min({total}, {TINY_RATE})\n/ {num(budget)}"


def _reads_raw(slo: SLO, window: str) -> bool:
    """Whether the window's burn rate reads the raw series (else the recorded rates)."""
    if window == BASE_WINDOW or (window == RECENT_WINDOW and _long(slo)):
        return False  # recorded over exactly this window
    return duration_seconds(window) <= RAW_WINDOW_LIMIT


def burn_rate_expr(slo: SLO, events: SLIEvents, window: str) -> str:
    if _reads_raw(slo, window):
        return _ratio(events.bad(window), events.total(window), slo.error_budget)
    return _ratio(_recorded(slo, "bad", window), _recorded(slo, "total", window), slo.error_budget)


def burn_rate_rules(slo: SLO, events: SLIEvents) -> list[dict[str, Any]]:
    return [
        {"record": BURN_RATE_RECORD, "expr": burn_rate_expr(slo, events, window), "labels": _identity(slo, window=window)}
        for window in slo.windows
    ]


def _burn(slo: SLO, window: str) -> str:
    return f'{BURN_RATE_RECORD}{{{slo_matchers(slo)},window="{window}"}}'


def bad_events(slo: SLO, window: str) -> str:
    """How many bad events the window (6h at most) holds, from the recorded rates."""
    return f"{_recorded(slo, 'bad', window)} * {duration_seconds(window):g}"


def count_window(tier: BurnRateTier) -> str:
    """The window whose bad events must reach SLO.min_bad_events: the long one; the short one
    when the long one is longer than 6h (a ticket's): it too must burn, and it reads few samples."""
    return tier.long if duration_seconds(tier.long) <= RAW_WINDOW_LIMIT else tier.short


def alert_expr(slo: SLO, tier: BurnRateTier) -> str:
    rate = tier.rate_for(slo.period_seconds)
    on = _on(slo)
    lines = [f"{_burn(slo, tier.long)} > {num(rate)}", f"and {on} {_burn(slo, tier.short)} > {num(rate)}"]
    recovery = RECOVERY_WINDOWS[tier.action]
    if duration_seconds(tier.short) > duration_seconds(recovery):
        lines.append(f"and {on} {_burn(slo, recovery)} > {num(rate / 2)}")
    lines.append(f"and {on} {bad_events(slo, count_window(tier))} >= {slo.min_bad_events}")
    return "\n".join(lines)


def _percent(ratio: float) -> str:
    return format(ratio * 100, ".3g") + "%"


def alert_labels(slo: SLO, tier: BurnRateTier, links: Links) -> dict[str, str]:
    return dict(sorted({**slo.labels, "severity": links.severity(slo, tier), "window": tier.long}.items()))


def alert_annotations(slo: SLO, tier: BurnRateTier, links: Links) -> dict[str, str]:
    rate = tier.rate_for(slo.period_seconds)
    spent = rate * duration_seconds(tier.long) / slo.period_seconds
    exhaustion = format_duration(round(slo.period_seconds / rate / 60) * 60)
    annotations = {
        "summary": f"The {slo.name} SLO of {slo.service}{_group_text(slo)} is burning its error budget at {format(rate, '.3g')}x the sustainable rate.",
        "description": (
            f"More than {_percent(rate * slo.error_budget)} of {{{{ $labels.service }}}} {{{{ $labels.slo }}}} events"
            f" were bad over both the last {tier.long} and the last {tier.short} (objective {num(slo.objective)}%"
            f" over {slo.period}). {_percent(spent)} of the error budget is spent when this fires;"
            f" at this rate the rest lasts {exhaustion}."
        ),
        "runbook_url": slo.runbook_url,
        "dashboard_url": links.dashboard(slo),
    }
    return {**annotations, **dict(sorted(slo.annotations.items()))}


def _group_text(slo: SLO) -> str:
    """' for route {{ $labels.route }}' for a grouped SLO: which group burns."""
    if not slo.group_by:
        return ""
    return " for " + ", ".join(f"{label} {{{{ $labels.{label} }}}}" for label in slo.group_by)


def alert_rule(slo: SLO, tier: BurnRateTier, links: Links) -> dict[str, Any]:
    return {
        "alert": slo.tier_alert_name(tier),
        "expr": alert_expr(slo, tier),
        "labels": alert_labels(slo, tier, links),
        "annotations": alert_annotations(slo, tier, links),
    }


def budget_remaining_rule(slo: SLO) -> dict[str, Any]:
    bad, total = _average(slo, "bad", slo.period), _average(slo, "total", slo.period)
    return {
        "record": BUDGET_REMAINING_RECORD,
        "expr": f"1 - (\n  {_ratio(bad, total, slo.error_budget).replace(chr(10), chr(10) + '  ')}\n)",
        "labels": _identity(slo),
    }


def objective_rule(slo: SLO) -> dict[str, Any]:
    return {
        "record": OBJECTIVE_RECORD,
        "expr": f"vector({num(slo.ratio)})",
        "labels": dict(sorted({**slo.labels, "service": slo.service, "slo": slo.name, "period": slo.period}.items())),
    }



# -- calendar periods (SLO.calendar) ---------------------------------------------------

# Monday 1970-01-05 00:00 UTC, the first ISO week after the epoch (a Thursday), and a week.
_FIRST_MONDAY, _WEEK = 4 * 86400, 7 * 86400
# The longest stretch one evaluation counts: the 5m rate it multiplies covers no more.
MAX_COUNTED_SECONDS = duration_seconds(BASE_WINDOW)
# How far back the previous count is looked for: a longer gap starts the period's count again.
CARRY_WINDOW = "1d"


def _period_index(calendar: str, timestamp: str = "") -> str:
    """Which month or week a vector of timestamps (default: now) falls in, equal within one period."""
    if calendar == "month":
        return f"month({timestamp})"
    return f"floor(({timestamp or 'vector(time())'} - {_FIRST_MONDAY}) / {_WEEK})"


def _sum(slo: SLO, inner: str) -> str:
    return f"sum{_by(slo)} ({inner})" if slo.group_by else f"sum({inner})"


def _clock(slo: SLO, calendar: str) -> str:
    return f'sum(last_over_time({TO_DATE_CLOCK_RECORD}{{{slo_matchers(slo)},calendar="{calendar}"}}[{CARRY_WINDOW}]))'


def to_date_expr(slo: SLO, event: str, calendar: str) -> str:
    """The period's count so far (when the last one is of this period) plus what happened since."""
    clock = _clock(slo, calendar)
    counted = f'{TO_DATE_EVENTS_RECORD}{{{slo_matchers(slo)},event="{event}",calendar="{calendar}"}}'
    # Within one day of each other (CARRY_WINDOW), equal months are the same month.
    same_period = f"{_period_index(calendar, clock)} == {_period_index(calendar)}"
    before = _sum(slo, f"last_over_time({counted}[{CARRY_WINDOW}])")
    rate = _sum(slo, _series(slo, EVENTS_RECORD, event))
    since = f"clamp_max(vector(time()) - {clock}, {MAX_COUNTED_SECONDS:g})"
    if not slo.group_by:
        return f"(\n  {before}\n  and on() {same_period}\n  or vector(0)\n)\n+ ({rate} * on() {since} or vector(0))"
    # Per group: a group new this period starts from 0, one without traffic now keeps its count.
    return f"(\n  {before}\n  and on() {same_period}\n  or {rate} * 0\n)\n+ ({rate} * on() group_left() {since} or {before} * 0)"


def calendar_rules(slo: SLO) -> list[dict[str, Any]]:
    """Per calendar period: the counts so far (read the previous clock), the clock, the budget left."""
    rules: list[dict[str, Any]] = []
    for calendar in slo.calendar:
        rules += [
            {"record": TO_DATE_EVENTS_RECORD, "expr": to_date_expr(slo, event, calendar), "labels": _identity(slo, event=event, calendar=calendar)}
            for event in ("bad", "total")
        ]
        rules.append({"record": TO_DATE_CLOCK_RECORD, "expr": "vector(time())", "labels": _identity(slo, calendar=calendar)})
        counted = {event: f'{TO_DATE_EVENTS_RECORD}{{{slo_matchers(slo)},event="{event}",calendar="{calendar}"}}' for event in ("bad", "total")}
        ratio = _ratio(_summed(slo, counted["bad"]), _summed(slo, counted["total"]), slo.error_budget)
        rules.append({
            "record": TO_DATE_BUDGET_RECORD,
            "expr": f"1 - (\n  {ratio.replace(chr(10), chr(10) + '  ')}\n)",
            "labels": _identity(slo, calendar=calendar),
        })
    return rules

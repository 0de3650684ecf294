"""promtool unit tests that prove each SLO's alerts fire, stay quiet and clear in time.

Every SLO's rules are those of its *shape* (compile.slo.rule_shape: the rule
text without the SLO's selectors and identity) over its own series. Timing is
a property of the shape, so it is proven once per shape, against the rule
file of the shape's first SLO; what is the SLO's own - its selectors, alert
names, labels and annotations - is proven for every SLO. With 1-minute
samples of constant traffic:

`slo-<service>-<name>.test.yml`, for every SLO, a few minutes of replay each:

- total outage: every tier fires, with exactly the labels and annotations of
  its rule;
- a burn at half the slowest tier's rate: no alert (the bad events are
  counted as bad, the good ones as good);
- zero traffic, counters that do not move and no series at all: no alert,
  burn rates 0 and the whole error budget left (no NaN).

`slo-<service>-<name>.timing.test.yml`, for the first SLO of each shape,
evaluated every minute as in production:

- outage: after clean history as long as the longest page window, every
  request fails for 3 hours (or until the slowest page fired, if later).
  Each page fires by its SRE-workbook detection time (budget x burn rate x
  long window / error ratio) plus one evaluation interval, and not an
  evaluation before the workbook allows; after recovery every page resolves
  within 10 minutes. (Pages wake people: their timing is proven to the
  minute. Tickets are proven at the days file's 5-minute steps, which spares
  a day of every-minute replay per shape.)
- 10x burn: the first page fires by its workbook time + 1 interval.
- quiet service, 0.5 events a minute: 3 failed events fire nothing at any
  evaluation; a total outage pages once the fastest page's window holds
  `min_bad_events` bad events (20 minutes at the default 10, plus the lag
  of the recorded rates the count reads).
- steady burn, per tier, at 1.2x its own rate: once firing, the tier stays
  firing at every evaluation (no flapping).

`slo-<service>-<name>.days.test.yml`, for the first SLO of each shape, the
multi-day scenarios, evaluated every 5 minutes (the same rules; 25x cheaper
to replay, as promtool evaluates every rule at every step and the long
windows read every sample):

- outage after 3 days of clean history: every ticket (and any page whose
  window is longer than the pages' history above) fires by its workbook
  time + 1 interval, and resolves within 35 minutes of the recovery.
- 10x burn after a clean day: the first ticket fires by its workbook time
  + 1 interval.
- 1x burn for 3 days: no page and no ticket at any evaluation.

`slo-<service>-<name>.calendar.test.yml`, for the first SLO of each shape
that counts calendar periods (SLO.calendar), evaluated every 6 hours (the
counts are ratios of evaluations, so the step does not change them):

- per month (week) from 1970-01-01, a Thursday: half the budget burns over the
  first half of January (of the days until Monday, January 5th), then none.
  At the period's last evaluation it has spent what its burning evaluations
  counted, at the first evaluation of February (of the Monday) nothing, while
  the rolling period keeps what it spent.

The input series come from compile.slo_inputs.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..model import Stack
from ..model.base import duration_seconds, format_duration
from ..model.slo import BUDGET_REMAINING_RECORD, BURN_RATE_RECORD, SLO, TO_DATE_BUDGET_RECORD, BurnRateTier, ProbeSLI, selector_of
from ..promql import format_selector
from ..promql.templates import expand
from .slo import Links, Shape, alert_annotations, alert_labels, calendar_group, count_window, group_names, num, rule_files, rule_shape, rules_file
from .slo_inputs import input_series

SAMPLE_MINUTES = 1  # input samples, in both files
DAYS_EVERY = 5  # evaluation interval of the multi-day file, minutes
TRAFFIC = 100.0  # events per minute in every scenario but the low-traffic one
RECOVERY_LIMIT = 10  # minutes after an outage by which every page has resolved
TICKET_RECOVERY_LIMIT = 35  # ... and every ticket (its 30m recovery window, plus a margin)
QUIET_TRAFFIC = 0.5  # events a minute of the quiet service the low-traffic scenarios replay
QUIET_FAILURES = 3  # a handful of failed events: never an alert
QUIET_PAGE_LIMIT = 30  # minutes by which a quiet service's total outage pages (with the default min_bad_events)
OWN_MINUTES = 15  # replayed by each SLO's own checks: a few evaluations of every group
# A tier's bad-event count over a window up to 6h averages the recorded 5m rates,
# which see a step ~2.5 minutes late: only a count reached at low traffic waits for it.
COUNT_LAG = 3


CALENDAR_EVERY = 6 * 60  # evaluation interval of the calendar file, minutes
# Minutes from the epoch (Thursday 1970-01-01 00:00 UTC) to the start of the next calendar period.
NEXT_PERIOD = {"month": 31 * 24 * 60, "week": 4 * 24 * 60}

# The test files of an SLO: its own checks (every SLO), and the timing of its shape (first SLO of each shape).
OWN, TIMING, DAYS, CALENDAR = "", "timing", "days", "calendar"


def slo_test_file(slo: SLO, kind: str = OWN) -> str:
    return f"prometheus/tests/slo-{slo.service}-{slo.name}{'.' + kind if kind else ''}.test.yml"


def shapes(stack: Stack) -> dict[Shape, list[SLO]]:
    """The SLOs of each rule shape, in definition order (the first one's files prove the shape's timing)."""
    metrics = {m.name: m for m in stack.metrics}
    found: dict[Shape, list[SLO]] = {}
    for slo in stack.slos:
        found.setdefault(rule_shape(slo, metrics), []).append(slo)
    return found


def compile(stack: Stack) -> dict[str, Any]:
    metrics = {m.name: m for m in stack.metrics}
    links = Links.of(stack)
    documents: dict[str, Any] = {}

    def add(slo: SLO, kind: str, every: int, tests: list[dict[str, Any]]) -> None:
        path = slo_test_file(slo, kind)
        # The alerts' timing evaluates the SLO's own rules; the calendar counts only where they are checked.
        files = rule_files(slo) if kind in (OWN, CALENDAR) else (rules_file(slo),)
        # The fast group first at each evaluation, as in Prometheus, where the later groups read
        # 5m rates at most a minute old (promtool's order of groups is otherwise random).
        order = [*group_names(slo), *([calendar_group(slo)] if len(files) > 1 else [])]
        documents[path] = {
            "rule_files": [posixpath.relpath(f, posixpath.dirname(path)) for f in files],
            "evaluation_interval": f"{every}m",
            "group_eval_order": order,
            "tests": tests,
        }

    for same in shapes(stack).values():
        first = same[0]
        for slo in same:
            add(slo, OWN, 1, SLOTests(slo, metrics, links).own_tests(first))
        timing, days = SLOTests(first, metrics, links), SLOTests(first, metrics, links, DAYS_EVERY)
        calendar = SLOTests(first, metrics, links, CALENDAR_EVERY)
        covered = f"the rule shape of {len(same)} SLO{'s' if len(same) > 1 else ''}"
        suites = ((TIMING, timing, timing.minute_tests()), (DAYS, days, days.days_tests()), (CALENDAR, calendar, calendar.calendar_tests()))
        for kind, suite, tests in suites:
            if tests:
                for test in tests:
                    test["name"] += f" ({covered})"
                add(first, kind, suite.every, tests)
    return {path: documents[path] for path in sorted(documents)}


@dataclass(frozen=True)
class Segment:
    minutes: int
    traffic: float  # events per minute
    error_ratio: float

    @property
    def good(self) -> float:
        return self.traffic * (1 - self.error_ratio)

    @property
    def bad(self) -> float:
        return self.traffic * self.error_ratio


def counter_values(segments: Sequence[Segment], good: int, bad: int) -> str:
    """promtool's expanding notation for a counter growing good x g + bad x b a minute.

    promtool adds the increment sample by sample, so each segment starts from
    the float the previous one really ended at: a start a rounding error
    below it would read as a counter reset.
    """
    parts, value = [], 0.0
    for index, seg in enumerate(segments):
        step = good * seg.good + bad * seg.bad
        count = seg.minutes if index == 0 else seg.minutes - 1
        if index:
            value += step
        parts.append(f"{num(value)}+{num(step)}x{count}")
        for _ in range(count):
            value += step
    return " ".join(parts)


def _gauge_values(segments: Sequence[Segment], per_minute: float) -> str:
    """promtool's notation for a probe's 0/1 gauge: each segment's samples at 1 - its error
    ratio (the mean of probes of which that share fails: the rules only ever average them)."""
    parts = []
    for index, seg in enumerate(segments):
        samples = round(seg.minutes * per_minute)
        parts.append(f"{num(round(1 - seg.error_ratio, 12))}x{samples if index == 0 else samples - 1}")
    return " ".join(parts)


def detection(slo: SLO, tier: BurnRateTier, error_ratio: float) -> float | None:
    """Minutes from the start of a constant burn to the workbook's detection (None: never)."""
    rate = tier.rate_for(slo.period_seconds)
    if error_ratio / slo.error_budget <= rate * 1.0001:
        return None
    return round(slo.error_budget * rate * _minutes(tier.long) / error_ratio, 6)


class SLOTests:
    def __init__(self, slo: SLO, metrics: dict[str, Any], links: Links, every: int = 1):
        self.slo = slo
        self.links = links
        self.every = every  # evaluation interval, minutes
        self.series = input_series(slo.sli, metrics)
        # A probe's events are its samples, one an interval (its scenarios' traffic is that, and
        # it is never a quiet service: a probe keeps its schedule).
        self.probe_seconds = duration_seconds(slo.sli.interval) if isinstance(slo.sli, ProbeSLI) else 0.0
        self.probe = self.probe_seconds > 0
        self.traffic = 60 / self.probe_seconds if self.probe else TRAFFIC  # events a minute
        # A grouped SLO replays each scenario in one group ("a"), beside a second group ("b")
        # that stays clean: the alerts must name the first and never the second.
        self.groups = _groups(slo, self.series, metrics)
        self.pages = [t for t in slo.tiers if t.action == "page"]
        self.longest = max((_minutes(t.long) for t in slo.tiers), default=0)
        # Pages wake people, so their detection is timed to the minute, after as much clean
        # history as their windows read; tickets are timed at the days file's steps.
        self.short_history = max((_minutes(t.long) for t in self.pages), default=0)

    # -- building blocks -------------------------------------------------------------

    def _values(self, segments: Sequence[Segment], good: int, bad: int) -> str:
        return _gauge_values(segments, self.traffic) if self.probe else counter_values(segments, good, bad)

    def _input(self, segments: Sequence[Segment]) -> list[dict[str, str]]:
        if not self.slo.group_by:
            return [{"series": text, "values": self._values(segments, g, b)} for text, g, b in self.series]
        burning, *clean = self.groups
        quiet = [Segment(sum(seg.minutes for seg in segments), self.traffic, 0.0)]
        return [
            {"series": with_labels(text, group), "values": self._values(segments if group is burning else quiet, g, b)}
            for group in (burning, *clean) for text, g, b in self.series
        ]

    def _expected(self, tier: BurnRateTier) -> dict[str, Any]:
        labels = {**alert_labels(self.slo, tier, self.links), "service": self.slo.service, "slo": self.slo.name, **self.groups[0]}
        labels = dict(sorted(labels.items()))
        annotations = {
            key: expand(text, labels, 0.0) for key, text in alert_annotations(self.slo, tier, self.links).items()
        }
        return {"exp_labels": labels, "exp_annotations": annotations}

    def _check(self, minute: float, tier: BurnRateTier, firing: bool) -> dict[str, Any]:
        return {
            "eval_time": format_duration(minute * 60) if minute else "0s",
            "alertname": self.slo.tier_alert_name(tier),
            "exp_alerts": [self._expected(tier)] if firing else [],
        }

    def _test(self, name: str, segments: Sequence[Segment], checks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        interval = format_duration(self.probe_seconds) if self.probe else f"{SAMPLE_MINUTES}m"
        test: dict[str, Any] = {"name": f"{self.slo.key}: {name}", "interval": interval}
        test["input_series"] = self._input(segments)
        if checks:
            test["alert_rule_test"] = sorted(checks, key=lambda c: (duration_seconds(c["eval_time"]), c["alertname"]))
        test.update(extra)
        return test

    def detection(self, tier: BurnRateTier, error_ratio: float) -> float | None:
        return detection(self.slo, tier, error_ratio)

    def latest_firing(self, tier: BurnRateTier, workbook: float) -> int:
        """The evaluation by which the tier must fire: the first one after the
        workbook time, i.e. at most one interval later."""
        return (math.floor(workbook / self.every) + 1) * self.every

    def counted(self, tier: BurnRateTier, error_ratio: float, traffic: float | None = None) -> float:
        """Minutes from the start of a constant burn until the tier's count window holds
        min_bad_events bad events, plus the lag of the recorded rates it may read."""
        return self.slo.min_bad_events / ((traffic or self.traffic) * error_ratio) + COUNT_LAG

    def reachable(self, tier: BurnRateTier, error_ratio: float) -> bool:
        """Whether a constant burn ever puts min_bad_events bad events in the tier's count window
        (a slow burn of a probe scraped every 30s may not: 3 failed probes in 2 hours never ticket)."""
        return self.traffic * error_ratio * _minutes(count_window(tier)) >= self.slo.min_bad_events * 1.05

    def due(self, tier: BurnRateTier, workbook: float, error_ratio: float, traffic: float | None = None) -> int:
        """The evaluation by which the tier must fire: past its workbook time and its bad-event count.
        A probe's window of n intervals holds n + 1 samples (both ends, in Prometheus 2), so its
        share of failed samples reaches the workbook's one sample later."""
        late = self.probe_seconds / 60
        return self.latest_firing(tier, max(workbook + late, self.counted(tier, error_ratio, traffic)))

    def _detection_checks(self, start: int, tier: BurnRateTier, workbook: float, error_ratio: float) -> list[dict[str, Any]]:
        checks = [self._check(start + self.due(tier, workbook, error_ratio), tier, True)]
        earliest = (math.ceil(workbook / self.every) - 1) * self.every  # the last evaluation before the workbook time
        if earliest > 0:  # where the tier must not fire yet
            checks.append(self._check(start + earliest, tier, False))
        return checks

    def _never_alerted(self, minute: int, tiers: Sequence[BurnRateTier]) -> dict[str, Any]:
        """None of `tiers` was pending or firing at any evaluation up to `minute`: ALERTS holds no sample."""
        names = "|".join(self.slo.tier_alert_name(t) for t in tiers)
        expr = f'ALERTS{{alertname=~"{names}",service="{self.slo.service}",slo="{self.slo.name}"}}'
        return {"expr": f"count_over_time({expr}[{format_duration(minute * 60)}])", "eval_time": format_duration(minute * 60), "exp_samples": []}

    # -- the two files ----------------------------------------------------------------

    def own_tests(self, first: SLO) -> list[dict[str, Any]]:
        """What is this SLO's own: its series, names, labels and annotations (its timing is `first`'s)."""
        timing = "proven here" if first is self.slo else f"those of {first.key}, whose rules have the same shape"
        if not self.slo.tiers:  # recorded, never alerted on
            return [self.overspent(), *self.zero_traffic()]
        return [self.total_outage(timing), self.under_burn(), *self.zero_traffic()]

    def overspent(self) -> dict[str, Any]:
        """An SLO without alerts still counts: a total outage overspends its budget (below 0), and no alert exists."""
        match = f'service="{self.slo.service}",slo="{self.slo.name}"'
        at = format_duration(OWN_MINUTES * 60)
        checks = [
            {"expr": f"{BUDGET_REMAINING_RECORD}{{{match}}} < bool 0", "eval_time": at,
             "exp_samples": [{"labels": f"{{{match}{_matchers(g)}}}", "value": 1} for g in self.groups]},
            {"expr": f'count(ALERTS{{{match}}}) or vector(0)', "eval_time": at, "exp_samples": [{"labels": "{}", "value": 0}]},
        ]
        return self._test("total outage: the budget is overspent, and no alert exists (the SLO has no tiers)",
                          [Segment(OWN_MINUTES, self.traffic, 1.0)], [], promql_expr_test=checks)

    def minute_tests(self) -> list[dict[str, Any]]:
        if not self.slo.tiers:
            return []
        short = [t for t in self.pages if _minutes(t.long) <= self.short_history]
        tests = [self.outage(self.short_history, short) if short else None, *(self.tenfold_burn(action, days=False) for action in ("page", "ticket"))]
        if self.pages and not self.probe:  # a probe's traffic is its own schedule: never quiet
            tests += [self.quiet_failures(), self.quiet_outage()]
        tests.extend(self.steady_burn(tier) for tier in self.slo.tiers)
        return [t for t in tests if t is not None]

    def days_tests(self) -> list[dict[str, Any]]:
        if not self.slo.tiers:
            return []
        long = [t for t in self.slo.tiers if t.action == "ticket" or _minutes(t.long) > self.short_history]
        tests = [self.outage(self.longest, long) if long else None, *(self.tenfold_burn(action, days=True) for action in ("page", "ticket"))]
        tests.append(self.one_x_burn())
        return [t for t in tests if t is not None]

    # -- scenarios ------------------------------------------------------------------

    def total_outage(self, timing: str) -> dict[str, Any]:
        """Every request fails from the start: each tier that a total outage can fire fires."""
        length = max(OWN_MINUTES, math.ceil(self.counted(self.slo.tiers[0], 1.0)) + 1)  # a slow probe counts its failures late
        checks = [self._check(length, t, True) for t in self.slo.tiers if self.detection(t, 1.0) is not None]
        name = f"total outage: every alert fires with its labels and annotations (detection times: {timing})"
        return self._test(name, [Segment(length, self.traffic, 1.0)], checks)

    def under_burn(self) -> dict[str, Any]:
        """Bad events at half the slowest tier's rate: no alert."""
        slowest = min(t.rate_for(self.slo.period_seconds) for t in self.slo.tiers)
        error_ratio = min(1.0, slowest * self.slo.error_budget / 2)
        checks = [self._check(OWN_MINUTES, t, False) for t in self.slo.tiers]
        name = f"{format(error_ratio * 100, '.3g')}% bad events (burn rate {num(slowest / 2)}): no alert"
        return self._test(name, [Segment(OWN_MINUTES, self.traffic, error_ratio)], checks)

    def outage(self, history: int, tiers: list[BurnRateTier]) -> dict[str, Any]:
        """Clean history, then every request fails for 3 hours, then recovery."""
        timed = [(t, w) for t in tiers if (w := self.detection(t, 1.0)) is not None and self.reachable(t, 1.0)]
        # 3 hours, or until the slowest tier fired (a 95 % SLO's 3d tier takes 216 minutes)
        outage = max([180] + [self.due(t, w, 1.0) + 5 for t, w in timed])
        checks = []
        for tier, workbook in timed:
            checks += self._detection_checks(history, tier, workbook, 1.0)
            checks.append(self._check(history + outage, tier, True))
            limit = RECOVERY_LIMIT if tier.action == "page" else TICKET_RECOVERY_LIMIT
            checks.append(self._check(history + outage + math.ceil(limit / self.every) * self.every, tier, False))
        recovery = TICKET_RECOVERY_LIMIT + 5 if any(t.action == "ticket" for t, _ in timed) else RECOVERY_LIMIT + 5
        segments = [Segment(history, self.traffic, 0.0), Segment(outage, self.traffic, 1.0), Segment(recovery, self.traffic, 0.0)]
        name = (f"{format_duration(outage * 60)} outage after {format_duration(history * 60)} of clean history: each tier fires by its"
                f" workbook time + 1 interval; after recovery every page resolves within {RECOVERY_LIMIT}m, every ticket within {TICKET_RECOVERY_LIMIT}m")
        return self._test(name, segments, checks)

    def tenfold_burn(self, action: str, days: bool) -> dict[str, Any] | None:
        """A burn at 10x: the first tier of `action` fires by its workbook time + 1 interval."""
        error_ratio = 10 * self.slo.error_budget
        if error_ratio > 1:
            return None
        times = [(w, t) for t in self.slo.tiers
                 if t.action == action and (w := self.detection(t, error_ratio)) is not None and self.reachable(t, error_ratio)]
        if not times:
            return None
        workbook, first = min(times, key=lambda pair: self.due(pair[1], pair[0], error_ratio))
        clean = _minutes(first.long)  # its long window starts clean, as after days of history
        # Tickets take hours at 10x: replayed every 5 minutes (the days file), pages every minute.
        if (clean > self.short_history or action == "ticket") != days:
            return None  # the other file times it
        segments = [Segment(clean, self.traffic, 0.0), Segment(self.due(first, workbook, error_ratio) + 5, self.traffic, error_ratio)]
        checks = self._detection_checks(clean, first, workbook, error_ratio)
        return self._test(f"10x burn: {self.slo.tier_alert_name(first)} fires by its workbook time + 1 interval", segments, checks)

    def one_x_burn(self) -> dict[str, Any]:
        days = 3 * 24 * 60
        segments = [Segment(days, self.traffic, self.slo.error_budget)]
        checks = [self._check(days, t, False) for t in self.slo.tiers]
        return self._test("1x burn for 3 days: no page, no ticket", segments, checks,
                          promql_expr_test=[self._never_alerted(days, self.slo.tiers)])

    def _quiet_history(self) -> int:
        return max(_minutes(t.long) for t in self.pages)  # the pages' windows full of quiet, clean traffic

    def quiet_failures(self) -> dict[str, Any] | None:
        """A handful of failed events at QUIET_TRAFFIC: no alert at any evaluation."""
        failures = min(QUIET_FAILURES, self.slo.min_bad_events - 1)
        if failures < 1:
            return None
        quiet = self._quiet_history()
        blip = math.ceil(failures / QUIET_TRAFFIC)  # every request fails until `failures` failed
        segments = [Segment(quiet, QUIET_TRAFFIC, 0.0), Segment(blip, QUIET_TRAFFIC, 1.0), Segment(60, QUIET_TRAFFIC, 0.0)]
        end = quiet + blip + 60
        checks = [self._check(end, t, False) for t in self.slo.tiers]
        return self._test(f"{failures} failed events at {num(QUIET_TRAFFIC)} events a minute: no alert", segments, checks,
                          promql_expr_test=[self._never_alerted(end, self.slo.tiers)])

    def quiet_outage(self) -> dict[str, Any] | None:
        """A total outage at QUIET_TRAFFIC pages once its fastest page holds min_bad_events bad events."""
        timed = [(t, w) for t in self.pages if (w := self.detection(t, 1.0)) is not None]
        if not timed:
            return None
        # The count, not the burn, decides at this traffic: min_bad_events requests, plus the recorded rates' lag.
        first, workbook = min(timed, key=lambda pair: self.due(pair[0], pair[1], 1.0, QUIET_TRAFFIC))
        by = self.due(first, workbook, 1.0, QUIET_TRAFFIC)
        quiet = _minutes(first.long)  # its window full of quiet, clean traffic
        segments = [Segment(quiet, QUIET_TRAFFIC, 0.0), Segment(by + 5, QUIET_TRAFFIC, 1.0)]
        checks = [self._check(quiet + by, first, True)]
        name = f"total outage at {num(QUIET_TRAFFIC)} events a minute: {self.slo.tier_alert_name(first)} pages within {by}m"
        return self._test(name, segments, checks)

    def zero_traffic(self) -> list[dict[str, Any]]:
        length = OWN_MINUTES
        at = format_duration(length * 60)
        match = f'service="{self.slo.service}",slo="{self.slo.name}"'

        def exprs(groups: list[dict[str, str]]) -> list[dict[str, Any]]:
            """Budget 1 and burn 0 for each group (an ungrouped SLO is one group, of no labels)."""
            return [
                {
                    "expr": f"{BUDGET_REMAINING_RECORD}{{{match}}}",
                    "eval_time": at,
                    "exp_samples": [{"labels": f"{BUDGET_REMAINING_RECORD}{{{match}{_matchers(g)}}}", "value": 1} for g in groups],
                },
                *(
                    {
                        "expr": f'{TO_DATE_BUDGET_RECORD}{{{match},calendar="{calendar}"}}',
                        "eval_time": at,
                        "exp_samples": [
                            {"labels": f'{TO_DATE_BUDGET_RECORD}{{{match},calendar="{calendar}"{_matchers(g)}}}', "value": 1} for g in groups
                        ],
                    }
                    for calendar in self.slo.calendar
                ),
                {
                    "expr": f"{BURN_RATE_RECORD}{{{match}}}",
                    "eval_time": at,
                    "exp_samples": [
                        {"labels": f'{BURN_RATE_RECORD}{{{match},window="{w}"{_matchers(g)}}}', "value": 0} for g in groups for w in self.slo.windows
                    ],
                },
            ]
        checks = [self._check(length, t, False) for t in self.slo.tiers]
        # (A probe that does not run has no samples: the absent case.)
        flat = None if self.probe else self._test("zero traffic: no alert, no NaN, the whole budget left", [Segment(length, 0.0, 0.0)], checks,
                                                  promql_expr_test=exprs(self.groups))
        # No series, no group: an ungrouped SLO still has its one series (0 and 1), a grouped one none.
        absent = {
            "name": f"{self.slo.key}: metrics absent: no alert, no NaN, the whole budget left",
            "interval": f"{SAMPLE_MINUTES}m",
            "input_series": [],
            "alert_rule_test": checks,
            "promql_expr_test": exprs([] if self.slo.group_by else self.groups),
        }
        return [flat, absent] if flat else [absent]

    def calendar_tests(self) -> list[dict[str, Any]]:
        """Per calendar period: half the budget burns over its first half, then none: at its last
        evaluation the period has spent what its burning evaluations counted, at the first of the
        next period nothing (a count that never restarts fails the one, one that restarts at every
        evaluation the other)."""
        tests = []
        match = f'service="{self.slo.service}",slo="{self.slo.name}"'
        for calendar in self.slo.calendar:
            boundary = NEXT_PERIOD[calendar]
            half = boundary // 2 // self.every * self.every
            # Transitions an hour before an evaluation: each evaluation's 5m rate is all burn or all clean.
            segments = [Segment(half - 60, self.traffic, self.slo.error_budget / 2), Segment(boundary - half + 61, self.traffic, 0.0)]
            # Every evaluation after the first (which has no 5m rate yet) counts one 5m rate.
            counted, burning = (boundary - self.every) // self.every, (half - 60) // self.every
            left = 1 - 0.5 * burning / counted
            period = f',calendar="{calendar}"'
            burns, *clean = self.groups

            def near(record: str, labels: str, minute: int, value: float, within: float = 1e-09) -> dict[str, Any]:
                """`record` is `value`, give or take `within` (the check's sample is 1)."""
                return {
                    "expr": f"abs({record}{{{labels}}} - {num(value)}) < bool {within:g}",
                    "eval_time": format_duration(minute * 60),
                    "exp_samples": [{"labels": f"{{{labels}}}", "value": 1}],
                }

            last, first = boundary - self.every, boundary
            checks = [near(TO_DATE_BUDGET_RECORD, match + period + _matchers(burns), last, left)]
            checks += [near(TO_DATE_BUDGET_RECORD, match + period + _matchers(group), last, 1.0) for group in clean]
            checks += [near(TO_DATE_BUDGET_RECORD, match + period + _matchers(group), first, 1.0) for group in self.groups]
            # The rolling period keeps what it spent (about as much: one clean evaluation more).
            checks.append(near(BUDGET_REMAINING_RECORD, match + _matchers(burns), first, left, within=0.05))
            name = (f"half the budget burning over the first half of the {calendar}: {format(left * 100, '.3g')}% of its budget left at its"
                    f" last evaluation, all of it at the first of the next {calendar}; the rolling {self.slo.period} keeps what it spent")
            tests.append(self._test(name, segments, [], promql_expr_test=checks))
        return tests

    def steady_burn(self, tier: BurnRateTier) -> dict[str, Any] | None:
        """A constant burn at 1.2x the tier's rate: once firing, firing at every evaluation."""
        rate = tier.rate_for(self.slo.period_seconds)
        error_ratio = 1.2 * rate * self.slo.error_budget
        if error_ratio > 1 or not self.reachable(tier, error_ratio):
            return None
        hold = 30
        # Burning from the start (the outage and 10x scenarios time the tiers): every
        # window sees the burn at once, so the tier fires once its bad events are counted.
        first = max(5, self.due(tier, 0, error_ratio))
        segments = [Segment(first + hold, self.traffic, error_ratio)]
        checks = [self._check(m, tier, True) for m in range(first, first + hold + 1, self.every)]
        return self._test(f"steady burn at 1.2x {num(rate)}: {self.slo.tier_alert_name(tier)} fires and never flaps", segments, checks)


def _groups(slo: SLO, series: list[tuple[str, int, int]], metrics: dict[str, Any]) -> list[dict[str, str]]:
    """The label values of the groups a grouped SLO's scenarios replay ([{}] when it is not grouped):
    two values of each label (its first declared ones, else "a" and "b"), or the one value its
    selectors fix."""
    if not slo.group_by:
        return [{}]
    parsed = [selector_of(text) for text, _, _ in series]
    fixed = {name: value for selector in parsed for name, _, value in selector.matchers if name in slo.group_by}
    family = metrics.get((parsed[0].metric or "").removesuffix("_bucket").removesuffix("_count")) or metrics.get(parsed[0].metric or "")
    declared = {label.name: tuple(label.values or ()) for label in getattr(family, "labels", ())}
    values = {label: (declared.get(label, ()) + ("a", "b"))[:2] for label in slo.group_by}
    first = {label: fixed.get(label, values[label][0]) for label in slo.group_by}
    if len(fixed) == len(slo.group_by):
        return [first]
    return [first, {label: fixed.get(label, values[label][1]) for label in slo.group_by}]


def with_labels(text: str, labels: dict[str, str]) -> str:
    selector = selector_of(text)
    given = {name for name, _, _ in selector.matchers}
    return format_selector(selector.metric or "", list(selector.matchers) + [(k, "=", v) for k, v in labels.items() if k not in given])


def _matchers(labels: dict[str, str]) -> str:
    if not labels:  # an ungrouped SLO's one group: asked for every expected sample
        return ""
    return "".join(f',{name}="{value}"' for name, value in sorted(labels.items()))


def _minutes(duration: str) -> int:
    return int(duration_seconds(duration) // 60)

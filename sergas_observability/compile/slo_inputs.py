"""The series an SLO's promtool tests replay, derived from the SLI's selectors.

One series holding the good events and one the bad (for a latency SLI the
`le` bucket and the count; for a probe its one gauge), with label values found by trying candidates
(declared values first, then the selectors' own literals, then generic ones)
against the matchers, and checked to be counted the way the rules count
them. A selector set that admits no such pair is a definition mistake the
validation pass reports (`test_input_problem`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ..model.base import KeptPer
from ..model.slo import SLI, SLO, LatencySLI, ProbeSLI, selector_of
from ..promql import Selector, format_selector, matcher_holds
from .slo import SLIEvents

GENERIC_VALUES = ("200", "500", "503", "success", "error", "x", "")  # "" leaves the label out
_REGEX_SYNTAX = re.compile(r"[()^$]").sub
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_./:+ -]*").fullmatch  # a value a series may plainly hold


class NoTestInput(ValueError):
    """The SLI's selectors admit no concrete series to replay (a definition mistake)."""


def test_input_problem(slo: SLO, metrics: dict[str, Any]) -> str | None:
    """Why no promtool test input can be derived for `slo` (None when it can); the validation pass reports it."""
    try:
        input_series(slo.sli, metrics)
    except NoTestInput as exc:
        return str(exc)
    return None


def input_series(sli: SLI, metrics: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(series, good coefficient, bad coefficient): a series grows by good x g + bad x b.

    A function of the SLI and the label values declared for its metrics, found
    once per process (the validation pass and the compiler both ask)."""
    used = tuple(metrics.get(name) for name in sli.metric_names())
    found = _INPUT_SERIES.get((sli, *used), lambda: _input_series(sli, metrics))
    if isinstance(found, NoTestInput):
        raise found
    return found


_INPUT_SERIES: KeptPer[list[tuple[str, int, int]] | NoTestInput] = KeptPer()


def _input_series(sli: SLI, metrics: dict[str, Any]) -> list[tuple[str, int, int]] | NoTestInput:
    try:
        return _search(sli, metrics)
    except NoTestInput as exc:
        return exc


def _search(sli: SLI, metrics: dict[str, Any]) -> list[tuple[str, int, int]]:
    events = SLIEvents(sli, metrics)
    if isinstance(sli, ProbeSLI):  # one gauge: its value says good (1) or bad (0)
        return [(_concrete(sli.selector, metrics), 1, 0)]
    if isinstance(sli, LatencySLI):
        (bucket,) = events.selectors()["good"]
        (count,) = events.selectors()["total"]
        return [(_concrete(selector_of(bucket), metrics), 1, 0), (_concrete(selector_of(count), metrics), 1, 1)]
    fields = {name: [selector_of(s) for s in texts] for name, texts in events.selectors().items() if texts}
    # What a series must contribute to each given field, as good and bad series.
    wanted = {
        ("bad", "total"): ({"bad": 0, "total": 1}, {"bad": 1, "total": 1}),
        ("bad", "good"): ({"good": 1, "bad": 0}, {"good": 0, "bad": 1}),
        ("good", "total"): ({"good": 1, "total": 1}, {"good": 0, "total": 1}),
    }[tuple(sorted(fields))]  # type: ignore[index]
    # The first candidate counted as each wanted kind, in one pass over the candidates.
    first: list[Series | None] = [None] * len(wanted)
    for series in _candidates(fields, metrics):
        counts = _counts(series, fields)
        for index, want in enumerate(wanted):
            if first[index] is None and counts == want:
                first[index] = series
        if all(first):
            break
    good, bad = first
    if good is None or bad is None:
        raise NoTestInput("cannot derive promtool test input from these selectors (no series is counted as a good and one as a bad event); declare the label values")
    return [(_render(good), 1, 0), (_render(bad), 0, 1)]


Series = tuple[str, tuple[tuple[str, str], ...]]


def _matches(series: Series, selector: Selector) -> bool:
    name, labels = series
    if name != selector.metric:
        return False
    values = dict(labels)
    return all(matcher_holds(op, expected, values.get(label, "")) for label, op, expected in selector.matchers)


def _counts(series: Series, fields: dict[str, list[Selector]]) -> dict[str, int]:
    return {name: sum(_matches(series, s) for s in selectors) for name, selectors in fields.items()}


def _label_candidates(label: str, selectors: Sequence[Selector], metric: Any) -> list[str]:
    """Values to try for a label, the most realistic first (500 before the regex 5.. itself)."""
    declared = next((lab for lab in getattr(metric, "labels", ()) if lab.name == label), None)
    values: list[str] = list(getattr(declared, "values", None) or ())
    literals: list[str] = []
    for selector in selectors:
        for name, op, value in selector.matchers:
            if name == label:
                if op in ("=~", "!~"):
                    alternatives = _REGEX_SYNTAX("", value).split("|")
                    values += [a.replace(".", "0") for a in alternatives]
                    literals += alternatives
                literals.append(value)
    values += literals + list(GENERIC_VALUES)
    return list(dict.fromkeys(v for v in values if _PLAIN_VALUE(v)))


def _candidates(fields: dict[str, list[Selector]], metrics: dict[str, Any]) -> Iterator[Series]:
    selectors = [s for group in fields.values() for s in group]
    for name in dict.fromkeys(s.metric for s in selectors if s.metric):
        on_metric = [s for s in selectors if s.metric == name]
        labels = sorted({label for s in on_metric for label in s.label_names})
        options = [_distinct(label, _label_candidates(label, on_metric, metrics.get(name)), on_metric) for label in labels]
        for combo in itertools.islice(itertools.product(*options), 20000):
            yield name, tuple((label, value) for label, value in zip(labels, combo) if value)


def _distinct(label: str, values: list[str], selectors: Sequence[Selector]) -> list[str]:
    """`values` less those every matcher on `label` judges like an earlier one.

    Matchers hold label by label, so such a value only repeats, later, what
    the earlier one already tried: dropping it leaves the first series found
    unchanged and the search a small product instead of a large one."""
    matchers = [(op, expected) for s in selectors for name, op, expected in s.matchers if name == label]
    kept: dict[tuple[bool, ...], str] = {}
    for value in values:
        kept.setdefault(tuple(matcher_holds(op, expected, value) for op, expected in matchers), value)
    return list(kept.values())


def _concrete(selector: Selector, metrics: dict[str, Any]) -> str:
    series = next((s for s in _candidates({"x": [selector]}, metrics) if _matches(s, selector)), None)
    if series is None:
        raise NoTestInput(f"no series of the declared label values matches {format_selector(selector.metric or '', list(selector.matchers))}; declare the label values it selects")
    return _render(series)


def _render(series: Series) -> str:
    name, labels = series
    return format_selector(name, [(label, "=", value) for label, value in labels])

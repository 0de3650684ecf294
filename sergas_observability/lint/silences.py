"""Silences: `lint_ignore={"rule/id": "the reason"}` on an alert, recording rule, dashboard or panel.

A silenced finding stays in the report with its reason (the text output
lists them), so a silence is a visible, reviewed decision. A silence needs a
reason, must name a real rule, and must silence something: a stale silence
is reported, so fixing the problem also retires its excuse. Findings about
silences cannot themselves be silenced. A dashboard's silences cover its panels.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Definition, Stack
from ..model.base import did_you_mean
from .references import valid
from .findings import RULES, UNSILENCEABLE, Finding, finding, silenced


def _silencing_definitions(stack: Stack) -> Iterator[Definition]:
    """Every definition that may carry `lint_ignore` (placeholders of broken ones left out)."""
    yield from valid(stack.alerts)
    yield from valid(stack.recording_rules)
    for dashboard in valid(stack.dashboards):
        yield dashboard
        yield from valid(dashboard.panels)
    yield from valid(stack.slos)


def apply_silences(stack: Stack, findings: list[Finding], unchecked: frozenset[str] = frozenset()) -> list[Finding]:
    """`findings` with the silenced ones marked, plus findings about the silences.

    `unchecked` rules did not run (the promtool passes, under `generate`): a
    silence of one of them is not reported as unused."""
    used: set[tuple[int, str]] = set()
    out: list[Finding] = []
    for item in findings:
        reason = None
        if not item.rule.startswith("lint/") and item.rule not in UNSILENCEABLE:
            for owner in item.owners:
                text = (getattr(owner, "lint_ignore", None) or {}).get(item.rule)
                if text is not None:
                    used.add((id(owner), item.rule))
                    if text.strip():
                        reason = text.strip()
                        break
        out.append(silenced(item, reason) if reason else item)
    for definition in _silencing_definitions(stack):
        for rule, reason in (getattr(definition, "lint_ignore", None) or {}).items():
            if rule not in RULES:
                out.append(finding("lint/unknown-rule", definition, "lint_ignore",
                                   f"no lint rule '{rule}'{did_you_mean(rule, RULES)}"))
            elif rule.startswith("lint/"):
                out.append(finding("lint/unknown-rule", definition, "lint_ignore",
                                   f"'{rule}' is about silences themselves and cannot be silenced"))
            elif rule in UNSILENCEABLE:
                out.append(finding("lint/unknown-rule", definition, "lint_ignore",
                                   f"'{rule}' is a certain mistake and cannot be silenced"))
            elif not reason.strip():
                out.append(finding("lint/silence-without-reason", definition, "lint_ignore",
                                   f"the silence of '{rule}' needs a written reason"))
            elif (id(definition), rule) not in used and rule not in unchecked:
                out.append(finding("lint/unused-silence", definition, "lint_ignore",
                                   f"'{rule}' silences nothing here any more; remove it"))
    return out

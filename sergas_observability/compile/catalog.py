"""The on-call catalog: every alert, who gets woken where and why, from the compiled output.

`catalog/alerts.md` (Markdown that renders on GitHub and GitLab):

- the severity x environment routing matrix (receivers, and whether it pages);
- the SLO table: objective, period, error budget, burn-rate tiers;
- one entry per alert of every rule file (declared, meta-monitoring, batch,
  SLO and rollout alerts alike): severity, routing per environment, what it
  inhibits and what inhibits it, expression and threshold, `for`, the
  latency budget term by term (the validation pass's figures), the runbook
  and dashboard links, a link to its expression in Prometheus's graph page,
  and the generated promtool scenarios that make it fire and keep it quiet;
- an index per runbook of the alerts that point at it.

`catalog/runbooks/<runbook>.md`, per declared runbook (model/runbooks.py):
its alerts by section, with their diagnostic queries and dashboards, for
the hand-written runbook to link or include. Hand-written files are never
overwritten: generate owns only what its manifest lists.

A packager: it reads what the producers compiled (rules, tests, routes), so
what it says is what the servers load. The routes are followed with
Alertmanager's semantics (first matching child, `continue` to go on);
tests/test_catalog.py checks them against amtool.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import Environment, Stack, duration_seconds, format_duration
from ..model.runbooks import split_link
from ..output import HEADER
from ..promql import matcher_holds
from .packaging import rule_files
from .slo import FAST_INTERVAL, Links, num
from .slo_tests import detection

ALERTS_FILE = "catalog/alerts.md"
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
_THRESHOLD = re.compile(r"(==|!=|>=|<=|>|<)\s*(-?[0-9.]+(?:e[-+]?\d+)?)\s*\)*\s*$")


@dataclass
class AlertEntry:
    name: str
    file: str
    group: str
    expr: str
    for_: str
    labels: dict[str, str]
    annotations: dict[str, str]
    fires: list[str] = field(default_factory=list)  # the generated tests that make it fire
    quiet: list[str] = field(default_factory=list)  # ... and those that keep it quiet


def package(stack: Stack, produced: Mapping[str, Any]) -> dict[str, Any]:
    entries = alert_entries(produced)
    routes = {env.name: produced[f"alertmanager/{env.name}/alertmanager.yml"] for env in stack.environments}
    documents: dict[str, Any] = {ALERTS_FILE: alerts_page(stack, entries, routes)}
    for runbook in stack.runbooks:
        documents[f"catalog/runbooks/{runbook.name}.md"] = runbook_page(stack, runbook, entries)
    return documents


def compile(stack: Stack) -> dict[str, Any]:
    """The catalog on its own (the pipeline calls `package`)."""
    from . import produce

    return package(stack, produce(stack))


# -- what the compiled files say ------------------------------------------------------------


def alert_entries(produced: Mapping[str, Any]) -> list[AlertEntry]:
    entries: dict[str, AlertEntry] = {}
    for stem, document in rule_files(produced).items():
        for group in document["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    entries.setdefault(rule["alert"], AlertEntry(
                        rule["alert"], f"prometheus/rules/{stem}.yml", group["name"], rule["expr"], rule.get("for", "0s"),
                        dict(rule.get("labels", {})), dict(rule.get("annotations", {}))))
    for path, document in sorted(produced.items()):
        if not (path.startswith("prometheus/tests/") and path.endswith(".test.yml")):
            continue
        for test in document["tests"]:
            name = _scenario(test, path)
            seen: dict[str, bool] = {}
            for check in test.get("alert_rule_test", []):
                seen[check["alertname"]] = seen.get(check["alertname"], False) or bool(check["exp_alerts"])
            for alert, fired in seen.items():
                if alert in entries:
                    (entries[alert].fires if fired else entries[alert].quiet).append(name)
    return sorted(entries.values(), key=lambda e: e.name)


def _scenario(test: Mapping[str, Any], path: str) -> str:
    """A test in words: its name, and for a short one the series it replays."""
    series = test.get("input_series", [])
    given = "; ".join(f"`{s['series']}` = `{s['values']}`" for s in series) if 0 < len(series) <= 3 else ""
    return f"{test.get('name', path)}" + (f" (given {given})" if given and len(given) < 300 else "")


def service_of(entry: AlertEntry) -> str:
    """The alert's service: its own label, else the one its expression selects (an SLO's records carry it)."""
    found = re.search(r'service="([^"]+)"', entry.expr)
    return entry.labels.get("service") or (found.group(1) if found else "")


def matches(matchers: list[str], labels: Mapping[str, str]) -> bool:
    """Whether an alert with `labels` satisfies Alertmanager matchers such as 'severity="P0"'."""
    for text in matchers:
        name, op, value = _matcher(text)
        if not matcher_holds(op, value, labels.get(name, "")):
            return False
    return True


@functools.lru_cache(maxsize=4096)  # a route tree's few matchers, read for every alert
def _matcher(text: str) -> tuple[str, str, str]:
    found = _MATCHER.match(text)
    if found is None:
        raise ValueError(f"matcher {text!r} is not name op \"value\"")
    name, op, quoted = found.groups()
    return name, op, json.loads(f'"{quoted}"')


def receivers_for(route: Mapping[str, Any], labels: Mapping[str, str], inherited: str = "") -> list[str]:
    """The receivers Alertmanager notifies for `labels` under `route`, in order."""
    receiver = route.get("receiver", inherited)
    found: list[str] = []
    for child in route.get("routes", []):
        if matches(child.get("matchers", []), labels):
            found += receivers_for(child, labels, receiver)
            if not child.get("continue", False):
                break
    return found or [receiver]


def _pages(stack: Stack, env: Environment, receivers: list[str]) -> bool:
    return any(stack.receiver(name, env).pages for name in receivers)


def _routing(stack: Stack, env: Environment, route: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    receivers = receivers_for(route["route"], {**env.external_labels, **labels})
    return ", ".join(receivers) + (" (pages)" if _pages(stack, env, receivers) else "")


def _inhibitions(config: Mapping[str, Any], labels: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(what an alert with `labels` inhibits, what inhibits it), as matcher text."""
    inhibits, inhibited_by = [], []
    for rule in config.get("inhibit_rules", []):
        equal = f" with the same {', '.join(rule.get('equal', []))}" if rule.get("equal") else ""
        if matches(rule.get("source_matchers", []), labels):
            inhibits.append(f"`{', '.join(rule['target_matchers'])}`{equal}")
        if matches(rule.get("target_matchers", []), labels):
            inhibited_by.append(f"`{', '.join(rule['source_matchers'])}`{equal}")
    return inhibits, inhibited_by


# -- the pages ----------------------------------------------------------------------------------


def graph_link(stack: Stack, expr: str) -> str:
    return f"{stack.prometheus_url.rstrip('/')}/graph?g0.expr={percent_encoded(expr)}&g0.tab=0"


# Every ASCII character but the unreserved ones (RFC 3986) and `%`, as its %XX escape.
_ESCAPED = {chr(code): f"%{code:02X}" for code in range(128) if not (chr(code).isalnum() or chr(code) in "_.-~%")}


def percent_encoded(text: str) -> str:
    """`urllib.parse.quote(text, safe='')`, for ASCII text by one C replace per character it
    holds that needs escaping (every alert's expression is quoted for its link, and quote's
    per-byte Python loop would cost more than the whole page). `%` goes first: it starts the others."""
    if not text.isascii():
        return urllib.parse.quote(text, safe="")
    text = text.replace("%", "%25")
    for char in _ESCAPED.keys() & set(text):
        text = text.replace(char, _ESCAPED[char])
    return text


def _anchor(name: str) -> str:
    """GitHub's and GitLab's anchor of a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", name.lower()).replace(" ", "-")


def _code(text: str) -> str:
    return "```promql\n" + text.rstrip() + "\n```"


class _Latency:
    """Each alert's latency line: the validation pass's figure, else an SLO tier's detection time.
    Its tables are read once per page, not once per alert."""

    def __init__(self, stack: Stack) -> None:
        figures = stack._compiled.get("latency-figures")
        self.figures = None if figures is None else {f.alert: f for f in figures}
        self.tiers = {slo.tier_alert_name(t): (slo, t) for slo in stack.slos for t in slo.tiers}
        self.stack = stack
        self.links = Links.of(stack)
        self.scrape = max(duration_seconds(env.scrape_interval) for env in stack.environments)

    def __call__(self, name: str) -> str:
        if self.figures is None:
            return "not computed: the stack was compiled without the validation pass or lint.latency_figures"
        figure = self.figures.get(name)
        if figure is None:
            return self.slo_tier(name) or "modelled by its generated tests (the scenarios below), not by the latency budget"
        terms = [("scrape", figure.scrape), ("evaluation", figure.evaluation), ("window", figure.window), ("for", figure.for_),
                 ("group_wait", figure.group_wait)]
        text = " + ".join(f"{label} {format_duration(value)}" for label, value in terms) + f" = **{format_duration(figure.total)}**"
        budget = f" (budget {format_duration(figure.budget)} for {figure.severity})" if figure.budget is not None else ""
        return f"{text}{budget}, worst in {figure.environment}"

    def slo_tier(self, name: str) -> str:
        """An SLO tier's time to notification at a total outage: the workbook's detection time (the
        generated timing tests prove it to the evaluation), after the scrape, before group_wait."""
        if name not in self.tiers:
            return ""
        slo, tier = self.tiers[name]
        minutes = detection(slo, tier, 1.0)
        if minutes is None:
            return "a total outage never fires it (its burn rate exceeds 100 % errors)"
        severity = self.stack.severity(self.links.severity(slo, tier))
        terms = [("scrape", self.scrape), ("evaluation", duration_seconds(FAST_INTERVAL)), ("detection at a total outage", minutes * 60),
                 ("group_wait", duration_seconds(severity.group_wait))]
        total = sum(value for _, value in terms)
        text = " + ".join(f"{label} {format_duration(round(value))}" for label, value in terms)
        budget = f" (budget {severity.latency_budget} for {severity.name})" if getattr(severity, "latency_budget", None) else ""
        return f"{text} = **{format_duration(round(total))}**{budget}: budget x burn rate x long window, the SRE workbook's"


def _threshold(expr: str) -> str:
    found = _THRESHOLD.search(expr)
    return f"`{found.group(1)} {found.group(2)}`" if found else "the expression's own condition (no final comparison)"


def alerts_page(stack: Stack, entries: list[AlertEntry], routes: Mapping[str, Any]) -> str:
    envs = stack.environments
    lines = [f"<!-- {HEADER} -->", f"# Alert catalog: {stack.name}", "",
             f"{len(entries)} alerts, from the same definitions as the rules, routes and tests they describe.", "",
             "## Routing: severity x environment", "",
             "| severity | " + " | ".join(env.name for env in envs) + " |",
             "|---|" + "---|" * len(envs)]
    for severity in stack.severities:
        cells = [_routing(stack, env, routes[env.name], {"severity": severity.name}) for env in envs]
        lines.append(f"| {severity.name} | " + " | ".join(cells) + " |")
    lines += ["", "(pages): a receiver that pages someone (PagerDuty, or a webhook with paging=True) is reached.", ""]
    lines += _slo_table(stack)
    lines += ["## Alerts", "", "| alert | severity | service | summary |", "|---|---|---|---|"]
    for entry in entries:
        lines.append(f"| [{entry.name}](#{_anchor(entry.name)}) | {entry.labels.get('severity', '')} | "
                     f"{service_of(entry)} | {entry.annotations.get('summary', '')} |")
    lines.append("")
    latency = _Latency(stack)
    for entry in entries:
        lines += _alert_section(stack, entry, routes, latency)
    lines += ["## Runbooks", "", "| runbook | alerts |", "|---|---|"]
    by_document: dict[str, list[AlertEntry]] = {}
    for entry in entries:
        by_document.setdefault(split_link(entry.annotations.get("runbook_url", ""))[0], []).append(entry)
    for document, linked in sorted(by_document.items()):
        names = ", ".join(f"[{e.name}](#{_anchor(e.name)})" for e in linked)
        lines.append(f"| {document or '(none)'} | {names} |")
    return "\n".join(lines) + "\n"


def _slo_table(stack: Stack) -> list[str]:
    if not stack.slos:
        return []
    links = Links.of(stack)
    lines = ["## SLOs", "", "| SLO | objective | period | error budget | burn-rate tiers |", "|---|---|---|---|---|"]
    for slo in stack.slos:
        budget = format_duration(round(slo.error_budget * slo.period_seconds / 60) * 60)
        tiers = "; ".join(
            f"{links.severity(slo, t)} {t.action}: {num(round(t.rate_for(slo.period_seconds), 3))}x over {t.long} and {t.short}"
            for t in slo.tiers) or "none (recorded only)"
        lines.append(f"| {slo.key} | {num(slo.objective)}% | {slo.period} | {num(round(slo.error_budget * 100, 6))}% ({budget}) | {tiers} |")
    return lines + [""]


def _alert_section(stack: Stack, entry: AlertEntry, routes: Mapping[str, Any], latency: _Latency) -> list[str]:
    a = entry.annotations
    lines = [f"### {entry.name}", "", a.get("summary", ""), ""]
    lines += [f"- **severity** {entry.labels.get('severity', '')}, **service** {service_of(entry)}; "
              f"rule group `{entry.group}` in `{entry.file}`"]
    labels = {**entry.labels, "service": service_of(entry), "alertname": entry.name}
    for env in stack.environments:
        lines.append(f"- **{env.name}**: {_routing(stack, env, routes[env.name], labels)}")
    first = routes[stack.environments[0].name]
    inhibits, inhibited_by = _inhibitions(first, {**stack.environments[0].external_labels, **labels})
    lines.append(f"- **inhibits** {'; '.join(inhibits) or 'nothing'}; **inhibited by** {'; '.join(inhibited_by) or 'nothing'}")
    lines.append(f"- **threshold** {_threshold(entry.expr)}; **for** {entry.for_}")
    lines.append(f"- **latency** {latency(entry.name)}")
    links = [f"[runbook]({a['runbook_url']})" if a.get("runbook_url") else "no runbook",
             f"[dashboard]({a['dashboard_url']})" if a.get("dashboard_url") else "no dashboard",
             f"[expression in Prometheus]({graph_link(stack, entry.expr)})"]
    lines.append("- " + " · ".join(links))
    if a.get("description"):
        lines += ["", f"> {a['description']}"]
    lines += ["", _code(entry.expr), ""]
    lines.append("Proven by `promtool test rules` (generated):")
    lines.append("")
    lines += [f"- fires: {name}" for name in dict.fromkeys(entry.fires)] or ["- fires: (no generated scenario)"]
    lines += [f"- stays quiet: {name}" for name in dict.fromkeys(entry.quiet)] or ["- stays quiet: (no generated scenario)"]
    return lines + [""]


def runbook_page(stack: Stack, runbook: Any, entries: list[AlertEntry]) -> str:
    title = runbook.title or runbook.name
    lines = [f"<!-- {HEADER} -->", f"# {title}: the alerts that point here", "",
             f"Generated index for [{title}]({runbook.url}); the runbook's own text is written by hand and may link here.", ""]
    by_section: dict[str, list[AlertEntry]] = {}
    for entry in entries:
        document, section = split_link(entry.annotations.get("runbook_url", ""))
        if document == runbook.url:
            by_section.setdefault(section, []).append(entry)
    if not by_section:
        lines += ["No alert links this runbook.", ""]
    for section in ["", *runbook.sections]:
        linked = by_section.get(section, [])
        if not linked:
            continue
        heading = f"## [{section}]({runbook.link(section)})" if section else f"## [{title}]({runbook.url}) (the whole document)"
        lines += [heading, ""]
        for entry in linked:
            dashboard = f" · [dashboard]({entry.annotations['dashboard_url']})" if entry.annotations.get("dashboard_url") else ""
            lines += [f"### {entry.name} ({entry.labels.get('severity', '')})", "", entry.annotations.get("summary", ""), "",
                      f"Diagnostic query ([open in Prometheus]({graph_link(stack, entry.expr)}){dashboard}):", "",
                      _code(entry.expr), ""]
    return "\n".join(lines)

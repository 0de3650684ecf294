"""Mistakes that load fine and fail silently: the checks a senior SRE makes.

An environment nobody scrapes, an address without a port (Prometheus quietly
uses :80), an objective written as a ratio, inhibition that mutes both sides,
an inhibition label an alert does not carry: each gives a config every tool
accepts and an alert that never fires. Errors where the mistake is certain,
warnings where it is likely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..compile import compose
from ..model import Definition, EmailReceiver, Stack
from ..model.base import did_you_mean
from ..model.platforms import is_dns_label
from ..model.slo import SLO
from .findings import finding
from .references import Emit, valid

_HOST_PORT_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?):(\d{1,5})$")
# A tier that fewer bad events than this can fire is one a single unlucky request sets off.
_FEWEST_EVENTS_TO_PAGE = 2


def address_problem(address: str) -> str | None:
    """Why `address` is not host:port (None when it is)."""
    if "://" in address:
        return f"'{address}' is a URL; give host:port"
    found = _HOST_PORT_RE.match(address)
    if not found:
        return f"'{address}' is not host:port (without a port Prometheus and Alertmanager silently use 80)"
    if not 0 < int(found.group(3)) < 65536:
        return f"'{address}' has no valid port (1-65535)"
    return None


def _addresses(emit: Emit, definition: Definition, field: str, addresses: Iterable[str]) -> None:
    for address in addresses:
        problem = address_problem(address)
        if problem:
            emit(finding("config/address", definition, field, problem))


def check_addresses(stack: Stack, emit: Emit) -> None:
    for env in valid(stack.environments):
        _addresses(emit, env, "alertmanagers", env.alertmanagers)
    for job in valid(stack.scrape_jobs):
        _addresses(emit, job, "targets", (a for addresses in job.targets.values() for a in addresses))
    for probe in valid(stack.probes):
        _addresses(emit, probe, "exporter_address", probe.exporter_address.values())
        prober = compose.BLACKBOX_MODULES.get(probe.module, {}).get("prober")
        for target in (t for targets in probe.targets.values() for t in targets):
            if prober == "http" and not target.startswith(("http://", "https://")):
                emit(finding("config/address", probe, "targets", f"'{target}' has no http:// or https:// scheme (module '{probe.module}' probes URLs)"))
            elif prober == "tcp":
                _addresses(emit, probe, "targets", (target,))
    for receiver in valid(stack.receivers):
        if isinstance(receiver, EmailReceiver):
            _addresses(emit, receiver, "smarthost", (receiver.smarthost,))


def check_names(stack: Stack, emit: Emit) -> None:
    """Stack and environment names become paths, namespaces and label values."""
    if isinstance(stack.name, str) and not is_dns_label(stack.name):
        emit(finding("stack/invalid-name", stack, "name", f"'{stack.name}' must be a DNS label (lower-case letters, digits, '-', at most 63): it names files, namespaces and resources"))
    for env in valid(stack.environments):
        if not is_dns_label(env.name):
            emit(finding("stack/invalid-name", env, "name", f"'{env.name}' must be a DNS label (lower-case letters, digits, '-', at most 63): it names directories and Kubernetes namespaces"))
        elif not stack.kubernetes.namespaces.get(env.name) and len(f"{stack.name}-{env.name}") > 63:
            emit(finding("stack/invalid-name", env, "name", f"the default namespace '{stack.name}-{env.name}' is longer than 63 characters; set Kubernetes namespaces"))


def check_scraping(stack: Stack, emit: Emit) -> None:
    """Every environment is scraped; every job's exporter is one the metrics know."""
    scraped = {env for job in stack.scrape_jobs + stack.probes for env in job.targets}  # type: ignore[operator]
    for env in valid(stack.environments):
        if env.name not in scraped:
            emit(finding("config/unscraped-environment", env, "name",
                         f"no scrape job or probe targets environment '{env.name}': its Prometheus would scrape nothing and every alert there stays silent"))
    exporters = {"app"} | {m.exporter for m in stack.metrics if m.exporter} | ({"pushgateway"} if stack.batch_jobs else set())
    for job in valid(stack.scrape_jobs):
        if job.exporter not in exporters:
            emit(finding("stack/unknown-reference", job, "exporter",
                         f"unknown exporter '{job.exporter}'" + (did_you_mean(job.exporter, exporters) or f" (known: {', '.join(sorted(exporters))})")))


def check_inhibition(stack: Stack, emit: Emit) -> None:
    inhibits = {s.name: set(s.inhibits) for s in valid(stack.severities)}
    for severity in valid(stack.severities):
        cycle = _cycle(severity.name, inhibits)
        if cycle:
            emit(finding("routing/inhibition-cycle", severity, "inhibits",
                         f"inhibition cycle {' -> '.join(cycle)}: while both fire, each mutes the other and nobody is told"))
    if not any(s.inhibits for s in stack.severities):
        return
    envs = valid(stack.environments)
    carried_by_all_envs = set.intersection(*(set(e.external_labels) for e in envs)) if envs else set()
    for label in stack.inhibit_equal:
        lacking = [f"alert '{a.name}'" for a in valid(stack.all_alerts) if label not in _alert_labels(a) | carried_by_all_envs]
        lacking += [f"SLO '{s.key}'" for s in valid(stack.slos) if label not in _slo_labels(s) | carried_by_all_envs]
        if lacking:
            shown = ", ".join(lacking[:3]) + (f" and {len(lacking) - 3} more" if len(lacking) > 3 else "")
            emit(finding("routing/inhibit-equal-label", stack, "inhibit_equal",
                         f"label '{label}' is not on the alerts of {shown}: a firing higher severity without it mutes every lower one that lacks it too"))


def _alert_labels(alert: Definition) -> set[str]:
    return {"alertname", "severity", "service", *alert.labels}  # type: ignore[attr-defined]


def _slo_labels(slo: SLO) -> set[str]:
    return {"alertname", "severity", "service", "slo", *slo.labels}


def _cycle(start: str, inhibits: dict[str, set[str]]) -> list[str] | None:
    """The shortest path of inhibitions from `start` back to itself, or None."""
    paths = [[start]]
    seen: set[str] = set()
    while paths:
        path = paths.pop(0)
        for nxt in sorted(inhibits.get(path[-1], ())):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                paths.append(path + [nxt])
    return None


def check_objectives(stack: Stack, emit: Emit) -> None:
    for slo in valid(stack.slos):
        if slo.objective <= 1:
            emit(finding("slo/objective-ratio", slo, "objective",
                         f"objective {slo.objective:g} is a percentage: this SLO allows {100 - slo.objective:g} % errors; write {slo.objective * 100:g} for {slo.objective * 100:g} %"))
            continue
        if slo.error_budget <= 0:
            emit(finding("slo/no-budget", slo, "objective", f"objective {slo.objective} leaves no error budget (a budget of 0 pages on every failed event)"))
            continue
        _check_budget(slo, emit)
        _check_tiers(slo, emit)


def _check_tiers(slo: SLO, emit: Emit) -> None:
    """A tier fires above an error ratio of burn rate x budget: at 100 % or more, never."""
    for tier in slo.tiers:
        threshold = tier.rate_for(slo.period_seconds) * slo.error_budget
        if threshold >= 1:
            emit(finding("slo/tier-unreachable", slo, "tiers",
                         f"the {tier.long}/{tier.short} {tier.action} fires only when more than {threshold * 100:.3g} % of the events fail "
                         f"(burn rate {tier.rate_for(slo.period_seconds):.3g} x a budget of {slo.error_budget * 100:.3g} %): not even a total outage fires it; "
                         "lower its burn rate or raise the objective"))


def _check_budget(slo: SLO, emit: Emit) -> None:
    """A tier that one or two bad events can fire: at low traffic, one unlucky request pages."""
    if slo.min_bad_events < _FEWEST_EVENTS_TO_PAGE:
        emit(finding("slo/tiny-budget", slo, "min_bad_events",
                     f"min_bad_events={slo.min_bad_events}: at low traffic a single failed event fires every tier "
                     f"whose windows it fills; give {_FEWEST_EVENTS_TO_PAGE} or more (default 10)"))


CHECKS = (check_addresses, check_names, check_scraping, check_inhibition, check_objectives)

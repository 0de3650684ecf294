"""The whole chain, in the real servers: the app emits, Prometheus scrapes and
evaluates the generated rules, Alertmanager routes with the generated tree,
and the notification arrives at the webhook standing in for each receiver.

Scenarios share one stack (conftest.py `live`) and run in file order; each
starts by waiting until no alert is active, and ends by recovering what it
broke. Expectations come from the definitions (the real ones, not the
profile): which receivers a severity reaches in production, an alert's
labels and annotations.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from sergas_observability.compile.alertmanager import severity_receivers
from sergas_observability.compile.rules import alert_annotations, alert_labels
from sergas_observability.model import Alert, MetricKind
from sergas_observability.promql.templates import expand, humanize_percentage

from .conftest import TIMINGS, LiveStack, Timing
from .servers import Notification, wait_for

DELIVERY_TIMEOUT = 40.0  # seconds; the e2e profile delivers in well under 15
SETTLE = 1.5  # a copy routed to a wrong receiver would come in the same flush: wait this much longer
APP_JOB = "sergas-app"

# Real servers and real waits: minutes, not the fast loop.
pytestmark = pytest.mark.slow


def production_receivers(live: LiveStack, severity: str) -> set[str]:
    production = next(env for env in live.real.environments if env.name == "production")
    return set(severity_receivers(live.real, production, severity))


def wait_delivered(live: LiveStack, name: str, status: str, receivers: set[str], since: float) -> dict[str, Notification]:
    """Wait until every one of `receivers` got `name` in `status`; then check nobody else did."""
    wait_for(
        f"{name} ({status}) to reach {sorted(receivers)}",
        lambda: receivers <= set(live.recorder.received(name, status, since)),
        DELIVERY_TIMEOUT,
    )
    time.sleep(SETTLE)
    got = live.recorder.received(name, status, since)
    assert set(got) == receivers, f"{name} ({status}) reached {sorted(got)}, routing says {sorted(receivers)}"
    return got


def record(scenario: str, alert: str, event: str, since: float, notes: dict[str, Notification]) -> float:
    seconds = min(n.at for n in notes.values()) - since
    TIMINGS.append(Timing(scenario, alert, event, seconds))
    print(f"{scenario}: {alert} {event} in {seconds:.1f}s")
    return seconds


def expected_labels(live: LiveStack, alert: Alert) -> dict[str, str]:
    """What Alertmanager must hold: the expression's labels, the rule's, the environment's."""
    assert alert.test is not None, f"{alert.name} declares no test scenario with the labels it returns"
    return {
        "alertname": alert.name,
        **alert.test.firing.labels,
        **alert_labels(alert),
        **live.env.external_labels,
    }


def check_notified_alert(live: LiveStack, notes: dict[str, Notification], name: str, value: float | None) -> None:
    """Labels exactly as declared; annotations as the rule renders them (description expanded)."""
    alert = next(a for a in live.real.alerts if a.name == name)
    labels = expected_labels(live, alert)
    annotations = alert_annotations(live.real, alert)
    for receiver, note in notes.items():
        (sent,) = note.alerts(name, "firing")
        assert sent["labels"] == labels, f"{receiver}: labels {sent['labels']}"
        got = dict(sent["annotations"])
        description = got.pop("description")
        assert got == {k: v for k, v in annotations.items() if k != "description"}, f"{receiver}: annotations {got}"
        if value is not None:
            assert description == expand(alert.description, labels, value)
        else:  # a rate that moves between evaluations: everything but the number is fixed
            sentinel = 0.123456
            pattern = re.escape(expand(alert.description, labels, sentinel)).replace(
                re.escape(humanize_percentage(sentinel)), r"[0-9.]+%"
            )
            assert re.fullmatch(pattern, description), f"{receiver}: description {description!r}"


def inc(live: LiveStack, metric: str, by: float, **labels: str) -> None:
    live.control("inc", metric=metric, by=by, **labels)


# --- scenarios ---------------------------------------------------------------------


def test_targets_up_and_app_metrics_declared(live: LiveStack) -> None:
    live.requests(5)
    live.requests(1, "/health")
    expected = {
        (job.name, target) for job in live.profile.scrape_jobs for target in job.targets[live.env.name]
    }

    def all_up() -> bool:
        targets = live.prom.targets()
        seen = {(t["labels"]["job"], t["labels"]["instance"]) for t in targets}
        return seen == expected and all(t["health"] == "up" for t in targets)

    wait_for(f"targets {sorted(expected)} to be up", all_up, 20)
    wait_for("the app's requests in Prometheus", lambda: live.prom.query('http_requests_total{route="/health"}'), 20)

    declared: dict[str, set[str]] = {}
    created: set[str] = set()  # prometheus_client also exposes when each counter/histogram series was created
    for metric in live.real.app_metrics:
        for series_name, label_names in metric.series_names().items():
            declared[series_name] = set(label_names) | {"job", "instance"}
        if metric.kind is not MetricKind.GAUGE:
            created.add(metric.name.removesuffix("_total") + "_created")
    stored = live.prom.query(f'{{job="{APP_JOB}"}}')
    by_name: dict[str, list[dict[str, str]]] = {}
    for sample in stored:
        by_name.setdefault(sample["metric"]["__name__"], []).append(sample["metric"])

    # Every application series Prometheus holds is declared, with exactly the declared labels.
    for name, stored_series in by_name.items():
        if not name.startswith(("http_", "sergas_")):
            continue  # up/scrape_* of Prometheus, process_/python_ of prometheus_client
        if name in created:
            continue
        assert name in declared, f"Prometheus stores undeclared application series {name}"
        for labels in stored_series:
            assert set(labels) - {"__name__"} == declared[name], f"{name} carries {sorted(labels)}"

    # What the app recorded arrived under the declared names, label values included.
    for name in (
        "http_requests_total", "http_request_duration_seconds_bucket", "http_request_duration_seconds_count",
        "sergas_approvals_completed_total", "sergas_approval_timeouts_total", "sergas_cache_hits_total",
        "sergas_cache_misses_total", "sergas_sse_disconnects_total", "sergas_sse_connections_active",
    ):
        assert name in by_name, f"{name} missing from Prometheus"
    routes = {(s["method"], s["route"], s["status"]) for s in by_name["http_requests_total"]}
    assert routes == {("GET", "/api/accounts", "200"), ("GET", "/health", "200")}
    (requests,) = live.prom.query('sum(http_requests_total{route="/api/accounts"})')
    assert float(requests["value"][1]) >= 5


def test_p1_alert_reaches_its_receivers_and_resolves(live: LiveStack) -> None:
    name, scenario = "HighApprovalTimeoutRate", "P1 approval timeouts"
    live.wait_quiet()
    receivers = production_receivers(live, "P1")
    assert receivers == {"slack", "email"}

    start = time.monotonic()
    inc(live, "sergas_approval_timeouts_total", 10)
    inc(live, "sergas_approvals_completed_total", 10, decision="approved")
    notes = wait_delivered(live, name, "firing", receivers, start)
    record(scenario, name, "timeouts injected -> delivered", start, notes)
    check_notified_alert(live, notes, name, value=0.5)

    start = time.monotonic()
    inc(live, "sergas_approvals_completed_total", 2000, decision="approved")
    assert {r for r in receivers if _sends_resolved(live, r)} == {"slack"}  # e-mail: no resolved notifications
    notes = wait_delivered(live, name, "resolved", {"slack"}, start)
    record(scenario, name, "approvals recovered -> resolved delivered", start, notes)


def test_p2_alert_reaches_its_receiver_and_resolves(live: LiveStack) -> None:
    name, scenario = "CacheMissRateHigh", "P2 cache misses"
    live.wait_quiet()
    receivers = production_receivers(live, "P2")
    assert receivers == {"slack"}

    start = time.monotonic()
    inc(live, "sergas_cache_hits_total", 50, cache="session")
    inc(live, "sergas_cache_misses_total", 50, cache="session")
    notes = wait_delivered(live, name, "firing", receivers, start)
    record(scenario, name, "misses injected -> delivered", start, notes)
    check_notified_alert(live, notes, name, value=0.5)

    start = time.monotonic()
    inc(live, "sergas_cache_hits_total", 2000, cache="session")
    notes = wait_delivered(live, name, "resolved", receivers, start)
    record(scenario, name, "hits recovered -> resolved delivered", start, notes)


def _sends_resolved(live: LiveStack, receiver: str) -> bool:
    return next(r for r in live.real.receivers if r.name == receiver).send_resolved


def test_p0_error_rate_pages_inhibits_lower_severity_and_resolves(live: LiveStack) -> None:
    name, scenario = "HighErrorRate", "P0 5xx errors"
    inhibited_name = "SSEDisconnectRateHigh"
    live.wait_quiet()
    receivers = production_receivers(live, "P0")
    assert receivers == {"pagerduty", "slack", "email"}
    lower = live.alert(inhibited_name)
    assert lower.service == live.alert(name).service and lower.severity in live.real.severity("P0").inhibits

    try:
        with live.traffic(per_second=10):
            # 1. Every 4th request fails: 25% 5xx, over the 5% threshold.
            start = time.monotonic()
            live.control("errors", every=4)
            notes = wait_delivered(live, name, "firing", receivers, start)
            record(scenario, name, "5xx injected -> delivered", start, notes)
            check_notified_alert(live, notes, name, value=None)

            # 2. While it fires, a P1 of the same service is held back by Alertmanager.
            start = time.monotonic()
            inc(live, "sergas_sse_disconnects_total", 100, stream="approvals", reason="timeout")
            (source,) = live.am.alerts(name)

            def inhibited() -> dict[str, Any] | None:
                found = [a for a in live.am.alerts(inhibited_name) if a["status"]["inhibitedBy"]]
                return found[0] if found else None

            held = wait_for(f"{inhibited_name} to be inhibited in Alertmanager", inhibited, DELIVERY_TIMEOUT)
            TIMINGS.append(Timing(scenario, inhibited_name, "disconnects injected -> inhibited", time.monotonic() - start))
            assert held["status"]["state"] == "suppressed"
            assert held["status"]["inhibitedBy"] == [source["fingerprint"]]
            assert held["labels"]["severity"] == "P1"
            # Give it the time it would have needed to be notified, then check nobody was.
            time.sleep(3 * SETTLE)
            assert live.recorder.received(inhibited_name, "firing", start) == {}
            # More open streams bring the abnormal-disconnect ratio down: the P1 ends before the P0 does.
            inc(live, "sergas_sse_connections_active", 1_000_000, stream="approvals")
            wait_for(f"{inhibited_name} to end in Prometheus", lambda: not live.prom.alerts(inhibited_name), DELIVERY_TIMEOUT)

            # 3. Recovery: errors stop, and healthy traffic brings the 2m error ratio under 5%.
            start = time.monotonic()
            stats = live.control("errors", every=0)
            live.requests(30 * stats["failed"])
            expected = {r for r in receivers if _sends_resolved(live, r)}
            assert expected == {"pagerduty", "slack"}  # e-mail is configured without resolved notifications
            notes = wait_delivered(live, name, "resolved", expected, start)
            record(scenario, name, "errors stopped -> resolved delivered", start, notes)
    finally:  # a failure above must not leave the next scenarios facing a failing app
        live.control("errors", every=0)
    assert live.recorder.received(inhibited_name, "firing", 0) == {}
    assert live.recorder.received(inhibited_name, "resolved", 0) == {}


def test_application_down_pages_and_resolves(live: LiveStack) -> None:
    name, scenario = "ApplicationDown", "P0 app stopped"
    live.wait_quiet()
    receivers = production_receivers(live, "P0")

    start = time.monotonic()
    live.app.stop()
    try:
        notes = wait_delivered(live, name, "firing", receivers, start)
        record(scenario, name, "app stopped -> delivered", start, notes)
        check_notified_alert(live, notes, name, value=0)
    finally:
        start = time.monotonic()
        live.app.start("/metrics")
    expected = {r for r in receivers if _sends_resolved(live, r)}
    notes = wait_delivered(live, name, "resolved", expected, start)
    record(scenario, name, "app restarted -> resolved delivered", start, notes)

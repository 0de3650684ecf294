"""dashboard/alert-metric-missing: an alert's dashboard has a panel reading what the alert reads."""

from __future__ import annotations

import json

import pytest
from lint_stacks import RULES, RUNBOOK, alert, dashboard, panel, stack, with_alert

from sergas_observability.compile import grafana
from sergas_observability.lint import lint_stack, validate
from sergas_observability.lint.alert_dashboards import check_alert_dashboards
from sergas_observability.model import MetaMonitoring, RecordingRule

RULE = "dashboard/alert-metric-missing"
DOWN = dict(name="DatabaseDown", expr="pg_up == 0", description="{{ $labels.instance }} cannot reach PostgreSQL.")
PG_PANEL = panel(title="PostgreSQL up", queries=("max by (instance) (pg_up)",), unit="none")
QUEUE_PANEL = panel(title="Queue", queries=("max(app_queue_depth)",), unit="short")


def findings(s):
    return [(f.rule, f.where, f.field, f.message) for f in validate(s).active]


def test_a_dashboard_without_the_alerted_metric_is_an_error():
    [(rule, where, field, message)] = findings(with_alert(**DOWN))
    assert (rule, where, field) == (RULE, "Alert 'DatabaseDown'", "dashboard")
    assert message == "dashboard 'app-overview' shows none of pg_up; add a panel reading it or link another dashboard"
    assert validate(with_alert(**DOWN)).errors  # an error: generate refuses it


def test_every_metric_the_alert_reads_is_listed():
    s = stack(alerts=(alert(),), dashboards=(dashboard(QUEUE_PANEL),))
    [(_, _, _, message)] = findings(s)
    assert "shows none of http_requests_total; add a panel reading it" in message
    s = stack(alerts=(alert(expr="pg_up == 0 and redis_up == 0", description="{{ $labels.job }} down."),),
              dashboards=(dashboard(QUEUE_PANEL),))
    [(_, _, _, message)] = findings(s)
    assert "shows none of pg_up, redis_up; add a panel reading one of them" in message


def test_a_panel_reading_the_metric_satisfies_it():
    assert findings(stack(alerts=(alert(**DOWN),), dashboards=(dashboard(panel(), PG_PANEL),))) == []
    # Names are compared, not selectors: any panel on pg_up shows it.
    s = stack(alerts=(alert(**{**DOWN, "expr": 'pg_up{job="postgres"} == 0'}),), dashboards=(dashboard(panel(), PG_PANEL),))
    assert findings(s) == []


def test_a_panel_reading_any_one_of_the_metrics_satisfies_it():
    s = stack(alerts=(alert(expr="pg_up == 0 and redis_up == 0", description="{{ $labels.job }} down."),),
              dashboards=(dashboard(panel(), PG_PANEL),))
    assert findings(s) == []


def test_the_clean_stack_and_the_sergas_definitions_have_no_finding(stack):
    from lint_stacks import stack as clean

    assert lint_stack(clean()).findings == []
    # SlowQueries reads a custom query's metric whose panel comes with that query.
    assert {f.where for f in validate(stack).active if f.rule == RULE} <= {"Alert 'SlowQueries'"}


# --- recording rules ---------------------------------------------------------------------------

RECORDED = dict(name="TrafficHigh", severity="P1", expr="sum by (job) (job:http_requests:rate5m) > 100",
                description="{{ $labels.job }} serves {{ $value }} requests a second.")


def test_an_alert_on_a_recorded_series_is_shown_by_a_panel_on_its_source():
    # The clean dashboard reads http_requests_total, which job:http_requests:rate5m is recorded from.
    assert findings(with_alert(**RECORDED)) == []


def test_an_alert_on_a_recorded_series_is_shown_by_a_panel_on_the_series():
    recorded_panel = panel(title="Traffic", queries=("sum(job:http_requests:rate5m)",), unit="reqps")
    assert findings(stack(alerts=(alert(**RECORDED),), dashboards=(dashboard(recorded_panel),))) == []


def test_an_alert_on_a_recorded_series_without_either_on_the_dashboard():
    [(rule, where, _, message)] = findings(stack(alerts=(alert(**RECORDED),), dashboards=(dashboard(QUEUE_PANEL),)))
    assert (rule, where) == (RULE, "Alert 'TrafficHigh'")
    assert "shows none of job:http_requests:rate5m (recorded from http_requests_total)" in message


def test_a_panel_on_a_recorded_series_shows_what_it_is_recorded_from():
    recorded_panel = panel(title="Traffic", queries=("sum(job:http_requests:rate5m)",), unit="reqps")
    assert findings(stack(alerts=(alert(),), dashboards=(dashboard(recorded_panel),))) == []


def test_recording_rules_count_transitively():
    rules = RULES + (RecordingRule(record="app:http_requests:rate5m", expr="sum(job:http_requests:rate5m)"),)
    s = stack(alerts=(alert(expr="app:http_requests:rate5m > 100", severity="P1", description="{{ $value }} requests a second."),),
              recording_rules=rules)
    assert findings(s) == []  # the clean panel reads http_requests_total, two rules down


# --- what it leaves to other rules, silences, generated alerts and dashboards ------------------


def test_no_dashboard_and_unknown_dashboard_are_other_rules():
    assert [f[0] for f in findings(with_alert(**DOWN, dashboard=None))] == ["alert/no-dashboard"]
    assert [f[0] for f in findings(with_alert(**DOWN, dashboard="nowhere"))] == ["stack/unknown-reference"]


def test_an_expression_with_an_error_is_reported_once():
    # The external label is the mistake; what the alert reads is not reported again.
    assert [f[0] for f in findings(with_alert(**{**DOWN, "expr": 'pg_up{env="development"} == 0'}))] == ["promql/external-label"]


def test_it_can_be_silenced_with_a_reason():
    report = validate(with_alert(**DOWN, lint_ignore={RULE: "the runbook links the PostgreSQL dashboard"}))
    assert report.active == [] and [f.rule for f in report.silenced] == [RULE]


def test_generated_alerts_are_checked_too():
    if not hasattr(stack(), "all_alerts"):
        pytest.skip("this stack model derives no alerts")
    meta = MetaMonitoring(severity="P1", runbook_url=RUNBOOK, dashboard="app-overview")
    got = {(f[1], f[3]) for f in findings(stack(meta=meta, dashboards=(dashboard(),)))}
    assert ("Alert 'AppTargetDown'", "dashboard 'app-overview' shows none of up; add a panel reading it or link another dashboard") in got
    up_panel = panel(title="Targets up", queries=("up",), unit="none")
    assert findings(stack(meta=meta, dashboards=(dashboard(panel(), up_panel),))) == []


def test_a_generated_dashboard_without_definition_counts_by_uid():
    """An alert may link to a dashboard only a compiler writes (an SLO dashboard): its compiled queries count."""
    s = with_alert(**DOWN)
    documents = grafana.compile(s)
    generated = json.loads(json.dumps(next(d for d in documents.values() if isinstance(d, dict) and "panels" in d)))
    generated["uid"] = "slo-postgres"
    next(p for p in generated["panels"] if "targets" in p)["targets"][0]["expr"] = "max by (instance) (pg_up)"
    documents["grafana/dashboards/slo_postgres.json"] = generated
    linked = alert(**DOWN, dashboard="slo-postgres")
    found = []
    check_alert_dashboards(stack(alerts=(linked,)), documents, found.append)
    assert found == []
    check_alert_dashboards(stack(alerts=(alert(**DOWN),)), documents, found.append)
    assert [f.rule for f in found] == [RULE]  # app-overview still shows no pg_up

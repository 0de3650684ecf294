"""The lint's parts: label inference, latency arithmetic, compiled-dashboard checks,
silences, output formats, the CLI's exit codes, and the Sergas definitions."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lint_stacks import alert, stack, with_alert

from sergas_observability.compile import grafana
from sergas_observability.lint import lint_stack
from sergas_observability.lint.catalog import Catalog
from sergas_observability.lint.formats import to_github, to_json, to_text
from sergas_observability.lint.promql_refs import ExpressionChecker, Source
from sergas_observability.promql import parse

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "sergas_observability.cli"]


def output_labels(expr: str) -> frozenset[str] | None:
    s = stack()
    found = []
    source = Source(s.alerts[0], "expr", expr, expr, "alert")
    out = ExpressionChecker(Catalog(s), source, found.append).visit(parse(expr))
    assert not [f for f in found if f.level == "error"], found
    return out.labels


@pytest.mark.parametrize(
    "expr, labels",
    [
        ("rate(http_requests_total[2m])", {"job", "instance", "method", "route", "status"}),
        ("sum by (route) (rate(http_requests_total[2m]))", {"route"}),
        ("sum without (instance, status) (rate(http_requests_total[2m]))", {"job", "method", "route"}),
        ("sum(rate(http_requests_total[2m]))", set()),
        ('count_values("v", pg_up)', {"v"}),
        ("topk(3, rate(http_requests_total[2m]))", {"job", "instance", "method", "route", "status"}),
        ('absent(pg_up{job="postgres"})', {"job"}),
        ("histogram_quantile(0.9, sum by (le, route) (rate(http_request_duration_seconds_bucket[2m])))", {"route"}),
        ('label_replace(pg_up, "db", "$1", "instance", "(.*)")', {"job", "instance", "db"}),
        ("pg_up * on (job, instance) group_left (datname) rate(pg_stat_database_deadlocks[2m])", {"job", "instance", "datname"}),
        ("sum by (job) (pg_up) / on (job) sum by (job, instance) (pg_up)", {"job"}),
        ("pg_up == 0 and on (job) redis_up", {"job", "instance"}),
        ("sum by (job) (pg_up) or sum by (instance) (redis_up)", {"job", "instance"}),
    ],
)
def test_output_labels_follow_prometheus_semantics(expr, labels):
    assert output_labels(expr) == frozenset(labels)


def test_recorded_series_carry_the_labels_their_rule_yields():
    from sergas_observability.lint.expressions import Analysis
    from sergas_observability.model import RecordingRule

    rules = (
        # declared before the rule it reads: inferred in dependency order all the same
        RecordingRule(record="route:http_requests:ratio", expr="sum by (route) (route_job:http_requests:rate5m) / ignoring (job) group_left sum(route_job:http_requests:rate5m)"),
        RecordingRule(record="route_job:http_requests:rate5m", expr="sum by (route, job) (rate(http_requests_total[5m]))", labels={"team": "web"}),
    )
    s = stack(recording_rules=rules)
    catalog = Catalog(s)
    found = []
    Analysis(s, catalog).run(found.append)
    assert catalog.get("route_job:http_requests:rate5m").labels == {"route", "job", "team"}
    assert catalog.get("route:http_requests:ratio").labels == {"route"}


def _latency(expr: str, **fields) -> dict[str, float]:
    report = lint_stack(with_alert(expr=expr, severity="P1", **fields), promtool=False)
    figure = report.latency[0]
    return {"window": figure.window, "scrape": figure.scrape, "evaluation": figure.evaluation, "total": figure.total}


def test_latency_window_terms():
    assert _latency("max_over_time(pg_up[10m]) == 0")["window"] == 0  # reacts within a sample
    assert _latency("avg_over_time(pg_up[10m]) == 0")["window"] == 600
    # both sides must hold: the slower window counts; either side: the faster one
    assert _latency("avg_over_time(pg_up[10m]) < 1 and avg_over_time(pg_up[30m]) < 1")["window"] == 1800
    assert _latency("avg_over_time(pg_up[10m]) < 1 or avg_over_time(pg_up[30m]) < 1")["window"] == 600
    # through the recording rule: its 5m window and one more evaluation
    through_rule = _latency("sum by (job) (job:http_requests:rate5m) > 1")
    assert (through_rule["window"], through_rule["evaluation"]) == (300, 30)
    assert through_rule["total"] == 15 + 30 + 300 + 60 + 30


@pytest.mark.parametrize("expr", [
    "max_over_time(pg_up[10m]) == 0",
    "sum by (job) (job:http_requests:rate5m) > 1",  # through a recording rule
    "avg_over_time(pg_up[10m]) < 1 and avg_over_time(pg_up[30m]) < 1",
])
def test_the_latency_figures_alone_are_the_validation_passs(expr):
    """generate's catalog prints latency_figures(stack), computed beside the pass: the same figures."""
    from sergas_observability.lint import latency_figures

    s = with_alert(expr=expr, severity="P1")
    assert latency_figures(s) == tuple(lint_stack(s, promtool=False).latency) != ()


def test_the_latency_figures_of_sergas_are_the_validation_passs():
    from sergas_observability.lint import latency_figures, validate
    from sergas_observability.loader import load

    sergas, errors = load("definitions", Path(__file__).resolve().parent.parent)
    assert not errors
    figures = latency_figures(sergas)
    assert len(figures) > 20 and figures == tuple(validate(sergas).latency)


def test_latency_uses_the_scrape_interval_of_the_job_read():
    from lint_stacks import JOBS

    slow = JOBS[1].model_copy(update={"interval": "1m"})
    s = stack(scrape_jobs=(JOBS[0], slow, JOBS[2]), alerts=(alert(expr="pg_up == 0", severity="P1"),))
    assert lint_stack(s, promtool=False).latency[0].scrape == 60


def test_compiled_dashboard_checks_catch_a_broken_compiler_output():
    s = stack()
    documents = grafana.compile(s)
    assert lint_stack(s, documents=documents).findings == []
    doc = next(d for d in documents.values() if isinstance(d, dict) and d.get("uid") == "app-overview")
    doc["templating"]["list"] = []
    panel = next(p for p in doc["panels"] if p.get("type") != "row" and "targets" in p)
    panel["fieldConfig"]["defaults"].pop("unit")
    panel["targets"][0]["datasource"] = {"type": "prometheus", "uid": "prometheus"}
    found = {(f.rule, f.where) for f in lint_stack(s, documents=documents).active}
    assert found == {
        ("dashboard/datasource-variable", "Dashboard 'app-overview'"),
        ("dashboard/datasource-variable", "Panel 'Requests'"),
        ("dashboard/panel-unit", "Panel 'Requests'"),
    }


def test_queries_of_generated_dashboards_are_linted_too():
    s = stack()
    documents = grafana.compile(s)
    generated = json.loads(json.dumps(next(d for d in documents.values() if isinstance(d, dict) and "panels" in d)))
    generated["uid"] = "slo-app"
    target = next(p for p in generated["panels"] if "targets" in p)["targets"][0]
    target["expr"] = "sum by (rout) (rate(http_requests_total[$__rate_interval]))"
    documents["grafana/dashboards/slo_app.json"] = generated
    found = [(f.rule, f.where, f.field) for f in lint_stack(s, documents=documents).active]
    assert found == [("promql/unknown-label", "Stack 'lint-test'", "dashboard 'slo-app'")]


def test_notification_templates_are_rendered_by_amtool():
    from sergas_observability.compile import alertmanager

    s = stack()
    documents = alertmanager.compile(s)
    assert lint_stack(s, documents=documents).findings == []
    slack = next(
        c for doc in documents.values() for r in doc["receivers"] if r["name"] == "slack" for c in r["slack_configs"]
    )
    slack["title"] = "[{{ .Status | toUpperr }}] {{ .CommonLabels.alertname }}"
    slack["text"] = "{{ range .Alerts }}{{ .Annotation.summary }}{{ end }}"
    found = sorted((f.rule, f.where, f.field, f.message) for f in lint_stack(s, documents=documents).active)
    assert [(rule, where, field) for rule, where, field, _ in found] == [
        ("routing/notification-template", "Receiver 'slack'", "slack_configs.text"),
        ("routing/notification-template", "Receiver 'slack'", "slack_configs.title"),
    ]
    assert 'function "toUpperr" not defined' in found[1][3]
    assert "can't evaluate field Annotation" in found[0][3]


def test_a_silenced_finding_is_kept_and_listed_with_its_reason():
    report = lint_stack(with_alert(dashboard=None, lint_ignore={"alert/no-dashboard": "the runbook links the graphs"}))
    assert report.active == []
    [item] = report.silenced
    assert (item.rule, item.silenced) == ("alert/no-dashboard", "the runbook links the graphs")
    text = to_text(report)
    assert "silenced (1):" in text and "reason: the runbook links the graphs" in text
    assert json.loads(to_json(report))["silenced"][0]["silenced"] == "the runbook links the graphs"
    assert to_github(report).startswith("::notice ")


def test_a_dashboard_silence_covers_its_panels():
    from lint_stacks import dashboard, panel

    s = stack(dashboards=(dashboard(panel(unit="seconds"), lint_ignore={"dashboard/unknown-unit": "custom plugin"}),))
    report = lint_stack(s)
    assert report.active == [] and [f.rule for f in report.silenced] == ["dashboard/unknown-unit"]


def test_json_and_github_formats():
    report = lint_stack(with_alert(summary="Requests fail. Check it.", dashboard=None))
    document = json.loads(to_json(report))
    assert document["summary"] == {"errors": 1, "warnings": 1, "silenced": 0}
    rules = sorted(f["rule"] for f in document["findings"])
    assert rules == ["alert/no-dashboard", "alert/summary-sentence"]
    first = next(f for f in document["findings"] if f["rule"] == "alert/summary-sentence")
    assert first["file"].endswith("lint_stacks.py") and isinstance(first["line"], int)
    assert document["latency"][0]["alert"] == "HighErrorRate" and document["latency"][0]["budget_seconds"] == 300
    lines = to_github(report).splitlines()
    error = next(line for line in lines if line.startswith("::error "))
    assert ",title=alert/summary-sentence::" in error and "line=" in error
    assert any(line.startswith("::warning ") for line in lines)


def test_github_escapes_newlines_and_percent():
    report = lint_stack(with_alert(expr='sum by (job) (rate(http_requests_total{rout="5%"}[2m]))\n> 1'))
    line = next(line for line in to_github(report).splitlines() if line.startswith("::error"))
    assert "%0A" in line and "%25" in line and "\n" not in line


# --- the command line --------------------------------------------------------------------------

def _definitions(tmp_path: Path, name: str, body: str) -> Path:
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("from lint_stacks import *\n" + body)
    return tmp_path


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{ROOT}"}
    return subprocess.run([*CLI, "lint", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_cli_exit_codes(tmp_path):
    _definitions(tmp_path, "clean", "stack = stack()\n")
    _definitions(tmp_path, "warns", "stack = with_alert(dashboard=None)\n")
    _definitions(tmp_path, "fails", "stack = with_alert(description='Requests fail.')\n")
    _definitions(tmp_path, "broken", "stack = with_alert(severity='P9')\n")
    clean = _run(tmp_path, "-d", "clean")
    assert clean.returncode == 0 and "0 error(s), 0 warning(s), 0 silenced." in clean.stdout
    warns = _run(tmp_path, "-d", "warns")
    assert warns.returncode == 0
    assert re.search(r"^warning: \S+lint_stacks\.py:\d+: Alert 'HighErrorRate' field 'dashboard': .* \[alert/no-dashboard\]$", warns.stdout, re.M)
    # An error generate refuses too: exit 2, like generate.
    fails = _run(tmp_path, "-d", "fails", "--format", "github")
    assert fails.returncode == 2 and "::error file=" in fails.stdout and "title=alert/description-template" in fails.stdout
    broken = _run(tmp_path, "-d", "broken")
    assert broken.returncode == 2 and "unknown severity 'P9'" in broken.stdout and "Traceback" not in broken.stdout + broken.stderr
    # An error only promtool finds (a template our expander never runs: the alert has no test): exit 1.
    _definitions(tmp_path, "tool", "stack = with_alert(summary='Requests {{ fail.')\n")
    tool = _run(tmp_path, "-d", "tool")
    assert tool.returncode == 1, tool.stdout + tool.stderr
    assert "[alert/template-compile]" in tool.stdout
    as_json = _run(tmp_path, "-d", "fails", "--format", "json")
    assert json.loads(as_json.stdout)["summary"]["errors"] == 1


def test_the_sergas_definitions_lint_without_errors(stack):
    report = lint_stack(stack)
    assert report.errors == [], to_text(report)
    assert len(report.latency) == len(stack.all_alerts)
    p0 = [f for f in report.latency if f.severity == "P0"]
    assert p0 and all(f.total <= 300 for f in p0)  # the seed's "alert latency < 5 min"


def test_the_readme_lists_every_rule():
    readme = (ROOT / "README.md").read_text()
    from sergas_observability.lint import RULES

    missing = [rule for rule in RULES if f"`{rule}`" not in readme]
    assert not missing

"""Meta-monitoring: every scrape job and probe watched, derived from the declarations."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lint_stacks import JOBS, METRICS, stack

from sergas_observability import toolchain
from sergas_observability.compile import rule_tests, rules
from sergas_observability.lint import ensure_valid, validate
from sergas_observability.model import BlackboxProbe, DefinitionError, MetaMonitoring, Metric, ScrapeJob
from sergas_observability.output import render_all, write_tree

META = MetaMonitoring(severity="P1", runbook_url="https://runbooks.example.com/meta")
PROBE = BlackboxProbe(name="site", module="http_2xx", targets={"development": ("https://example.com/health",)},
                      exporter_address={"development": "blackbox:9115"})


PROBE_SUCCESS = Metric(name="probe_success", kind="gauge", help="Probe succeeded.", exporter="blackbox_exporter")


def _meta_stack(**fields):
    return stack(meta=META, probes=(PROBE,), metrics=METRICS + (PROBE_SUCCESS,), **fields)


def _derived(s):
    return {a.name: a for a in s.all_alerts if a.derived_from}


def test_each_job_and_probe_gets_its_alerts():
    alerts = _derived(_meta_stack())
    # The clean stack's one alert reads only the app's metrics: no MetricsMissing.
    assert set(alerts) == {"AppTargetDown", "PostgresTargetDown", "RedisTargetDown", "SiteProbeFailing"}
    assert alerts["PostgresTargetDown"].expr == 'up{job="postgres"} == 0'
    assert alerts["PostgresTargetDown"].labels == {} and alerts["PostgresTargetDown"].severity == "P1"
    assert alerts["SiteProbeFailing"].expr == 'probe_success{job="site"} == 0 or up{job="site"} == 0'


def test_a_probe_needs_probe_success_declared():
    lines = [f.one_line() for f in validate(stack(meta=META, probes=(PROBE,))).errors]
    assert len(lines) == 1 and "BlackboxProbe 'site' field 'meta': its meta-alert reads probe_success" in lines[0], lines


def test_metrics_missing_lists_exactly_the_metrics_alerts_read():
    from lint_stacks import alert

    reading = alert(name="DatabaseDown", expr='pg_up{job="postgres"} == 0', service="postgres", dashboard=None)
    alerts = _derived(_meta_stack(alerts=(reading,)))
    expr = alerts["PostgresMetricsMissing"].expr
    assert 'absent(pg_up{job="postgres"})' in expr and "pg_stat_database_deadlocks" not in expr
    assert "RedisMetricsMissing" not in alerts  # no alert reads a redis metric
    assert "AppMetricsMissing" not in alerts  # application series appear only once observed


def test_opt_out_service_and_severity_per_job():
    jobs = (JOBS[0].model_copy(update={"meta": False}),
            ScrapeJob(name="postgres", exporter="postgres_exporter", targets={"development": ("pg:9187",)},
                      service="database", meta_severity="P0"), JOBS[2])
    alerts = _derived(_meta_stack(scrape_jobs=jobs))
    assert "AppTargetDown" not in alerts
    down = alerts["PostgresTargetDown"]
    assert (down.service, down.severity) == ("database", "P0")
    assert down.origin == jobs[1].origin  # errors about it point at the job


def test_without_meta_settings_nothing_is_derived():
    assert _derived(stack()) == {}


def test_meta_alerts_are_validated_like_declared_ones():
    from lint_stacks import alert

    clash = alert(name="RedisTargetDown", service="redis")
    lines = [f.one_line() for f in validate(_meta_stack(alerts=(clash,))).errors]
    assert any("Alert 'RedisTargetDown' field 'name': 'RedisTargetDown' is also the name of the meta-alert of ScrapeJob 'redis'" in l
               for l in lines), lines
    unknown = validate(stack(meta=META.model_copy(update={"severity": "P7"}))).errors
    assert [f.one_line().split(": ", 2)[2] for f in unknown] == ["MetaMonitoring field 'severity': unknown severity 'P7' (known: P0, P1)"]
    with pytest.raises(DefinitionError, match="meta_severity"):
        ensure_valid(stack(meta=META, scrape_jobs=(JOBS[0], JOBS[1].model_copy(update={"meta_severity": "P9"}), JOBS[2])))


def _write(s, out: Path) -> Path:
    write_tree(render_all({**rules.compile(s), **rule_tests.compile(s)}), out)
    return out / "prometheus/tests/alerts.test.yml"


def test_generated_scenarios_pass_promtool(tmp_path):
    from lint_stacks import alert

    reading = alert(name="DatabaseDown", expr='pg_up{job="postgres"} == 0', service="postgres", dashboard=None)
    s = ensure_valid(_meta_stack(alerts=(reading,)))
    path = _write(s, tmp_path / "out")
    names = [t["name"] for t in yaml.safe_load(path.read_text())["tests"]]
    assert "PostgresMetricsMissing stays quiet (2)" in names  # the target-down scenario
    assert toolchain.run_rule_tests(path) == []


def test_one_dead_exporter_is_one_alert(tmp_path):
    """Without the `up == 1` guard MetricsMissing would fire beside TargetDown: its test catches that."""
    from lint_stacks import alert

    reading = alert(name="DatabaseDown", expr='pg_up{job="postgres"} == 0', service="postgres", dashboard=None)
    path = _write(ensure_valid(_meta_stack(alerts=(reading,))), tmp_path / "out")
    rules_file = tmp_path / "out/prometheus/rules/alerts.yml"
    doc = yaml.safe_load(rules_file.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "PostgresMetricsMissing":
                rule["expr"] = rule["expr"].split("\nand on")[0]
    rules_file.write_text(yaml.safe_dump(doc))
    findings = toolchain.run_rule_tests(path)
    assert findings and any("PostgresMetricsMissing" in f.message for f in findings), findings


def test_sergas_watches_every_exporter(stack):
    derived = _derived(stack)
    for job in stack.scrape_jobs:
        assert (f"{job.name.title().replace('-', '')}TargetDown" in derived) == job.meta, job.name
    assert "SergasHealthProbeFailing" in derived and derived["SergasHealthProbeFailing"].severity == "P0"
    # The database being down outranks its exporter being down: same service, P0 inhibits P1.
    assert derived["PostgresExporterTargetDown"].service == next(a for a in stack.alerts if a.name == "DatabaseDown").service
    p0 = next(s for s in stack.severities if s.name == "P0")
    assert "P1" in p0.inhibits and "service" in stack.inhibit_equal
    assert len(stack.probes) == sum(1 for a in derived.values() if a.name.endswith("ProbeFailing"))

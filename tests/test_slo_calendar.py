"""Calendar periods (SLO.calendar): the month and the ISO week so far, counted by real promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from sergas_observability import toolchain
from sergas_observability.compile.slo import Links, calendar_group, calendar_rules_file, compile_slos, group_names, rules_file
from sergas_observability.compile.slo_tests import CALENDAR, CALENDAR_EVERY, SLOTests, slo_test_file
from sergas_observability.model import SLO, RatioSLI
from sergas_observability.model.base import DefinitionError
from sergas_observability.model.slo import TO_DATE_BUDGET_RECORD, TO_DATE_CLOCK_RECORD, TO_DATE_EVENTS_RECORD


def _slo(**more: object) -> SLO:
    return SLO(service="demo", name="availability", objective=99.5, runbook_url="https://r.example.com",
               sli=RatioSLI(bad='demo_requests_total{status=~"5.."}', total="demo_requests_total"), **more)


def _promtool_test(directory: Path, test: str, slo: SLO) -> subprocess.CompletedProcess[str]:
    main, calendar = compile_slos([slo], {}, Links("http://grafana", "demo")).values()
    (directory / "rules.yml").write_text(yaml.safe_dump(main))
    (directory / "calendar.yml").write_text(yaml.safe_dump(calendar))
    (directory / "calendar.test.yml").write_text(test)
    return subprocess.run([toolchain.binary("promtool"), "test", "rules", "calendar.test.yml"], cwd=directory,
                          capture_output=True, text=True, timeout=300)


def test_calendar_names_periods_once_and_only_month_or_week():
    assert _slo(calendar="month").calendar == ("month",)
    with pytest.raises(DefinitionError, match="calendar"):
        _slo(calendar=("month", "day"))
    with pytest.raises(DefinitionError, match="named twice"):
        _slo(calendar=("week", "week"))


def test_each_calendar_period_has_its_counts_clock_and_budget_and_none_without_one():
    def records(slo: SLO) -> dict[str, list[tuple[str, str, str]]]:
        documents = compile_slos([slo], {}, Links("http://grafana", "demo"))
        return {path: [(r["record"], r["labels"].get("calendar", ""), r["labels"].get("event", ""))
                       for g in document["groups"] for r in g["rules"] if r.get("labels", {}).get("calendar")]
                for path, document in documents.items()}

    main = "prometheus/rules/slo-demo-availability.yml"
    assert records(_slo()) == {main: []}
    assert records(_slo(calendar=("month", "week"))) == {main: [], "prometheus/rules/slo-demo-availability.calendar.yml": [
        (record, calendar, event)
        for calendar in ("month", "week")
        for record, event in ((TO_DATE_EVENTS_RECORD, "bad"), (TO_DATE_EVENTS_RECORD, "total"),
                              (TO_DATE_CLOCK_RECORD, ""), (TO_DATE_BUDGET_RECORD, ""))
    ]}


# 100 requests a minute for 2 hours, 1 % of them failing, evaluated every minute.
COUNTS = """
rule_files: [rules.yml, calendar.yml]
evaluation_interval: 1m
group_eval_order: [slo-demo-availability, slo-demo-availability-period, slo-demo-availability.calendar]
tests:
- interval: 1m
  input_series:
  - series: demo_requests_total{status="200"}
    values: 0+99x120
  - series: demo_requests_total{status="500"}
    values: 0+1x120
  promql_expr_test:
  # The counts are events: 12,000 requests less the ~2.5 minutes the 5m rate lags (250).
  - expr: (slo:sli_events:to_date{event="total",calendar="month"} > 11500 < 12000) * 0 + 1
    eval_time: 2h
    exp_samples:
    - labels: '{service="demo", slo="availability", event="total", calendar="month"}'
      value: 1
  - expr: (slo:sli_events:to_date{event="bad",calendar="month"} > 115 < 120) * 0 + 1
    eval_time: 2h
    exp_samples:
    - labels: '{service="demo", slo="availability", event="bad", calendar="month"}'
      value: 1
  # 1 % bad at 99.5 %: twice the budget spent, -1 left.
  - expr: abs(slo:error_budget_remaining:to_date{calendar="month"} + 1) < bool 1e-09
    eval_time: 2h
    exp_samples:
    - labels: '{service="demo", slo="availability", calendar="month"}'
      value: 1
"""


def test_the_counts_so_far_are_events_and_the_budget_follows_from_them(tmp_path):
    result = _promtool_test(tmp_path, COUNTS, _slo(calendar="month"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_generated_calendar_test_passes_for_sergas(stack, tree):
    slo = next(s for s in stack.slos if s.calendar)
    assert slo.calendar == ("month",)  # the seed's uptime SLA, counted per calendar month
    test = tree / slo_test_file(slo, CALENDAR)
    passed = subprocess.run([toolchain.binary("promtool"), "test", "rules", test.name], cwd=test.parent, capture_output=True, text=True, timeout=300)
    assert passed.returncode == 0, passed.stdout + passed.stderr


# What a count that never restarts looks like in each period's rule (a rolling sum).
NEVER_RESTARTS = {"month": ("== month()", ">= -1e12"), "week": ("== floor((vector(time()) - 345600) / 604800)", ">= -1e12")}


@pytest.mark.parametrize("calendar", ["month", "week"])
def test_the_calendar_test_catches_a_count_that_never_restarts(calendar, tmp_path):
    slo = _slo(calendar=("month", "week"))
    documents = compile_slos([slo], {}, Links("http://grafana", "demo"))
    suite = SLOTests(slo, {}, Links("http://grafana", "demo"), CALENDAR_EVERY)
    test = {"rule_files": ["rules.yml", "calendar.yml"], "evaluation_interval": f"{CALENDAR_EVERY}m",
            "group_eval_order": [*group_names(slo), calendar_group(slo)], "tests": suite.calendar_tests()}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(documents[rules_file(slo)]))
    (tmp_path / "calendar.test.yml").write_text(yaml.safe_dump(test))
    promtool = toolchain.binary("promtool")

    def run(calendar_rules: str) -> str:
        (tmp_path / "calendar.yml").write_text(calendar_rules)
        result = subprocess.run([promtool, "test", "rules", "calendar.test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        return "" if result.returncode == 0 else result.stdout + result.stderr

    text = yaml.safe_dump(documents[calendar_rules_file(slo)], width=10_000)
    assert run(text) == ""
    restarts, rolling = NEVER_RESTARTS[calendar]
    assert text.count(restarts) == 2  # the bad and the total count
    report = run(text.replace(restarts, rolling))
    boundary = {"month": "31d", "week": "4d"}[calendar]
    assert f'calendar="{calendar}"' in report and f"time: {boundary}," in report
    assert ({"month", "week"} - {calendar}).pop() not in report.replace("calendar.test.yml", "")  # the other period still restarts
    # A count that restarts at every evaluation has spent nothing by the clean end of the period.
    report = run(text.replace(restarts, "< -1e12"))
    assert f'calendar="{calendar}"' in report and f"time: {'30d18h' if calendar == 'month' else '3d18h'}," in report

"""ProbeSLI: availability from a 0/1 gauge such as blackbox's probe_success, counted by real promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from lint_stacks import METRICS, stack
from sergas_observability import toolchain
from sergas_observability.compile.slo import Links, compile_slos
from sergas_observability.lint import validate
from sergas_observability.model import SLO, BlackboxProbe, Metric, ProbeSLI
from sergas_observability.model.base import DefinitionError


def _slo(**more: object) -> SLO:
    fields = {"service": "demo", "name": "uptime", "objective": 99.5, "runbook_url": "https://r.example.com",
              "sli": ProbeSLI(success='probe_success{job="health"}', interval="15s"), **more}
    return SLO(**fields)


def test_a_probe_sli_names_its_gauge_and_its_interval():
    with pytest.raises(DefinitionError, match="interval"):
        ProbeSLI(success="probe_success")
    with pytest.raises(DefinitionError, match="plain selector"):
        _slo(sli=ProbeSLI(success="avg_over_time(probe_success[5m])", interval="15s"))


def test_probes_are_time_over_interval_never_a_count_of_samples():
    (document,) = compile_slos([_slo()], {}, Links("http://grafana", "demo")).values()
    rules = {(r.get("record"), r["labels"].get("event"), r["labels"].get("window")): r["expr"]
             for g in document["groups"] for r in g["rules"] if "record" in r}
    assert rules[("slo:sli_events:rate5m", "bad", None)] == '(sum(1 - avg_over_time(probe_success{job="health"}[5m])) / 15 or vector(0))'
    assert rules[("slo:sli_events:rate5m", "total", None)] == '(sum(avg_over_time(probe_success{job="health"}[5m]) * 0 + 1) / 15 or vector(0))'
    assert not any("count_over_time" in expr for expr in rules.values())


# A probe every 15 seconds, clean for 19 hours, then failing for the last 5 of the day.
# The day's burn is exactly 5/24 of the time failing over a 0.5 % budget: 41.67; counting
# samples, the 18 hours before the last 6 would read 21 samples per 5 minutes where the 6 hours
# read 1441 in 1440 intervals, and the day would come out ~3.5 % low.
TIME_WEIGHTED = """
rule_files: [rules.yml]
evaluation_interval: 1m
group_eval_order: [slo-demo-uptime, slo-demo-uptime-period]
tests:
- interval: 15s
  input_series:
  - series: probe_success{job="health",instance="https://example.com"}
    values: 1x4560 0x1199
  promql_expr_test:
  - expr: abs(slo:burn_rate:ratio{window="1d"} - 41.6667) < bool 0.1
    eval_time: 1d
    exp_samples:
    - labels: '{service="demo", slo="uptime", window="1d"}'
      value: 1
  # Events are probes: 4 a minute, every one of them failed (min_bad_events counts probes).
  - expr: slo:sli_events:rate5m * 60
    eval_time: 1d
    exp_samples:
    - labels: '{service="demo", slo="uptime", event="bad"}'
      value: 4
    - labels: '{service="demo", slo="uptime", event="total"}'
      value: 4
"""


def test_a_day_of_probes_is_weighted_by_time(tmp_path: Path):
    (document,) = compile_slos([_slo()], {}, Links("http://grafana", "demo")).values()
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(document))
    (tmp_path / "probe.test.yml").write_text(TIME_WEIGHTED)
    result = subprocess.run([toolchain.binary("promtool"), "test", "rules", "probe.test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_names_a_probe_sli_on_an_undeclared_metric_a_counter_or_the_wrong_interval():
    probe = BlackboxProbe(name="health", module="http_2xx", interval="15s", targets={"development": ("https://example.com/health",)},
                          exporter_address={"development": "blackbox:9115"})
    probe_success = Metric(name="probe_success", kind="gauge", help="Probe succeeded.", exporter="blackbox_exporter")

    def errors(sli: ProbeSLI) -> list[str]:
        report = validate(stack(metrics=(*METRICS, probe_success), probes=(probe,), slos=(_slo(sli=sli),)))
        return [f"{f.field}: {f.message}" for f in report.active if f.field.startswith("sli")]

    assert any("'probe_sucess' is not declared" in e and "probe_success" in e for e in errors(ProbeSLI(success="probe_sucess", interval="15s")))
    assert any("is a counter" in e for e in errors(ProbeSLI(success="http_requests_total", interval="15s")))
    wrong = errors(ProbeSLI(success='probe_success{job="health"}', interval="1m"))
    assert wrong == ["sli.interval: interval 1m, but probe 'health' is scraped every 15s: its failed probes would be counted 0.25x"]
    assert errors(ProbeSLI(success='probe_success{job="health"}', interval="15s")) == []

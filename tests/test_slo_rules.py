"""SLO rules: promtool-clean, at most 8 per SLO, and proven by the generated promtool tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from sergas_observability import toolchain
from sergas_observability.compile.slo import Links, compile_slos, group_names
from sergas_observability.compile.slo_tests import DAYS, TIMING, SLOTests, shapes, slo_test_file
from sergas_observability.model import SLO, RatioSLI

TESTS = "prometheus/tests"


def _rule_files(tree: Path) -> list[Path]:
    return sorted((tree / "prometheus/rules").glob("slo-*.yml"))


def _run_promtool_tests(paths: list[Path]) -> dict[Path, subprocess.CompletedProcess[str]]:
    """`promtool test rules` on each file, two at a time (they take ~30 s each)."""
    promtool = toolchain.binary("promtool")
    results: dict[Path, subprocess.CompletedProcess[str]] = {}
    pending = list(paths)
    while pending:
        batch, pending = pending[:2], pending[2:]
        procs = {p: subprocess.Popen([promtool, "test", "rules", p.name], cwd=p.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for p in batch}
        for path, proc in procs.items():
            out, _ = proc.communicate(timeout=600)
            results[path] = subprocess.CompletedProcess(proc.args, proc.returncode, out, "")
    return results


def test_every_sergas_slo_has_rules_tests_and_a_dashboard_row(stack, tree):
    assert len(stack.slos) == 5
    dashboards = {p.name: p for p in (tree / "grafana/dashboards").glob("slo_*.json")}
    for slo in stack.slos:
        assert (tree / slo_test_file(slo)).is_file()
        first = next(same[0] for same in shapes(stack).values() if slo in same)
        assert (tree / slo_test_file(first, TIMING)).is_file() and (tree / slo_test_file(first, DAYS)).is_file()
        dashboard = (tree / "grafana/dashboards" / f"slo_{slo.service.replace('-', '_')}.json").read_text()
        assert f'slo=\\"{slo.name}\\"' in dashboard
    assert len(dashboards) == 3  # one per service


def test_slo_rule_files_pass_promtool_lint_fatal(tree):
    files = _rule_files(tree)
    assert len(files) == 6  # 5 SLOs, one with calendar counts (their own file)
    assert toolchain.check_rules(files) == []


def test_one_rule_per_series_and_one_alert_per_tier(stack, tree):
    for slo in stack.slos:
        doc = yaml.safe_load((tree / f"prometheus/rules/slo-{slo.service}-{slo.name}.yml").read_text())
        rules = [r for g in doc["groups"] for r in g["rules"]]
        records = [(r["record"], tuple(sorted(r["labels"].items()))) for r in rules if "record" in r]
        assert len(records) == len(set(records))  # each recorded series has one rule
        events = sorted(dict(labels)["event"] for name, labels in records if name == "slo:sli_events:rate5m")
        recent = sorted(dict(labels)["event"] for name, labels in records if name == "slo:sli_events:rate6h")
        windows = [dict(labels)["window"] for name, labels in records if name == "slo:burn_rate:ratio"]
        assert events == recent == ["bad", "total"] and windows == list(slo.windows)
        assert len(records) == 4 + len(slo.windows) + 2  # events over 5m and 6h, burn rates, budget left, objective
        for rule in rules:  # a few short lines each: no label_replace() branches joined by `or`
            assert "label_replace" not in rule["expr"] and rule["expr"].count("\n") <= 5, rule["expr"]
        alerts = [r for r in rules if "alert" in r]
        assert [a["alert"] for a in alerts] == [slo.tier_alert_name(t) for t in slo.tiers]
        assert [a["labels"]["severity"] for a in alerts] == ["P0", "P0", "P1", "P1"]
        for alert in alerts:
            # each tier alone, never an OR of window pairs (`or vector(0)` only fills in a missing rate)
            assert " or " not in alert["expr"].replace(" or vector(0)", "")
            assert alert["annotations"]["summary"].endswith(".")
            assert "{{ $labels.service }}" in alert["annotations"]["description"]
            assert alert["annotations"]["runbook_url"] == slo.runbook_url


def test_sergas_pages_go_to_p0_and_tickets_to_p1(stack, tree):
    rules = {r["alert"]: r for p in (tree / "prometheus/rules").glob("slo-*.yml") for g in yaml.safe_load(p.read_text())["groups"] for r in g["rules"] if "alert" in r}
    for slo in stack.slos:  # through the stack's defaults: the SLOs name no severity
        assert {rules[slo.tier_alert_name(t)]["labels"]["severity"] for t in slo.tiers if t.action == "page"} == {"P0"}
        assert {rules[slo.tier_alert_name(t)]["labels"]["severity"] for t in slo.tiers if t.action == "ticket"} == {"P1"}


def test_generated_tests_assert_the_issue_times(stack, tree):
    """The generated checks are at the required times: a total outage pages within
    the workbook time + 1 interval (~5 min at 99.5 %), pages resolve 10 min after a 3 h outage."""
    slo = next(s for s in stack.slos if s.name == "http-availability")
    doc = yaml.safe_load((tree / slo_test_file(slo, TIMING)).read_text())
    assert doc["evaluation_interval"] == "1m"
    outage = next(t for t in doc["tests"] if "3h outage" in t["name"])
    checks = {(c["eval_time"], c["alertname"]): bool(c["exp_alerts"]) for c in outage["alert_rule_test"]}
    # after 6h of clean history (the longest page window): 0.005 x 14.4 x 60 min = 4.32 min: firing at +5m, not at +4m
    assert checks[("6h5m", "HttpAvailabilityBudgetBurn1h")] is True
    assert checks[("6h4m", "HttpAvailabilityBudgetBurn1h")] is False
    # 0.005 x 6 x 360 = 10.8 min
    assert (checks[("6h11m", "HttpAvailabilityBudgetBurn6h")], checks[("6h10m", "HttpAvailabilityBudgetBurn6h")]) == (True, False)
    assert checks[("9h", "HttpAvailabilityBudgetBurn6h")] is True
    assert checks[("9h10m", "HttpAvailabilityBudgetBurn1h")] is False
    assert checks[("9h10m", "HttpAvailabilityBudgetBurn6h")] is False
    assert not any(name.endswith(("1d", "3d")) for _, name in checks)  # tickets are timed in the days file
    tenfold = next(t for t in doc["tests"] if "10x burn" in t["name"])
    # 6 x 6h / 10 = 216 min after a clean 6h window
    assert {(c["eval_time"], bool(c["exp_alerts"])) for c in tenfold["alert_rule_test"]} == {("9h37m", True), ("9h35m", False)}
    quiet = {t["name"].split(": ", 1)[1].split(" (")[0]: t for t in doc["tests"] if "0.5 events a minute" in t["name"]}
    assert set(quiet) == {"3 failed events at 0.5 events a minute: no alert",
                          "total outage at 0.5 events a minute: HttpAvailabilityBudgetBurn1h pages within 24m"}
    page = quiet["total outage at 0.5 events a minute: HttpAvailabilityBudgetBurn1h pages within 24m"]["alert_rule_test"]
    assert [(c["eval_time"], bool(c["exp_alerts"])) for c in page] == [("1h24m", True)]  # after an hour of quiet history
    names = " ".join(t["name"] for t in doc["tests"])
    for scenario in ("steady burn at 1.2x 14.4", "steady burn at 1.2x 1.2:"):
        assert scenario in names
    own = " ".join(t["name"] for t in yaml.safe_load((tree / slo_test_file(slo)).read_text())["tests"])
    for scenario in ("total outage: every alert fires", "(burn rate 0.6): no alert", "zero traffic", "metrics absent"):
        assert scenario in own
    days = yaml.safe_load((tree / slo_test_file(slo, DAYS)).read_text())
    assert days["evaluation_interval"] == "5m"
    outage = next(t for t in days["tests"] if "3h outage after 3d" in t["name"])
    checks = {(c["eval_time"], c["alertname"]): bool(c["exp_alerts"]) for c in outage["alert_rule_test"]}
    # 0.005 x 1.2 x 4320 = 25.92 min; 0.005 x 2.1 x 1440 = 15.12 min (no lag: the last 6h are read whole),
    # due at the next 5-minute step; both resolved 35 min after the outage (Sloth: ~6 h)
    assert checks == {("3d25m", "HttpAvailabilityBudgetBurn3d"): False, ("3d30m", "HttpAvailabilityBudgetBurn3d"): True,
                      ("3d3h", "HttpAvailabilityBudgetBurn3d"): True, ("3d3h35m", "HttpAvailabilityBudgetBurn3d"): False,
                      ("3d15m", "HttpAvailabilityBudgetBurn1d"): False, ("3d20m", "HttpAvailabilityBudgetBurn1d"): True,
                      ("3d3h", "HttpAvailabilityBudgetBurn1d"): True, ("3d3h35m", "HttpAvailabilityBudgetBurn1d"): False}
    tenfold = next(t for t in days["tests"] if "10x burn" in t["name"])
    # the first ticket: 0.005 x 2.1 x 1440 / 0.05 = 302.4 min after a clean day (Pyrra 373, Sloth 432)
    assert {(c["eval_time"], c["alertname"], bool(c["exp_alerts"])) for c in tenfold["alert_rule_test"]} == {
        ("1d5h5m", "HttpAvailabilityBudgetBurn1d", True), ("1d5h", "HttpAvailabilityBudgetBurn1d", False)}
    one_x = next(t for t in days["tests"] if "1x burn for 3 days" in t["name"])
    assert one_x["promql_expr_test"][0]["exp_samples"] == []  # ALERTS of every tier: not one sample in 3 days


@pytest.mark.slow
def test_generated_promtool_tests_pass_for_every_slo(stack, tree):
    files = sorted((tree / "prometheus/tests").glob("slo-*.test.yml"))
    calendar = sum(1 for same in shapes(stack).values() if same[0].calendar)
    assert len(files) == len(stack.slos) + 2 * len(shapes(stack)) + calendar
    results = _run_promtool_tests(files)
    failed = {p.name: r.stdout[-3000:] for p, r in results.items() if r.returncode != 0}
    assert not failed, failed


def test_the_recovery_check_catches_a_page_that_lingers(stack, tree, tmp_path):
    """Without the 5m 'still burning' condition the 6h page would hold ~30 min after
    recovery (Sloth's behaviour): the generated test must then fail."""
    slo = next(s for s in stack.slos if s.name == "http-availability")
    rules = yaml.safe_load((tree / f"prometheus/rules/slo-{slo.service}-{slo.name}.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "HttpAvailabilityBudgetBurn6h":
                lines = rule["expr"].splitlines()
                rule["expr"] = "\n".join(line for line in lines if 'window="5m"' not in line)
                assert len(rule["expr"].splitlines()) == len(lines) - 1
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "slo.yml").write_text(yaml.safe_dump(rules))
    doc = yaml.safe_load((tree / slo_test_file(slo, TIMING)).read_text())
    doc["rule_files"] = ["rules/slo.yml"]
    doc["tests"] = [t for t in doc["tests"] if "3h outage" in t["name"]]
    (tmp_path / "outage.test.yml").write_text(yaml.safe_dump(doc))
    result = _run_promtool_tests([tmp_path / "outage.test.yml"])[tmp_path / "outage.test.yml"]
    assert result.returncode != 0
    assert "HttpAvailabilityBudgetBurn6h" in result.stdout and "9h10m" in result.stdout


TRAFFIC_WEIGHTED = """
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  # 12 h busy and clean (1000 req/min), then 12 h quiet with 10 % errors (10 req/min)
  - series: demo_requests_total{status="200"}
    values: 0+1000x720 720000+9x719
  - series: demo_requests_total{status="500"}
    values: 0+0x720 1+1x719
  promql_expr_test:
  - expr: (slo:burn_rate:ratio{window="1d"} > 0.19 < 0.21) * 0 + 1
    eval_time: 1d
    exp_samples:
    - labels: '{service="demo", slo="availability", window="1d"}'
      value: 1
  - expr: (slo:burn_rate:ratio{window="6h"} > 19.9 < 20.1) * 0 + 1
    eval_time: 1d
    exp_samples:
    - labels: '{service="demo", slo="availability", window="6h"}'
      value: 1
"""


def test_long_windows_are_traffic_weighted(tmp_path):
    """720 errors in 727,200 requests over the day is 0.099 % (burn 0.198 at 99.5 %);
    a mean of the 5m ratios would say 5 % (burn 10)."""
    slo = SLO(service="demo", name="availability", objective=99.5, runbook_url="https://r.example.com",
              sli=RatioSLI(bad='demo_requests_total{status=~"5.."}', total="demo_requests_total"))
    (document,) = compile_slos([slo], {}, Links("http://grafana", "demo")).values()
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(document))
    (tmp_path / "weighted.test.yml").write_text(TRAFFIC_WEIGHTED)
    result = _run_promtool_tests([tmp_path / "weighted.test.yml"])[tmp_path / "weighted.test.yml"]
    assert result.returncode == 0, result.stdout


def test_an_slo_without_tiers_is_recorded_and_never_alerts(tmp_path):
    """tiers=(): the events, the 5m burn rate, the budget and the objective are recorded for
    dashboards and reports; no alert exists, and its own test shows a total outage overspending."""
    slo = SLO(service="demo", name="report", objective=99.9, tiers=(), runbook_url="https://r.example.com",
              sli=RatioSLI(bad='demo_requests_total{status=~"5.."}', total="demo_requests_total"))
    (document,) = compile_slos([slo], {}, Links("http://grafana", "demo")).values()
    rules = [r for g in document["groups"] for r in g["rules"]]
    assert not [r for r in rules if "alert" in r]
    assert [r["record"] for r in rules] == ["slo:sli_events:rate5m"] * 2 + ["slo:burn_rate:ratio", "slo:error_budget_remaining:ratio", "slo:objective:ratio"]
    suite = SLOTests(slo, {}, Links("http://grafana", "demo"))
    assert suite.minute_tests() == [] and suite.days_tests() == []
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(document))
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "group_eval_order": list(group_names(slo)), "tests": suite.own_tests(slo)}
    (tmp_path / "own.test.yml").write_text(yaml.safe_dump(test))
    result = _run_promtool_tests([tmp_path / "own.test.yml"])[tmp_path / "own.test.yml"]
    assert result.returncode == 0, result.stdout
    assert "overspent" in test["tests"][0]["name"]

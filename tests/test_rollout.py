"""Deployments and rollouts: the model, the validation pass, the compiled rules (with promtool), the gate's verdicts.

The live gate against real servers is tests/e2e/test_rollout_gate.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sergas_observability.compile import compile_stack, kubernetes, prometheus, rollout, rollout_tests
from sergas_observability.gate import FAIL, PASS, UNDECIDED, _judge_check, worst
from sergas_observability.lint import validate
from sergas_observability.model import (
    SLO, DefinitionError, Deployments, ProbeSLI, RatioSLI, Rollout, RolloutCheck, RolloutStep, Runbook, ScrapeJob,
)
from sergas_observability.output import render_all, write_tree

from lint_stacks import JOBS, RUNBOOK, stack as lint_stack

ROOT = Path(__file__).resolve().parent.parent

AVAILABILITY = SLO(service="app", name="availability", objective=99.0, runbook_url=RUNBOOK,
                   sli=RatioSLI(bad='http_requests_total{status=~"5.."}', total="http_requests_total"))
STEPS = (RolloutStep(traffic=10, monitor="5m"), RolloutStep(traffic=100, monitor="10m"))


def _rollout(**fields: Any) -> Rollout:
    values: dict[str, Any] = dict(name="canary", service="app", steps=STEPS, severity="P0", runbook_url=RUNBOOK,
                                  checks=(RolloutCheck(name="errors", slo="app/availability"),))
    values.update(fields)
    return Rollout(**values)


def _stack(**fields: Any) -> Any:
    jobs = (ScrapeJob(name="app", targets={}, deployments={"development": {"blue": ("blue:9090",), "green": ("green:9090",)}}),) + JOBS[1:]
    values: dict[str, Any] = dict(scrape_jobs=jobs, deployments=Deployments(), slos=(AVAILABILITY,), rollouts=(_rollout(),))
    values.update(fields)
    return lint_stack(**values)


def _errors(stack: Any) -> list[str]:
    return [f"{f.field}: {f.message}" for f in validate(stack).errors]


# -- the model and the validation pass ------------------------------------------------------


def test_the_clean_rollout_stack_validates():
    assert _errors(_stack()) == []


@pytest.mark.parametrize("fields, message", [
    (dict(steps=(RolloutStep(traffic=50, monitor="5m"), RolloutStep(traffic=10, monitor="5m"))), "more traffic than the one before"),
    (dict(steps=()), "at least one step"),
    (dict(checks=()), "at least one check"),
    (dict(candidate="blue", baseline="blue"), "the candidate is the baseline"),
    (dict(checks=(RolloutCheck(name="x", slo="app/availability"), RolloutCheck(name="x", slo="app/availability"))), "named twice"),
])
def test_a_rollout_that_cannot_run_is_refused(fields, message):
    with pytest.raises(DefinitionError, match=message):
        _rollout(**fields)


def test_a_check_names_an_slo_or_brings_its_own_sli_and_objective():
    with pytest.raises(DefinitionError, match="either slo"):
        RolloutCheck(name="x")
    with pytest.raises(DefinitionError, match="needs an objective"):
        RolloutCheck(name="x", sli=RatioSLI(bad="http_requests_total", total="http_requests_total"))
    with pytest.raises(DefinitionError, match="share of traffic"):
        RolloutStep(traffic=0, monitor="5m")


def test_a_jobs_deployments_are_its_targets_and_must_agree_with_them():
    job = ScrapeJob(name="app", targets={"dev": ("a:1",)}, deployments={"prod": {"blue": ("b:1",), "green": ("g:1",)}})
    assert job.targets == {"dev": ("a:1",), "prod": ("b:1", "g:1")}
    assert job.deployment_of("prod") == {"b:1": "blue", "g:1": "green"}
    with pytest.raises(DefinitionError, match="other targets"):
        ScrapeJob(name="app", targets={"prod": ("x:1",)}, deployments={"prod": {"blue": ("b:1",)}})
    with pytest.raises(DefinitionError, match="under two deployments"):
        ScrapeJob(name="app", targets={}, deployments={"prod": {"blue": ("b:1",), "green": ("b:1",)}})


@pytest.mark.parametrize("fields, expected", [
    (dict(deployments=None), "rollouts judge deployments apart: declare Stack.deployments"),
    (dict(rollouts=(_rollout(candidate="purple"),)), "no deployment 'purple'"),
    (dict(rollouts=(_rollout(severity="P9"),)), "severity 'P9' is not declared"),
    (dict(rollouts=(_rollout(checks=(RolloutCheck(name="e", slo="app/availabilty"),)),)), "no SLO 'app/availabilty' (did you mean 'app/availability'?)"),
    (dict(slos=(AVAILABILITY, SLO(service="app", name="probe", objective=99.0, runbook_url=RUNBOOK, sli=ProbeSLI(success="pg_up", interval="15s"))),
          rollouts=(_rollout(checks=(RolloutCheck(name="e", slo="app/probe"),)),)), "a probe is not per deployment"),
    (dict(rollouts=(_rollout(checks=(RolloutCheck(name="e", objective=99.0, sli=RatioSLI(bad="pg_stat_database_deadlocks", total="pg_stat_database_deadlocks")),)),)),
     "comes from postgres_exporter, whose series carry no deployment label"),
    (dict(rollouts=(_rollout(checks=(RolloutCheck(name="e", objective=99.0, sli=RatioSLI(bad="http_requests_totl", total="http_requests_total")),)),)),
     "metric 'http_requests_totl' is not declared"),
    (dict(scrape_jobs=(ScrapeJob(name="app", targets={}, deployments={"development": {"bleu": ("b:1",)}}),) + JOBS[1:]), "no deployment 'bleu'"),
    (dict(deployments=Deployments(label="route")), "label 'route' is the deployment label every application series carries"),
    (dict(rollouts=(_rollout(), _rollout())), "duplicate rollout 'canary'"),
    (dict(runbooks=(Runbook(name="app", url=RUNBOOK), Runbook(name="app", url=RUNBOOK + "2"))), "duplicate runbook 'app'"),
])
def test_a_rollout_mistake_is_named(fields, expected):
    errors = _errors(_stack(**fields))
    assert any(expected in e for e in errors), errors


def test_queries_may_select_the_deployment_label_of_application_series_only():
    ok = _stack(dashboards=())
    assert "deployment" in ok.series_labels()["http_requests_total"]
    assert "deployment" not in ok.series_labels()["pg_up"]


# -- what it compiles to ------------------------------------------------------------------------


def test_static_targets_are_labelled_with_their_deployment_and_kubernetes_copies_the_pod_label():
    stack = _stack(deployments=Deployments(pod_label="app.kubernetes.io/version"))
    env = stack.environments[0]
    (app_job,) = [j for j in prometheus.config(stack, env)["scrape_configs"] if j["job_name"] == "app"]
    assert app_job["static_configs"] == [{"targets": ["blue:9090"], "labels": {"deployment": "blue"}},
                                         {"targets": ["green:9090"], "labels": {"deployment": "green"}}]
    monitor = kubernetes.service_monitor(stack, env, stack.scrape_jobs[0])
    assert {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_version"], "targetLabel": "deployment"} \
        in monitor["spec"]["endpoints"][0]["relabelings"]
    exporter = kubernetes.service_monitor(stack, env, stack.scrape_jobs[1])
    assert all(r.get("targetLabel") != "deployment" for r in exporter["spec"]["endpoints"][0]["relabelings"])


def test_the_rules_count_the_slos_own_sli_per_deployment_and_the_spec_says_what_the_gate_asks():
    stack = _stack()
    documents = rollout.compile(stack)
    (group,) = documents["prometheus/rules/rollout-canary.yml"]["groups"]
    exprs = {(r.get("record") or r["alert"], r.get("labels", {}).get("event")): r["expr"] for r in group["rules"]}
    assert exprs[("rollout:sli_events:rate5m", "total")] == "sum by (deployment) (rate(http_requests_total[5m]))"
    assert 'http_requests_total{status=~"5.."}' in exprs[("rollout:sli_events:rate5m", "bad")]
    spec = documents["prometheus/rollouts/canary.json"]
    assert [s["monitor_seconds"] for s in spec["steps"]] == [300, 600]
    (check,) = spec["checks"]
    assert (check["max_error_ratio"], check["margin"], check["min_events"]) == (0.01, 0.01, 100)
    assert check["total_per_second"] == "sum by (deployment) (rate(http_requests_total[$window]))"
    assert check["alert"] == "CanaryErrorsRegression"


def test_no_deployments_no_rollout_output():
    stack = lint_stack()
    assert rollout.compile(stack) == {} and rollout_tests.compile(stack) == {}


def _promtool_tests(documents: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    write_tree(render_all(documents), tmp_path / "out")
    return subprocess.run(["promtool", "test", "rules", "rollout-canary.test.yml"], cwd=tmp_path / "out/prometheus/tests",
                          capture_output=True, text=True)


def test_the_generated_promtool_tests_pass_and_catch_a_broken_alert(tmp_path):
    stack = _stack()
    documents = {**rollout.compile(stack), **rollout_tests.compile(stack)}
    result = _promtool_tests(documents, tmp_path / "good")
    assert result.returncode == 0, result.stderr
    names = [t["name"] for t in documents["prometheus/tests/rollout-canary.test.yml"]["tests"]]
    assert len(names) == 4 and "naming green" in names[0]
    rules = documents["prometheus/rules/rollout-canary.yml"]["groups"][0]["rules"]
    alert = next(r for r in rules if "alert" in r)
    # Without the comparison with the best other deployment, both deployments failing alike fires it.
    alone = dict(alert, expr=alert["expr"].split("\n> on(")[0] + f" > {rollout.num(0.01)}")
    broken = dict(documents)
    broken["prometheus/rules/rollout-canary.yml"] = {"groups": [{**documents["prometheus/rules/rollout-canary.yml"]["groups"][0],
                                                                 "rules": [r if r is not alert else alone for r in rules]}]}
    result = _promtool_tests(broken, tmp_path / "broken")
    assert result.returncode != 0 and "both at 4% bad" in result.stderr, result.stderr
    # Without the event count, a candidate with too few events fires it.
    uncounted = dict(alert, expr=alert["expr"].replace(">= 100", ">= 0"))
    broken["prometheus/rules/rollout-canary.yml"] = {"groups": [{**documents["prometheus/rules/rollout-canary.yml"]["groups"][0],
                                                                 "rules": [r if r is not alert else uncounted for r in rules]}]}
    result = _promtool_tests(broken, tmp_path / "uncounted")
    assert result.returncode != 0 and "fewer than the 100 a verdict needs" in result.stderr, result.stderr


def test_the_rollout_files_belong_to_the_prometheus_and_grafana_outputs():
    documents = compile_stack(_stack(), ["prometheus", "grafana"])
    assert {"prometheus/rules/rollout-canary.yml", "prometheus/rollouts/canary.json", "prometheus/tests/rollout-canary.test.yml",
            "grafana/dashboards/rollout_canary.json"} <= set(documents)
    dashboard = documents["grafana/dashboards/rollout_canary.json"]
    assert dashboard["uid"] == "lint-test-rollout-canary"


# -- the gate's verdicts ----------------------------------------------------------------------------

CHECK = {"name": "errors", "source": "SLO app/availability", "objective_percent": 99.0,
         "max_error_ratio": 0.01, "margin": 0.01, "min_events": 100}


def _counts(**deployments: tuple[float, float]) -> dict[str, dict[str, float]]:
    """deployment -> (bad, total) events in the window"""
    return {"bad": {d: b for d, (b, _) in deployments.items()}, "total": {d: t for d, (_, t) in deployments.items()}}


@pytest.mark.parametrize("counts, verdict, reason", [
    (_counts(blue=(0, 900), green=(0, 100)), PASS, "green 0% over 100 events; blue 0%"),
    (_counts(blue=(0, 900), green=(0, 99)), UNDECIDED, "green has 99 events, fewer than the 100 a verdict needs"),
    (_counts(blue=(0, 900), green=(5, 100)), FAIL, "green's error ratio 5% is above 1% (SLO app/availability, objective 99%)"),
    # Blue itself fails at 0.8 %: green at 0.9 % is within the objective and the margin.
    (_counts(blue=(8, 1000), green=(9, 1000)), PASS, "green 0.9% over 1000 events"),
    # Against the baseline: 0.5 % above a clean blue is fine; with a 0 margin it is not.
    (_counts(blue=(0, 50), green=(5, 1000)), PASS, "blue has too few events to compare (50)"),
])
def test_a_checks_verdict(counts, verdict, reason):
    result = _judge_check(CHECK, counts, "green", "blue")
    assert result.verdict == verdict and reason in result.reason, result


def test_the_baseline_margin_fails_a_candidate_within_the_objective():
    result = _judge_check({**CHECK, "margin": 0.001}, _counts(blue=(0, 1000), green=(5, 1000)), "green", "blue")
    assert result.verdict == FAIL and "above blue's 0% + 0.1%" in result.reason


def test_the_worst_verdict_wins():
    assert worst([PASS, UNDECIDED]) == UNDECIDED and worst([UNDECIDED, FAIL, PASS]) == FAIL and worst([]) == PASS


def _gate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sergas_observability.cli", "gate", *args], cwd=ROOT, capture_output=True, text=True)


def test_the_gate_cli_exit_codes_for_what_it_cannot_judge(tmp_path):
    spec = ROOT / "generated/prometheus/rollouts/blue-green.json"
    assert json.loads(spec.read_text())["deployments"] == ["blue", "green", "canary"]
    unknown = _gate("blue-green", "--prometheus", "http://127.0.0.1:9", "--candidate", "purple")
    assert unknown.returncode == 2 and "no deployment 'purple' (known: blue, green, canary)" in unknown.stderr
    missing = _gate("nope", "--prometheus", "http://127.0.0.1:9")
    assert missing.returncode == 2 and "no gate spec" in missing.stderr and "Traceback" not in missing.stderr
    step = _gate("blue-green", "--prometheus", "http://127.0.0.1:9", "--step", "4")
    assert step.returncode == 2 and "steps 1..3, not 4" in step.stderr
    url = _gate("blue-green", "--prometheus", "prometheus:9090")
    assert url.returncode == 2 and "is not an http(s) URL" in url.stderr
    (tmp_path / "bad.json").write_text("{}")
    bad = _gate("blue-green", "--prometheus", "http://127.0.0.1:9", "--spec", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "not a gate spec" in bad.stderr
    # Port 9 (discard) on loopback: nothing listens, Prometheus cannot be asked.
    down = _gate("blue-green", "--prometheus", "http://127.0.0.1:9", "--step", "1")
    assert down.returncode == 4 and "Connection refused" in down.stderr


def test_the_sergas_rollout_is_the_seeds_flow(stack):
    (blue_green,) = stack.rollouts
    assert [(s.traffic, s.monitor) for s in blue_green.steps] == [(10, "5m"), (50, "10m"), (100, "15m")]
    assert {c.slo for c in blue_green.checks} == {"sergas-app/http-availability", "sergas-app/http-latency"}
    config = yaml.safe_load((ROOT / "generated/prometheus/production/prometheus.yml").read_text())
    (app,) = [j for j in config["scrape_configs"] if j["job_name"] == "sergas-app"]
    assert sorted(g["labels"]["deployment"] for g in app["static_configs"]) == ["blue", "green"]


def test_names_that_go_into_files_and_labels_are_slugs():
    with pytest.raises(DefinitionError, match="'Blue Green' must be lower-case letters, digits"):
        _rollout(name="Blue Green")
    with pytest.raises(DefinitionError, match="'Blue' must be lower-case letters, digits"):
        Deployments(names=("Blue", "green"))
    with pytest.raises(DefinitionError, match="named twice"):
        Deployments(names=("blue", "blue"))


def test_a_failing_traffic_switch_stops_the_gate_before_any_step_is_judged(tmp_path):
    # Nothing listens on port 9: had the gate asked Prometheus, it would exit 4, not 2.
    failed = _gate("blue-green", "--prometheus", "http://127.0.0.1:9", "--switch", "false {traffic} {x}")
    assert failed.returncode == 2 and "--switch command failed at step 1: false 10 '{x}'" in failed.stderr, failed.stderr
    both = _gate("blue-green", "--prometheus", "http://127.0.0.1:9", "--switch", "true", "--step", "1")
    assert both.returncode == 2 and "leave out --step" in both.stderr

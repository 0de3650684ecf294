"""Alert and recording rules: promtool-clean, seed-complete, and proven by generated unit tests."""

from pathlib import Path

import yaml

from sergas_observability import toolchain

SEED_ALERTS = {
    "P0": {"DatabaseDown", "ApplicationDown", "HighErrorRate", "DiskSpaceLow"},
    "P1": {"HighConnectionUtilization", "SlowQueries", "HighApprovalTimeoutRate", "SSEDisconnectRateHigh"},
    "P2": {"ApproachingMaxCapacity", "HighDeadlockRate", "CacheMissRateHigh"},
}


def _rules(tree):
    doc = yaml.safe_load((tree / "prometheus/rules/alerts.yml").read_text())
    return {rule["alert"]: rule for group in doc["groups"] for rule in group["rules"]}


def test_rule_files_pass_promtool_lint_fatal(tree):
    files = sorted((tree / "prometheus/rules").glob("*.yml"))
    assert len(files) >= 2
    assert toolchain.check_rules(files) == []


def test_promtool_lint_catches_a_duplicate_rule(tmp_path):
    dup = tmp_path / "dup.yml"
    rule = {"record": "job:x:rate5m", "expr": "sum by (job) (rate(up[5m]))"}
    dup.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [rule, rule]}]}))
    assert any("duplicate" in f.message for f in toolchain.check_rules([dup]))


# Beyond the seed: what the real exporters taught us (issue "the exporter side").
MORE_ALERTS = {"P1": {"RedisDown"}, "P2": {"LongRunningTransaction", "RedisMissRateHigh"}}


def test_the_eleven_seed_alerts_with_their_severities(stack, tree):
    rules = _rules(tree)
    for severity, names in {**SEED_ALERTS}.items():
        for name in names | MORE_ALERTS.get(severity, set()):
            assert rules[name]["labels"]["severity"] == severity, name
    declared = {name for names in SEED_ALERTS.values() for name in names} | {n for names in MORE_ALERTS.values() for n in names}
    meta = {a.name for a in stack.all_alerts if a.derived_from}
    assert set(rules) == declared | meta


def test_every_alert_follows_the_conventions(stack, tree):
    reasons = {a.name: a.no_for_reason for a in stack.all_alerts}
    for name, rule in _rules(tree).items():
        annotations = rule["annotations"]
        assert annotations["summary"].endswith("."), name
        assert "{{ $" in annotations["description"], name
        assert annotations["runbook_url"].startswith("https://"), name
        assert rule.get("for") or reasons[name], name
        assert rule["labels"]["service"], name
        assert annotations["dashboard_url"].startswith("https://grafana.sergas-agents.com/d/sergas-"), name


def test_seed_thresholds(tree):
    rules = _rules(tree)
    assert rules["HighErrorRate"]["expr"].rstrip().endswith("> 0.05")
    assert "< 0.10\n" in rules["DiskSpaceLow"]["expr"] and "node_filesystem_readonly == 0" in rules["DiskSpaceLow"]["expr"]
    assert rules["HighConnectionUtilization"]["expr"].rstrip().endswith("> 0.8")
    assert rules["SlowQueries"]["expr"].rstrip().endswith("> 5")
    assert rules["HighApprovalTimeoutRate"]["expr"].rstrip().endswith("> 0.05")
    assert rules["ApproachingMaxCapacity"]["expr"].rstrip().endswith("> 0.8")


def test_every_alert_has_a_firing_and_a_quiet_generated_test(tree):
    doc = yaml.safe_load((tree / "prometheus/tests/alerts.test.yml").read_text())
    names = [t["name"] for t in doc["tests"]]
    for alert in _rules(tree):
        assert f"{alert} fires" in names and f"{alert} stays quiet" in names
    fires = [t for t in doc["tests"] if t["name"].endswith(" fires")]
    assert all(t["alert_rule_test"][0]["exp_alerts"] for t in fires)


def test_generated_unit_tests_pass_in_promtool(tree):
    assert toolchain.run_rule_tests(tree / "prometheus/tests/alerts.test.yml") == []


def test_a_wrong_expectation_fails_promtool(tree, tmp_path):
    """The generated tests are not vacuous: one changed expected annotation fails."""
    test_dir = tmp_path / "prometheus" / "tests"
    test_dir.mkdir(parents=True)
    rules_dir = tmp_path / "prometheus" / "rules"
    rules_dir.mkdir()
    for f in (tree / "prometheus/rules").glob("*.yml"):
        (rules_dir / f.name).write_text(f.read_text())
    doc = yaml.safe_load((tree / "prometheus/tests/alerts.test.yml").read_text())
    case = next(t for t in doc["tests"] if t["name"] == "HighErrorRate fires")
    case["alert_rule_test"][0]["exp_alerts"][0]["exp_annotations"]["description"] += " (changed)"
    doc["tests"] = [case]
    path = test_dir / "mutated.test.yml"
    path.write_text(yaml.safe_dump(doc))
    findings = toolchain.run_rule_tests(path)
    assert findings, "promtool accepted a wrong expected annotation"

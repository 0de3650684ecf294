"""The on-call catalog states what the compiled rules, routes and tests do, checked against them and amtool."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml

from sergas_observability import toolchain
from sergas_observability.compile.catalog import matches, percent_encoded, receivers_for
from sergas_observability.lint import lint_stack

ROOT = Path(__file__).resolve().parent.parent


def _alert_rules(tree: Path) -> dict[str, dict]:
    rules = {}
    for path in sorted((tree / "prometheus/rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rules[rule["alert"]] = rule
    return rules


def _sections(text: str) -> dict[str, str]:
    """alert name -> its section of alerts.md"""
    parts = re.split(r"^### ", text, flags=re.M)[1:]
    return {part.split("\n", 1)[0]: part.split("\n## ", 1)[0] for part in parts}


def test_every_compiled_alert_has_an_entry(tree):
    rules = _alert_rules(tree)
    sections = _sections((tree / "catalog/alerts.md").read_text())
    assert set(sections) == set(rules)  # declared, meta, batch, SLO and rollout alerts alike
    assert len(rules) > 40 and any(name.endswith("Regression") for name in rules) and any("BudgetBurn" in n for n in rules)
    for name, rule in rules.items():
        assert f"**for** {rule.get('for', '0s')}" in sections[name], name
        assert "```promql\n" + rule["expr"].rstrip() + "\n```" in sections[name], name


def test_routing_per_environment_is_what_amtool_says(stack, tree):
    sections = _sections((tree / "catalog/alerts.md").read_text())
    rules = _alert_rules(tree)
    asked: dict[tuple[str, tuple], list[str]] = {}
    for name, rule in rules.items():
        labels = dict(rule.get("labels", {}))
        found = re.search(r'service="([^"]+)"', rule["expr"])
        labels.setdefault("service", found.group(1) if found else "")
        labels["alertname"] = name
        for env in stack.environments:
            full = {**env.external_labels, **labels}
            key = (env.name, tuple(sorted((k, v) for k, v in full.items() if k != "alertname")))
            if key not in asked:
                asked[key] = toolchain.routes(tree / f"alertmanager/{env.name}/alertmanager.yml", full)
            line = re.search(rf"^- \*\*{env.name}\*\*: (.*)$", sections[name], flags=re.M).group(1)
            assert line.removesuffix(" (pages)").split(", ") == asked[key], (name, env.name)
            assert line.endswith("(pages)") == ("pagerduty" in asked[key]), (name, env.name)
    assert len(asked) >= 9  # more than one label set per environment was asked


def test_the_severity_matrix_is_what_amtool_says(stack, tree):
    text = (tree / "catalog/alerts.md").read_text()
    for severity in stack.severities:
        row = re.search(rf"^\| {severity.name} \| (.*) \|$", text, flags=re.M).group(1).split(" | ")
        for env, cell in zip(stack.environments, row):
            expected = toolchain.routes(tree / f"alertmanager/{env.name}/alertmanager.yml", {**env.external_labels, "severity": severity.name})
            assert cell.removesuffix(" (pages)").split(", ") == expected, (severity.name, env.name)
    production = next(e for e in stack.environments if e.paging)
    assert "(pages)" in re.search(r"^\| P0 \|.*$", text, flags=re.M).group(0)  # P0 pages in production
    assert production.name == "production"


def test_the_route_walk_follows_alertmanagers_rules(tree):
    config = yaml.safe_load((tree / "alertmanager/production/alertmanager.yml").read_text())
    assert receivers_for(config["route"], {"severity": "P0"}) == toolchain.routes(
        tree / "alertmanager/production/alertmanager.yml", {"severity": "P0"})
    assert receivers_for(config["route"], {"severity": "P9"}) == [config["route"]["receiver"]]
    assert matches(['severity=~"P1|P2"'], {"severity": "P2"}) and not matches(['severity=~"P1|P2"'], {"severity": "P0"})
    assert matches(['env!="staging"'], {"env": "production"}) and not matches(['a="x"', 'b="y"'], {"a": "x"})


def test_inhibitions_follow_the_severities(stack, tree):
    sections = _sections((tree / "catalog/alerts.md").read_text())
    rules = _alert_rules(tree)
    for name, rule in rules.items():
        severity = stack.severity(rule["labels"]["severity"])
        line = re.search(r"^- \*\*inhibits\*\* (.*); \*\*inhibited by\*\* (.*)$", sections[name], flags=re.M)
        inhibits, inhibited_by = line.groups()
        assert (inhibits == "nothing") == (not severity.inhibits), name
        for target in severity.inhibits:
            assert target in inhibits, name
        inhibitors = [s.name for s in stack.severities if severity.name in s.inhibits]
        assert (inhibited_by == "nothing") == (not inhibitors), name
        assert all(f'severity="{s}"' in inhibited_by for s in inhibitors), name


def test_latency_terms_are_the_validation_pass_figures(stack, tree):
    sections = _sections((tree / "catalog/alerts.md").read_text())
    figures = lint_stack(stack, promtool=False).latency
    assert figures
    for figure in figures:
        line = re.search(r"^- \*\*latency\*\* (.*)$", sections[figure.alert], flags=re.M).group(1)
        total = re.search(r"= \*\*(\S+)\*\*", line).group(1)
        from sergas_observability.model import duration_seconds

        assert duration_seconds(total) == figure.total, figure.alert
        assert f"worst in {figure.environment}" in line


def test_every_scenario_named_is_a_generated_test_of_that_alert(tree):
    sections = _sections((tree / "catalog/alerts.md").read_text())
    tests: dict[str, tuple[set[str], set[str]]] = {}
    for path in (tree / "prometheus/tests").glob("*.test.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for check in test.get("alert_rule_test", []):
                fires, quiet = tests.setdefault(check["alertname"], (set(), set()))
                (fires if check["exp_alerts"] else quiet).add(test["name"])
    for name, section in sections.items():
        listed = re.findall(r"^- fires: (.*?)(?: \(given .*\))?$", section, flags=re.M)
        assert listed and listed != ["(no generated scenario)"], name
        assert set(listed) <= tests[name][0], name  # each is a test that expects it to fire
        quiet = re.findall(r"^- stays quiet: (.*?)(?: \(given .*\))?$", section, flags=re.M)
        assert all(q in tests[name][1] for q in quiet if q != "(no generated scenario)"), name


def test_each_runbook_index_lists_the_alerts_pointing_at_it(stack, tree):
    rules = _alert_rules(tree)
    for runbook in stack.runbooks:
        page = (tree / f"catalog/runbooks/{runbook.name}.md").read_text()
        pointing = {n for n, r in rules.items() if r["annotations"]["runbook_url"].split("#")[0] == runbook.url}
        listed = set(re.findall(r"^### (\S+) \(", page, flags=re.M))
        assert listed == pointing, runbook.name
        for name in pointing:
            section = rules[name]["annotations"]["runbook_url"].partition("#")[2]
            if section:
                heading = page.index(f"## [{section}]({runbook.url}#{section})")
                assert heading < page.index(f"### {name} ("), name
        for link in re.findall(r"\(open in Prometheus\]\(([^)]+)\)", page):
            expr = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["g0.expr"][0]
            assert expr in {r["expr"] for r in rules.values()}
    assert any(runbook.sections for runbook in stack.runbooks)


def test_a_hand_written_file_is_never_overwritten(tmp_path):
    out = tmp_path / "out"
    generate = [sys.executable, "-m", "sergas_observability.cli", "generate", "--out", str(out)]
    assert subprocess.run(generate, cwd=ROOT, capture_output=True, text=True).returncode == 0
    mine = out / "catalog/runbooks/SCALING.md"
    (out / "catalog/runbooks/SCALING.md").unlink()
    mine.write_text("# Scaling, by hand\n")
    # The manifest lists it as generate's: replace the manifest line's owner by moving it away first.
    manifest = out / ".sergas-obs-manifest"
    manifest.write_text("".join(line for line in manifest.read_text().splitlines(keepends=True) if "catalog/runbooks/SCALING.md" not in line))
    result = subprocess.run(generate, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "would overwrite are not in its .sergas-obs-manifest (catalog/runbooks/SCALING.md)" in result.stderr
    assert mine.read_text() == "# Scaling, by hand\n"


def test_an_slo_tiers_latency_is_its_workbook_detection(stack, tree):
    from sergas_observability.model import duration_seconds

    sections = _sections((tree / "catalog/alerts.md").read_text())
    slo = next(s for s in stack.slos if s.name == "http-availability")
    for tier in slo.tiers:
        line = re.search(r"^- \*\*latency\*\* (.*)$", sections[slo.tier_alert_name(tier)], flags=re.M).group(1)
        detection = slo.error_budget * tier.rate_for(slo.period_seconds) * duration_seconds(tier.long)  # seconds, at 100 % errors
        shown = re.search(r"detection at a total outage (\S+)", line).group(1)
        assert abs(duration_seconds(shown) - detection) <= 1, (tier.long, line)
        terms = [duration_seconds(t) for t in re.findall(r"(?:scrape|evaluation|outage|group_wait) (\S+)", line)]
        assert duration_seconds(re.search(r"= \*\*(\S+)\*\*", line).group(1)) == pytest.approx(sum(terms), abs=1)


def test_percent_encoding_is_urllib_quote():
    """The graph links' fast path for ASCII text encodes exactly as urllib.parse.quote(safe='')."""
    for text in ("".join(map(chr, range(128))), 'sum(rate(x{a=~"5.."}[5m])) / 1e-09 > 0.5 % ~', "é{ü=\"ß\"} 漢", ""):
        assert percent_encoded(text) == urllib.parse.quote(text, safe="")

"""The victoriametrics output: the environment-scoped rules as vmalert loads them, and its flags.

vmalert itself judges the files (`vmalert -dryRun`); the live central view
against a real VictoriaMetrics is tests/e2e/test_central_vm.py.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sergas_observability import toolchain
from sergas_observability.compile.distributed import vmalert_flags, vmalert_problem
from sergas_observability.lint import ensure_valid
from sergas_observability.model import CentralMetrics
from sergas_observability.promql import selectors

ROOT = Path(__file__).resolve().parent.parent


def _dry_run(pattern: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([toolchain.binary("vmalert"), "-dryRun", f"-rule={pattern}", "-loggerLevel=ERROR"],
                          capture_output=True, text=True, timeout=120)


def test_vmalert_loads_every_environments_rules_and_refuses_the_thanos_and_mimir_files(stack, tree):
    shipped = stack.central.environments
    assert sorted(p.name for p in (tree / "victoriametrics/rules").iterdir()) == sorted(shipped)
    for env in shipped:
        result = _dry_run(f"{tree}/victoriametrics/rules/{env}/*.yml")
        assert result.returncode == 0, result.stderr[-2000:]
        assert toolchain.check_vmalert_rules(tree / "victoriametrics/rules" / env) == []
    # Why an output of its own: vmalert refuses the other rulers' extra keys.
    assert "partial_response_strategy" in _dry_run(f"{tree}/thanos/rules/production/*.yml").stderr
    assert "unknown fields in config: namespace" in _dry_run(f"{tree}/mimir/rules/production/*.yml").stderr


def test_the_scoped_rules_are_the_mimir_groups_and_name_their_environment(tree):
    for path in (tree / "victoriametrics/rules/production").glob("*.yml"):
        groups = yaml.safe_load(path.read_text())["groups"]
        assert groups == yaml.safe_load((tree / "mimir/rules/production" / path.name).read_text())["groups"]
        for group in groups:
            for rule in group["rules"]:
                assert rule["labels"]["env"] == "production"
                assert all(("env", "=", "production") in sel.matchers for sel in selectors(rule["expr"])), rule["expr"]


def test_vmalert_catches_a_broken_rule(tree, tmp_path):
    rules = tmp_path / "production"
    rules.mkdir()
    document = yaml.safe_load((tree / "victoriametrics/rules/production/alerts.yml").read_text())
    document["groups"][0]["rules"][0]["annotations"]["summary"] = "{{ $labels.x | nosuchfunction }}"
    (rules / "alerts.yml").write_text(yaml.safe_dump(document))
    findings = toolchain.check_vmalert_rules(rules)
    assert findings and "nosuchfunction" in " ".join(f.message for f in findings)


def test_the_flags_aim_vmalert_at_the_central_store_and_the_environments_alertmanagers(stack, tree):
    production = next(e for e in stack.environments if e.name == "production")
    args = shlex.split((tree / "victoriametrics/production/vmalert.default").read_text().split('ARGS="', 1)[1].rsplit('"', 1)[0])
    assert args == vmalert_flags(stack, production)
    central = stack.central.query_url
    assert f"-datasource.url={central}" in args and f"-remoteRead.url={central}" in args
    assert f"-remoteWrite.url={stack.central.remote_write_url.removesuffix('/api/v1/write')}" in args  # vmalert adds the path
    assert [a for a in args if a.startswith("-notifier.url=")] == [f"-notifier.url=http://{a}" for a in production.alertmanagers]
    assert "-rule=/etc/vmalert/generated/rules/production/*.yml" in args
    assert not (tree / "victoriametrics/development").exists()  # development ships nothing centrally


@pytest.mark.parametrize("central, reason", [
    (CentralMetrics(remote_write_url="https://mimir.example/api/v1/push", query_url="https://mimir.example/prometheus",
                    environments=("production",)), "is no such endpoint"),
    (CentralMetrics(remote_write_url="https://vm.example/api/v1/write", query_url="https://vm.example",
                    environments=("production",), tenant="a"), "sends no tenant header"),
])
def test_a_store_vmalert_cannot_use_leaves_the_output_empty_and_says_why(stack, central, reason):
    other = ensure_valid(type(stack)(**{**dict(stack), "central": central}))
    assert reason in vmalert_problem(other)
    from sergas_observability.compile import compile_stack

    assert not [p for p in compile_stack(other, ["victoriametrics"]) if p.startswith("victoriametrics/")]


def test_check_runs_vmalert_on_the_victoriametrics_output(tmp_path):
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "sergas_observability.cli"]
    assert subprocess.run([*cli, "generate", "--output", "victoriametrics", "--out", str(out)], cwd=ROOT).returncode == 0
    result = subprocess.run([*cli, "check", "--output", "victoriametrics", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "vmalert: all generated files are valid" in result.stdout, result.stdout + result.stderr
    broken = out / "victoriametrics/rules/production/alerts.yml"
    broken.write_text(broken.read_text().replace("expr: ", "expr: sum by (( ", 1))
    result = subprocess.run([*cli, "check", "--output", "victoriametrics", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1 and "vmalert" in result.stdout

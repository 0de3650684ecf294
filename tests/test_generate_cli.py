"""`sergas-obs generate`: deterministic, atomic, drift-checked; bad definitions exit 2 with one line."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sergas_observability.output import read_tree, write_tree

ROOT = Path(__file__).resolve().parent.parent

GOOD = '''
from sergas_observability.model import *

metric = Metric(name="demo_requests_total", kind="counter", help="Requests.", labels=("route",))
{extra}
stack = Stack(
    name="demo",
    environments=(Environment(name="production", external_labels={{"env": "production"}}),),
    metrics=(metric,) + METRICS,
    scrape_jobs=(ScrapeJob(name="demo", targets={{"production": ("demo:9090",)}}),),
    receivers=RECEIVERS,
    severities=(Severity(name="P0", description="page", receivers=("slack",)),),
    default_receiver="slack",
    alerts=ALERTS,
)
'''
DEFAULTS = {
    "METRICS": "()",
    "RECEIVERS": '(SlackReceiver(name="slack", api_url_file="/run/secrets/slack", channel="#a"),)',
    "ALERTS": "()",
}


def _alert(**overrides: str | None) -> str:
    fields: dict[str, str | None] = {
        "name": '"DemoDown"', "expr": '"up == 0"', "for_": '"5m"', "severity": '"P0"', "service": '"demo"',
        "summary": '"Demo is down."', "description": '"{{ $labels.instance }} is down."',
        "runbook_url": '"https://runbooks.example.com/demo"', **overrides,
    }
    return "Alert(" + ", ".join(f"{k}={v}" for k, v in fields.items() if v is not None) + ")"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sergas_observability.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _write_defs(tmp_path: Path, extra: str = "", **names: str) -> None:
    values = {**DEFAULTS, **names}
    body = GOOD.format(extra=extra).replace("METRICS", values["METRICS"]).replace("RECEIVERS", values["RECEIVERS"]).replace("ALERTS", values["ALERTS"])
    (tmp_path / "demo_defs.py").write_text(textwrap.dedent(body))


def test_generate_is_byte_identical_across_runs(tmp_path):
    first = _cli("generate", "--out", str(tmp_path / "a"), cwd=ROOT)
    second = _cli("generate", "--out", str(tmp_path / "b"), cwd=ROOT)
    assert first.returncode == second.returncode == 0, first.stderr
    a, b = read_tree(tmp_path / "a"), read_tree(tmp_path / "b")
    assert a == b and len(a) > 10


def test_committed_generated_tree_is_up_to_date():
    result = _cli("generate", "--check", cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


def test_check_reports_drift_with_a_diff_and_writes_nothing(tmp_path):
    out = tmp_path / "gen"
    assert _cli("generate", "--out", str(out), cwd=ROOT).returncode == 0
    target = out / "prometheus/production/prometheus.yml"
    target.write_text(target.read_text().replace("scrape_interval: 15s", "scrape_interval: 30s", 1))
    (out / "stray.yml").write_text("hand: edit\n")  # not generate's: not drift, and kept
    with (out / ".sergas-obs-manifest").open("a") as manifest:  # an owned file that is no longer generated
        manifest.write("stale.yml\n")
    (out / "stale.yml").write_text("old: output\n")
    before = read_tree(out)
    result = _cli("generate", "--check", "--out", str(out), cwd=ROOT)
    assert result.returncode == 1
    assert "-  scrape_interval: 30s" in result.stdout and "+  scrape_interval: 15s" in result.stdout
    assert "stray.yml" not in result.stdout
    assert "--- a/stale.yml\n+++ /dev/null" in result.stdout
    assert (out / "stray.yml").read_text() == "hand: edit\n"
    assert read_tree(out) == before


def test_every_generated_text_file_says_do_not_edit(tmp_path):
    out = tmp_path / "gen"
    assert _cli("generate", "--out", str(out), cwd=ROOT).returncode == 0
    for rel, text in read_tree(out).items():
        if rel.endswith((".yml", ".yaml", ".default", ".py")):
            assert "do not edit" in text.splitlines()[0], rel


BAD = [
    ("unknown severity", {"ALERTS": "(" + _alert(severity='"P7"') + ",)"},
     ["Alert 'DemoDown' field 'severity': unknown severity 'P7' (known: P0)"]),
    ("inline secret", {"RECEIVERS": '(SlackReceiver(name="slack", api_url="https://hooks.example.com/x", channel="#a"),)'},
     ["Receiver 'slack': inline secret 'api_url' is not allowed"]),
    ("several mistakes at once", {"METRICS": '(Metric(name="demo_errors", kind="counter", help="Errors."),)',
                                "ALERTS": "(" + _alert(severity='"P7"', runbook='"x"', runbook_url=None) + ",)"},
     ["Metric 'demo_errors' field 'name': counter 'demo_errors' must end with _total",
      "Alert 'DemoDown' field 'runbook': unknown field (did you mean 'runbook_url'?)"]),
]


@pytest.mark.parametrize("case,names,expected", BAD, ids=[c[0] for c in BAD])
def test_bad_definitions_exit_2_with_their_lines_and_leave_output_untouched(tmp_path, case, names, expected):
    """As a real process; the whole table of mistakes is tests/test_bad_definitions.py."""
    out = tmp_path / "generated"
    _write_defs(tmp_path)
    ok = _cli("generate", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    before = read_tree(out)
    assert before

    _write_defs(tmp_path, **names)
    result = _cli("generate", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == len(expected), result.stderr
    for line, message in zip(lines, expected):
        assert message in line and line.startswith("error: demo_defs.py:"), line  # file and line at fault
    assert result.stderr.splitlines()[-1] == f"{len(expected)} error(s), 0 warning(s) in the definitions: nothing written."
    assert read_tree(out) == before


def test_syntax_error_in_definitions_is_one_line(tmp_path):
    (tmp_path / "broken_defs.py").write_text("stack = (\n")
    result = _cli("generate", "--definitions", "broken_defs", "--out", str(tmp_path / "g"), cwd=tmp_path)
    assert result.returncode == 2 and "SyntaxError" in result.stderr and "Traceback" not in result.stderr


def test_missing_definitions_module(tmp_path):
    result = _cli("generate", "--definitions", "nowhere", cwd=tmp_path)
    assert result.returncode == 2 and "no definitions module 'nowhere'" in result.stderr


def test_a_failed_write_leaves_the_previous_tree(tmp_path):
    out = tmp_path / "generated"
    write_tree({"a.yml": "old\n"}, out)
    with pytest.raises(Exception):
        write_tree({"b.yml": "new\n", "bad\0name.yml": "x"}, out)
    assert read_tree(out) == {"a.yml": "old\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generated"]  # no staging left behind


def test_help_everywhere():
    for args in ([], ["generate"], ["check"]):
        result = _cli(*args, "--help", cwd=ROOT)
        assert result.returncode == 0 and "Usage:" in result.stdout


@pytest.mark.slow
def test_check_command_validates_the_tree(tmp_path):
    out = tmp_path / "gen"
    assert _cli("generate", "--out", str(out), cwd=ROOT).returncode == 0
    # The SLO unit tests replay days of samples and are proven in test_slo_rules.py;
    # here only the command's verdicts matter.
    for slow in (out / "prometheus/tests").glob("slo-*.yml"):
        slow.unlink()
    assert _cli("check", "--out", str(out), cwd=ROOT).returncode == 0
    rules = out / "prometheus/rules/alerts.yml"
    rules.write_text(rules.read_text().replace("expr: pg_up", "expr: rate(pg_up", 1))
    result = _cli("check", "--out", str(out), cwd=ROOT)
    assert result.returncode == 1 and "alerts.yml" in result.stdout


def test_generate_never_writes_over_a_foreign_directory(tmp_path):
    _write_defs(tmp_path)
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "values.yaml").write_text("replicas: 3\n")
    result = _cli("generate", "--definitions", "demo_defs", "--out", str(deploy), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "values.yaml" in line
    assert sorted(p.name for p in deploy.iterdir()) == ["values.yaml"]


def test_generate_refuses_the_project_root_and_the_definitions(tmp_path):
    _write_defs(tmp_path)
    package = tmp_path / "monitoring"
    package.mkdir()
    (package / "__init__.py").write_text((tmp_path / "demo_defs.py").read_text())
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if "__pycache__" not in p.parts)
    for module, out in (("demo_defs", "."), ("monitoring", "monitoring"), ("monitoring", str(tmp_path.parent))):
        result = _cli("generate", "--definitions", module, "--out", out, cwd=tmp_path)
        assert result.returncode == 2, (out, result.stdout, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: "), result.stderr
    after = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if "__pycache__" not in p.parts)
    assert after == before


def test_a_hand_written_file_in_the_output_survives_regeneration(tmp_path):
    _write_defs(tmp_path)
    out = tmp_path / "generated"
    assert _cli("generate", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path).returncode == 0
    (out / "NOTES.md").write_text("kept\n")
    assert _cli("generate", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path).returncode == 0
    assert (out / "NOTES.md").read_text() == "kept\n"
    assert _cli("generate", "--check", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path).returncode == 0


def test_an_internal_error_is_one_line_and_exit_3(tmp_path, monkeypatch):
    """A bug in a compiler (here one made to fail) is never a traceback, unless --debug."""
    from click.testing import CliRunner

    from sergas_observability.cli import main
    from sergas_observability.compile import compose

    def broken(stack):
        raise RuntimeError("compose compiler bug")

    _write_defs(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(compose, "compile", broken)
    result = CliRunner().invoke(main, ["generate", "--definitions", "demo_defs", "--out", "out"])
    assert result.exit_code == 3
    assert result.stderr.splitlines() == ["internal error in compile: RuntimeError: compose compiler bug"]
    assert not (tmp_path / "out").exists()
    debug = CliRunner().invoke(main, ["--debug", "generate", "--definitions", "demo_defs", "--out", "out"])
    assert isinstance(debug.exception, RuntimeError)


def test_check_starts_the_longest_replay_first(tree):
    """A rule test's cost is its evaluation steps, not its size: the days files (a few lines
    replaying days at 5m) go before the minute-by-minute timing files (long lists of checks)."""
    from functools import partial

    from sergas_observability.toolchain import _cost, run_rule_tests

    tests = tree / "prometheus/tests"
    cost = {p.name: _cost(partial(run_rule_tests, p)) for p in tests.glob("*.test.yml")}
    days, timing = "slo-sergas-app-http-availability.days.test.yml", "slo-sergas-app-http-availability.timing.test.yml"
    assert (tests / days).stat().st_size < (tests / timing).stat().st_size / 10
    assert cost[days] > cost[timing] > cost["slo-sergas-app-http-availability.test.yml"] > 0


BROKEN_COMPILER = '''
import sergas_observability.compile.instrumentation as broken  # one the validation pass does not run
def _compile(stack):
    raise ZeroDivisionError("the compiler broke")
broken.compile = _compile
'''


@pytest.mark.parametrize("mistake", [False, True], ids=["valid", "invalid"])
def test_a_compiler_that_raises_is_reported_only_for_a_stack_that_validates(tmp_path, mistake):
    """generate compiles while the validation pass runs beside it: a compiler failing on a stack
    the pass refuses is not news (compilers may assume a valid stack), the findings are."""
    names = {"ALERTS": "(" + _alert(severity='"P7"') + ",)"} if mistake else {}
    _write_defs(tmp_path, extra=BROKEN_COMPILER, **names)
    result = _cli("generate", "--definitions", "demo_defs", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert "Traceback" not in result.stderr
    if mistake:
        assert result.returncode == 2, result.stderr
        assert "unknown severity 'P7'" in result.stderr and "broke" not in result.stderr
    else:
        assert result.returncode == 3, result.stderr
        assert result.stderr.strip() == "internal error in compile: ZeroDivisionError: the compiler broke"
    assert not (tmp_path / "out").exists()

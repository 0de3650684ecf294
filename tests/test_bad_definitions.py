"""The table of bad definitions: each mistake gives exactly its error lines, exit 2,
no traceback, and a byte-identical output tree; `lint` agrees with `generate`.

The CLI runs in-process (click's runner) for speed; `test_generate_cli.py`
runs it as a real process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from bad_definitions import CASES, GOOD, WARNINGS, apply, line_of
from click.testing import CliRunner

from sergas_observability.cli import main
from sergas_observability.lint import RULES

MODULE = "demo_defs"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project directory with the clean definitions and their generated tree."""
    root = tmp_path_factory.mktemp("project")
    return root


@pytest.fixture
def cli(project, monkeypatch):
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # the file changes faster than .pyc timestamps
    monkeypatch.syspath_prepend(str(project))
    runner = CliRunner()

    def run(text: str, *args: str):
        (project / f"{MODULE}.py").write_text(text)
        return runner.invoke(main, [*args, "--definitions", MODULE], catch_exceptions=True)

    return run


@pytest.fixture
def generated(project, cli):
    out = project / "generated"
    if not out.exists():
        result = cli(GOOD, "generate", "--out", str(out))
        assert result.exit_code == 0, result.output
    return out


def _expected(text: str, expected: list[tuple[str, str]], level: str = "error") -> list[str]:
    return [f"{level}: {MODULE}.py:{line_of(text, marker)}: {message}" for marker, message in expected]


def _lines(output: str, level: str = "error") -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{level}:")]


def test_the_clean_definitions_generate_and_lint_clean(cli, generated):
    lint = cli(GOOD, "lint")
    assert lint.exit_code == 0, lint.output
    assert "0 error(s), 0 warning(s), 0 silenced." in lint.output
    assert (generated / ".sergas-obs-manifest").is_file()


@pytest.mark.parametrize("case, edits, expected, rules", CASES, ids=[c[0] for c in CASES])
def test_a_mistake_gives_its_lines_exit_2_and_touches_nothing(cli, generated, case, edits, expected, rules):
    text = apply(edits)
    before = _snapshot(generated)
    result = cli(text, "generate", "--out", str(generated))
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.output
    assert _lines(result.stderr) == _expected(text, expected), result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"{len(expected)} error(s)")
    assert _snapshot(generated) == before

    lint = cli(text, "lint")
    assert lint.exit_code == 2, lint.output
    assert _lines(lint.stdout) == _lines(result.stderr)  # lint and generate agree


@pytest.mark.parametrize("case, edits, expected, rules", WARNINGS, ids=[c[0] for c in WARNINGS])
def test_a_likely_mistake_warns_and_generates(cli, project, case, edits, expected, rules, tmp_path):
    text = apply(edits)
    result = cli(text, "generate", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert _lines(result.stderr, "warning") == _expected(text, expected, "warning")
    assert (tmp_path / "out" / ".sergas-obs-manifest").is_file()


def test_the_table_is_large_and_names_real_rules():
    assert len(CASES) >= 80
    assert len({c[0] for c in CASES}) == len(CASES)
    for case, _, expected, rules in CASES + WARNINGS:
        assert len(rules) == len(expected), case
        assert set(rules) <= set(RULES), case


def test_a_misspelt_definitions_module_is_one_line(cli):
    result = CliRunner().invoke(main, ["generate", "--definitions", "nowhere"])
    assert result.exit_code == 2
    assert _lines(result.stderr) == [f"error: no definitions module 'nowhere' under {Path.cwd()}"]

"""Golden output of stacks that are not Sergas (Sloth's testdata style).

Each stack in tests/fixtures/stacks/ is compiled by the real CLI and must
give exactly the files in tests/golden/<stack>/: a change to a compiler shows
up as a diff of these files, which a reviewer reads. After an intended
change, rewrite them with

    SERGAS_OBS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py

and review `git diff tests/golden`.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sergas_observability.output import read_tree

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "stacks"
GOLDEN = HERE / "golden"
STACKS = {"checkout": "checkout_monitoring", "ledger": "ledger_monitoring"}
# The tool's own name may appear (headers, the runtime's provenance); a first user's may not.
TOOL_NAMES = re.compile(r"sergas[-_]obs(ervability)?", re.IGNORECASE)


def _generate(module: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sergas_observability.cli", "generate", "--definitions", module, "--out", str(out)],
        cwd=FIXTURES, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module", params=sorted(STACKS))
def generated(request, tmp_path_factory) -> tuple[str, Path]:
    name = request.param
    out = tmp_path_factory.mktemp(name) / "out"
    result = _generate(STACKS[name], out)
    assert result.returncode == 0, result.stderr
    assert "warning:" not in result.stderr, result.stderr
    if os.environ.get("SERGAS_OBS_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN / name, ignore_errors=True)
        shutil.copytree(out, GOLDEN / name)
    return name, out


def test_output_matches_the_golden_files(generated):
    name, out = generated
    actual, expected = read_tree(out), read_tree(GOLDEN / name)
    assert expected, f"no golden files for {name}: run with SERGAS_OBS_UPDATE_GOLDEN=1"
    assert sorted(actual) == sorted(expected), "files differ: " + ", ".join(sorted(set(actual) ^ set(expected)))
    changed = [path for path in sorted(actual) if actual[path] != expected[path]]
    diff = "".join(
        line for path in changed[:3]
        for line in difflib.unified_diff(expected[path].splitlines(True), actual[path].splitlines(True), f"golden/{path}", f"now/{path}")
    )
    assert not changed, f"{len(changed)} file(s) differ from tests/golden/{name}/ (first diffs below)\n{diff}"


def test_no_first_user_name_in_another_stack(generated):
    _, out = generated
    for path, text in read_tree(out).items():
        rest = TOOL_NAMES.sub("", path + "\n" + text)
        assert "sergas" not in rest.lower(), f"{path} names Sergas"


@pytest.mark.slow
def test_the_golden_trees_pass_promtool_and_amtool(generated):
    name, out = generated
    result = subprocess.run(
        [sys.executable, "-m", "sergas_observability.cli", "check", "--definitions", STACKS[name], "--out", str(out)],
        cwd=FIXTURES, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr

"""promtool and amtool, run through subprocess, their verdicts as findings.

Judged by exit codes (rules are checked with `--lint=all --lint-fatal`, since a
duplicate-rule lint otherwise exits 0). Output lines become Findings with the
file, and the line where the tool names one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from .model.base import duration_seconds

if TYPE_CHECKING:
    from .model import Stack

INSTALL_HINT = "install them with: apt-get install -y --no-install-recommends prometheus prometheus-alertmanager"
_LOCATED = re.compile(r"^(?P<file>[^\s:]+):\s*(?P<line>\d+):(?:\d+:)?\s*(?P<message>.*)$")
_NOISE = re.compile(r"^(Checking\b|\s*SUCCESS\b|Unit Testing:|Found:|\s*-\s|Warning: --config.file flag)")


class ToolMissing(RuntimeError):
    """promtool or amtool is not installed."""


@dataclass(frozen=True)
class Finding:
    tool: str
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.tool}: {self.message}"


# The Debian package of each tool that is not in INSTALL_HINT's.
_PACKAGES = {"vmalert": "victoria-metrics"}


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        hint = f"install it with: apt-get install -y --no-install-recommends {_PACKAGES[name]}" if name in _PACKAGES else INSTALL_HINT
        raise ToolMissing(f"{name} not found on PATH; {hint}")
    return path


def run(
    tool: str, args: Sequence[str], stdin: str | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary(tool), *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False
    )


def _findings(tool: str, file: str, proc: subprocess.CompletedProcess[str]) -> list[Finding]:
    if proc.returncode == 0:
        return []
    found = []
    for raw in (proc.stdout + "\n" + proc.stderr).splitlines():
        line = raw.strip()
        if not line or _NOISE.match(raw) or line in ("FAILED:", "FAILED"):
            continue
        line = line.removeprefix("FAILED:").strip()
        located = _LOCATED.match(line)
        if located:
            found.append(Finding(tool, located["file"], int(located["line"]), located["message"]))
        else:
            found.append(Finding(tool, file, None, line))
    return found or [Finding(tool, file, None, f"exited {proc.returncode}")]


def check_config(path: Path) -> list[Finding]:
    return _findings("promtool", str(path), run("promtool", ["check", "config", "--lint=all", "--lint-fatal", str(path)]))


def check_rules(paths: Iterable[Path]) -> list[Finding]:
    files = [str(p) for p in paths]
    return _findings("promtool", " ".join(files), run("promtool", ["check", "rules", "--lint=all", "--lint-fatal", *files]))


def run_rule_tests(path: Path) -> list[Finding]:
    # Rule files in a test are relative to the test file: run from its folder.
    # SLO tests replay days of 1-minute samples: ~30 s each, more on a busy machine.
    proc = run("promtool", ["test", "rules", path.name], cwd=path.parent, timeout=900)
    return _findings("promtool", str(path), proc)


def check_vmalert_rules(rules_dir: Path) -> list[Finding]:
    """vmalert's own parse and validation of a directory of rule files (expressions, templates)."""
    proc = run("vmalert", ["-dryRun", f"-rule={rules_dir}/*.yml", "-loggerLevel=ERROR"])
    if proc.returncode == 0:
        return []
    lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    return [Finding("vmalert", str(rules_dir), None, line) for line in lines[-5:]]


def check_metrics(exposition: str) -> list[Finding]:
    return _findings("promtool", "<metrics>", run("promtool", ["check", "metrics"], stdin=exposition))


def check_alertmanager(path: Path) -> list[Finding]:
    return _findings("amtool", str(path), run("amtool", ["check-config", str(path)]))


def routes(path: Path, labels: dict[str, str]) -> list[str]:
    """The receivers an alert with `labels` reaches, in order."""
    proc = run("amtool", ["config", "routes", "test", f"--config.file={path}", *(f"{k}={v}" for k, v in labels.items())])
    if proc.returncode != 0:
        raise RuntimeError(f"amtool config routes test failed: {proc.stderr.strip()}")
    return proc.stdout.strip().split(",") if proc.stdout.strip() else []


def verify_routes(path: Path, labels: dict[str, str], receivers: Sequence[str]) -> list[Finding]:
    args = ["config", "routes", "test", f"--config.file={path}", f"--verify.receivers={','.join(receivers)}"]
    proc = run("amtool", [*args, *(f"{k}={v}" for k, v in labels.items())])
    return _findings("amtool", str(path), proc)


# The outputs (compile.OUTPUTS) whose files promtool and amtool check.
CHECKED_OUTPUTS = ("prometheus", "alertmanager", "victoriametrics")


def validate_tree(stack: "Stack", out_dir: Path, outputs: Iterable[str] = CHECKED_OUTPUTS) -> list[Finding]:
    """Every check promtool and amtool can make of a generated tree, for the chosen `outputs`.

    The files of outputs not chosen are not looked at (generate did not
    write them). The checks are independent processes, so they run side by
    side (the SLO rule tests dominate); findings keep the order of the checks.
    """
    chosen = set(outputs)
    checks: list[partial[list[Finding]]] = []
    for env in stack.environments:
        if "prometheus" in chosen:
            checks.append(partial(check_config, out_dir / "prometheus" / env.name / "prometheus.yml"))
        if "alertmanager" in chosen:
            checks.append(partial(check_alertmanager, out_dir / "alertmanager" / env.name / "alertmanager.yml"))
    if "prometheus" in chosen:
        rule_files = sorted((out_dir / "prometheus" / "rules").glob("*.yml"))
        if rule_files:
            checks.append(partial(check_rules, rule_files))
        for test_file in sorted((out_dir / "prometheus" / "tests").glob("*.yml")):
            checks.append(partial(run_rule_tests, test_file))
    if "victoriametrics" in chosen:
        for env_dir in sorted((out_dir / "victoriametrics" / "rules").glob("*/")):
            checks.append(partial(check_vmalert_rules, env_dir))
    # Longest first, so the last check to start is a short one.
    order = sorted(range(len(checks)), key=lambda i: -_cost(checks[i]))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        done = dict(zip(order, pool.map(lambda i: checks[i](), order)))
    return [finding for i in range(len(checks)) for finding in done[i]]


_EVAL_TIME = re.compile(r"^\s*(?:- )?eval_time: *'?([0-9a-z]+)", re.M)
_EVERY = re.compile(r"^evaluation_interval: *([0-9a-z]+)", re.M)
_TEST = re.compile(r"^- ", re.M)


def _cost(check: partial[list[Finding]]) -> float:
    """A rule test's evaluation steps: promtool evaluates every rule at every step up to
    each test's last eval_time, so that is its cost (a file's size is not: a days-long
    replay is a few lines)."""
    if check.func is not run_rule_tests:
        return 0.0
    (path,) = check.args
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return 0.0
    every = _EVERY.search(text)
    step = duration_seconds(every.group(1)) if every else 60.0
    tests = _TEST.split(text.split("\ntests:", 1)[-1])
    return sum(max((duration_seconds(t) for t in _EVAL_TIME.findall(test)), default=0.0) for test in tests) / max(step, 1.0)

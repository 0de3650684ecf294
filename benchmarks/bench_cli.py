"""What a user runs, timed as whole processes: `sergas-obs generate` and `check`.

The project is the one benchmarks/scale_project.py builds: the 1,000-SLO Sloth
scale spec imported with `sergas-obs import sloth` into a minimal Stack. Every
figure is a fresh process started from here, its start-up and imports
included, and each is given as a ratio against a baseline measured in the
same run, so a slow or busy machine moves both sides:

- `python -c pass` (interpreter start) and `sergas-obs --help` (the CLI's own
  import) are the baselines of the generate rows;
- `sergas-obs generate` into an empty directory; after one SLO's objective
  changed (the edit loop: the tree is rewritten, with the change summary);
  over the unchanged tree (nothing is written); and `generate --check` on
  that tree; the rounds interleave (baselines, first write, edit, unchanged,
  --check) so drift hits all of them alike, and ratios are the median of the
  per-round ratios;
- `sergas-obs check` (promtool and amtool over the tree, the SLO rule tests
  included), whose baseline is `promtool check rules` over the same rule
  files with the same flags: the floor any check of these rules must pay.

Each timed process starts after `sync` (the previous run's writes flushed,
untimed) with Python's default bytecode caching (PYTHONDONTWRITEBYTECODE,
which this machine sets, is cleared for it).

Reported: wall median and best, peak RSS of the largest process (GNU time's
%M, which covers the children the command reaped, promtool included; every
command, baselines too, is started through /usr/bin/time when present), files
and MB written. Sloth's figure for the same spec is quoted from
../shared/anchors/README.md (measured on this kind of machine, not in this
run) with the ratio ours/Sloth marked as such. This is the benchmark the
README's CLI figures cite (`--update-readme` writes them there).

    .venv/bin/python benchmarks/bench_cli.py [--slos N] [--runs N] [--skip-check] [--update-readme]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

import readme_block
import scale_project

ROOT = scale_project.ROOT
OUT = "out"
DEFINITIONS = ("--definitions", scale_project.PACKAGE, "--out", OUT)
# ../shared/anchors/README.md: Sloth v0.16.0, generate 1,000 SLOs over 100 services, whole process.
SLOTH_SLOS, SLOTH_WALL, SLOTH_PEAK_MB = 1000, (0.49, 0.50), 105
# The flags sergas_observability.toolchain.check_rules gives promtool.
PROMTOOL_RULES = ("check", "rules", "--lint=all", "--lint-fatal")
# GNU time reports the peak of the command alone; a child forked from this
# interpreter would start its high-water mark at this interpreter's size.
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


@dataclass(frozen=True)
class Run:
    wall: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Row:
    label: str
    runs: list[Run]

    @property
    def walls(self) -> list[float]:
        return [run.wall for run in self.runs]

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak_mb(self) -> float:
        return max(run.peak_mb for run in self.runs)

    @property
    def failed(self) -> list[int]:
        return sorted({run.returncode for run in self.runs if run.returncode != 0})


# Python's default: bytecode is cached (this machine's environment turns that off,
# which would compile the 1,000-SLO definitions file again in every run).
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def run_once(command: list[str], cwd: Path) -> Run:
    """One fresh process: wall seconds, peak RSS (MB) of it and the children it reaped, its exit and output.

    The disk's queue is flushed first (not timed): the previous run's 50 MB of
    writes would otherwise throttle this one's, which a user's runs, minutes apart, never see."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss:
        wrapped = [TIME, "-f", "%M", "-o", rss.name, *command] if TIME else command
        os.sync()
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, cwd=cwd, env=ENV, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak_kb = int(rss.read().split()[-1]) if TIME else usage.ru_maxrss
        out.seek(0), err.seek(0)
        return Run(wall, peak_kb / 1024, proc.returncode, out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"))


def paired_ratio(row: Row, baseline: Row) -> float:
    """Median of the round-by-round ratios row/baseline."""
    return statistics.median(a.wall / b.wall for a, b in zip(row.runs, baseline.runs))


def require_ok(run: Run, what: str) -> Run:
    if run.returncode != 0:
        sys.stderr.write(run.stdout[-2000:] + run.stderr[-2000:])
        raise SystemExit(f"error: {what} exited {run.returncode}")
    return run


def tree_size(out: Path) -> tuple[int, float]:
    """Files and MB under `out`."""
    files = [path for path in out.rglob("*") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files) / 1e6


def rule_files(project: Path) -> list[Path]:
    return sorted((project / OUT / "prometheus" / "rules").glob("*.yml"))


def count_rules(files: list[Path]) -> int:
    documents = (yaml.safe_load(path.read_text(encoding="utf-8")) or {} for path in files)
    return sum(len(group.get("rules") or []) for doc in documents for group in doc.get("groups") or [])


def generate_rows(project: Path, runs: int) -> tuple[Row, Row, list[Row]]:
    """The two baselines and the three generate rows, `runs` interleaved rounds after one warm-up."""
    sergas = scale_project.cli()
    commands = {
        "`python -c pass`": ([sys.executable, "-c", "pass"], None),
        "`sergas-obs --help`": ([sergas, "--help"], None),
        "`sergas-obs generate`, empty directory": ([sergas, "generate", *DEFINITIONS], "fresh"),
        "`sergas-obs generate`, one SLO objective changed": ([sergas, "generate", *DEFINITIONS], "edit"),
        "`sergas-obs generate`, unchanged tree (nothing written)": ([sergas, "generate", *DEFINITIONS], None),
        "`sergas-obs generate --check`, unchanged tree": ([sergas, "generate", *DEFINITIONS, "--check"], None),
    }
    # Warm-up, not counted: compiles thousand/slos.py to bytecode once, as a user's second run finds it.
    shutil.rmtree(project / OUT, ignore_errors=True)
    require_ok(run_once(commands["`sergas-obs generate`, empty directory"][0], project), "generate")
    rows = {label: Row(label, []) for label in commands}
    for _ in range(runs):
        for label, (command, prepare) in commands.items():
            if prepare == "fresh":
                shutil.rmtree(project / OUT)
            elif prepare == "edit":
                change_an_objective(project)
            rows[label].runs.append(require_ok(run_once(command, project), label))
    python, cli_help, *generate = rows.values()
    return python, cli_help, generate


def change_an_objective(project: Path) -> None:
    """Move the first SLO's objective by 0.05 (and back on the next call), as a reviewer's one-line edit."""
    path = project / scale_project.PACKAGE / "slos.py"
    text = path.read_text(encoding="utf-8")
    first = text.index("objective=")
    end = text.index(",", first)
    value = float(text[first + len("objective="):end])
    moved = value + 0.05 if round(value * 100) % 10 == 0 else value - 0.05
    path.write_text(f"{text[:first]}objective={moved:g}{text[end:]}", encoding="utf-8")


def check_rows(project: Path, runs: int) -> tuple[Row, Row]:
    """`promtool check rules` over the generated rule files (the floor) and `sergas-obs check`, in turn."""
    floor = Row("`promtool check rules`, the same rule files (baseline)", [])
    check = Row("`sergas-obs check` (promtool + amtool, rule tests included)", [])
    files = [str(path.relative_to(project)) for path in rule_files(project)]
    for _ in range(runs):
        floor.runs.append(run_once([shutil.which("promtool") or "promtool", *PROMTOOL_RULES, *files], project))
        check.runs.append(run_once([scale_project.cli(), "check", *DEFINITIONS], project))
    return floor, check


def cell(row: Row) -> str:
    exits = f" (exit {', '.join(map(str, row.failed))})" if row.failed else ""
    return f"| {row.label}{exits} | {row.median:.3f} | {min(row.walls):.3f} | {row.peak_mb:.0f}"


def sloth_row(first_write: Row, slos: int) -> str:
    low, high = SLOTH_WALL
    anchor = f"| Sloth v0.16.0 `generate`, same spec (anchor, not this run) | {low:.2f}–{high:.2f} | | {SLOTH_PEAK_MB}"
    if slos != SLOTH_SLOS:
        return f"{anchor} | ours/Sloth: n/a, the anchor is for {SLOTH_SLOS:,} SLOs |"
    time_ratio = f"{first_write.median / high:.1f}–{first_write.median / low:.1f}×"
    return f"{anchor} | ours/Sloth: {time_ratio} time, {first_write.peak_mb / SLOTH_PEAK_MB:.1f}× peak (vs an anchor, not this run) |"


def table(slos: int, python: Row, cli_help: Row, generate: list[Row], checks: tuple[Row, Row] | None) -> list[str]:
    lines = ["| whole process | median s | best s | peak MB | ratio (same run) |", "|---|---:|---:|---:|---|"]
    lines.append(f"{cell(python)} | baseline |")
    lines.append(f"{cell(cli_help)} | baseline; {paired_ratio(cli_help, python):.1f}× `python -c pass` |")
    for row in generate:
        lines.append(f"{cell(row)} | {paired_ratio(row, cli_help):.1f}× `--help`, {paired_ratio(row, python):.0f}× `python -c pass` |")
    lines.append(sloth_row(generate[0], slos))
    if checks is not None:
        floor, check = checks
        lines.append(f"{cell(floor)} | baseline |")
        lines.append(f"{cell(check)} | {paired_ratio(check, floor):.1f}× `promtool check rules` |")
    return lines


def notes(project: Path, slos: int, generate: list[Row], checks: tuple[Row, Row] | None, runs: int) -> list[str]:
    files, mb = tree_size(project / OUT)
    rules = rule_files(project)
    warnings = sum(line.startswith("warning:") for line in generate[0].runs[-1].stderr.splitlines())
    lines = [f"{slos:,} SLOs → {count_rules(rules):,} rules in {len(rules):,} rule files; each generate writes "
             f"{files:,} files, {mb:.1f} MB (the default outputs: no Stack.central, so no central-view rules), "
             f"and prints {warnings} `warning:` lines (tiny budgets)."]
    lines.append(f"Generate rows: median and best of {runs} interleaved rounds after one warm-up; "
                 f"{os.cpu_count()} cores; each process started after `sync`, bytecode cached (Python's default); "
                 f"peak = the largest process (generate validates in a forked copy of itself).")
    if checks is not None:
        tests = len(list((project / OUT / "prometheus" / "tests").glob("*.yml")))
        lines.append(f"`check` ran {tests:,} `promtool test rules` files besides `promtool check rules/config` and "
                     f"`amtool check-config`; {len(checks[1].runs)} run(s), each after its baseline.")
    return lines


def command_line(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python benchmarks/bench_cli.py", f"--slos {args.slos}", f"--runs {args.runs}"]
    if args.skip_check:
        parts.append("--skip-check")
    elif args.check_runs != 1:
        parts.append(f"--check-runs {args.check_runs}")
    if args.spec != scale_project.SPEC:
        parts.append(f"--spec {args.spec}")
    return " ".join(parts)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slos", type=int, default=1000, metavar="N", help="the first N SLOs of the spec (default: 1000)")
    parser.add_argument("--runs", type=int, default=5, metavar="N", help="rounds of the generate rows (default: 5)")
    parser.add_argument("--check-runs", type=int, default=1, metavar="N", help="runs of check and its baseline (default: 1)")
    parser.add_argument("--skip-check", action="store_true", help="leave out `sergas-obs check` (minutes at 1,000 SLOs)")
    parser.add_argument("--spec", type=Path, default=scale_project.SPEC, help=f"the Sloth spec (default: {scale_project.SPEC})")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the project in DIR (new or empty) and keep it")
    parser.add_argument("--update-readme", action="store_true", help="write the table into its block of README.md (readme_block.py)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.check_runs < 1 or args.slos < 1:
        parser.error("--slos, --runs and --check-runs take a positive number")
    return args


def bench(args: argparse.Namespace, project: Path) -> list[str]:
    slos = scale_project.build(project, args.spec, args.slos)
    python, cli_help, generate = generate_rows(project, args.runs)
    checks = None
    if not args.skip_check and shutil.which("promtool") is None:
        print("check skipped: promtool not on PATH (make tools)", file=sys.stderr)
    elif not args.skip_check:
        checks = check_rows(project, args.check_runs)
    return [*table(slos, python, cli_help, generate, checks), "", *notes(project, slos, generate, checks, args.runs)]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.spec.is_file():
        print(f"skipped: {args.spec} not found (the benchmark reads ../shared)")
        return 0
    if args.update_readme and readme_block.check("bench_cli"):
        print(f"error: {readme_block.check('bench_cli')}", file=sys.stderr)
        return 1
    if args.keep is not None:
        block = bench(args, args.keep.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
            block = bench(args, Path(tmp))
    print("\n".join(block))
    if args.update_readme:
        readme_block.replace("bench_cli", block, command_line(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

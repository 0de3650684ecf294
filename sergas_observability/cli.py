"""`sergas-obs`: the command line.

Exit codes: 0 ok, 1 validation failure (drift, promtool/amtool, lint errors),
2 bad definitions or usage.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .loader import LoadError, load_stack

EXIT_OK, EXIT_INVALID, EXIT_DEFINITIONS = 0, 1, 2

definitions_option = click.option(
    "--definitions", "-d", "definitions", default="definitions", show_default=True,
    help="Python module path that defines `stack` (imported from the working directory).",
)
out_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("generated"),
    show_default=True, help="Output directory.",
)


def _load(definitions: str):
    try:
        return load_stack(definitions)
    except LoadError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_DEFINITIONS)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sergas-observability")
def main() -> None:
    """Observability as code: compile Python definitions into Prometheus,
    Alertmanager and Grafana configuration and a typed metrics module."""


@main.command()
@definitions_option
@out_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a unified diff if the output is stale.")
def generate(definitions: str, out_dir: Path, check: bool) -> None:
    """Compile the definitions into OUT (default: generated/)."""
    from .compile import compile_stack
    from .output import diff_tree, render_all, write_tree

    from .model import DefinitionError

    stack = _load(definitions)
    try:
        files = render_all(compile_stack(stack))
    except DefinitionError as exc:  # a check only a compiler can make (e.g. a Thanos group name)
        click.echo(f"error: {exc.one_line()}", err=True)
        sys.exit(EXIT_DEFINITIONS)
    if check:
        diff = diff_tree(files, out_dir)
        if diff:
            click.echo(diff, nl=False)
            click.echo(f"{out_dir}/ is out of date: run `make generate` and commit the result.", err=True)
            sys.exit(EXIT_INVALID)
        click.echo(f"{out_dir}/ is up to date ({len(files)} files).")
        return
    write_tree(files, out_dir)
    click.echo(f"wrote {len(files)} files to {out_dir}/")


@main.command()
@definitions_option
@out_option
def check(definitions: str, out_dir: Path) -> None:
    """Validate the generated files with promtool and amtool."""
    from .toolchain import ToolMissing, validate_tree

    stack = _load(definitions)
    try:
        findings = validate_tree(stack, out_dir)
    except ToolMissing as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    for finding in findings:
        click.echo(str(finding))
    if findings:
        click.echo(f"{len(findings)} problem(s) found.", err=True)
        sys.exit(EXIT_INVALID)
    click.echo("promtool and amtool: all generated files are valid.")


@main.command()
@definitions_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text for people, json for tools, github for GitHub Actions annotations.")
def lint(definitions: str, fmt: str) -> None:
    """Catch broken monitoring: unknown metrics and labels, alert and dashboard
    hygiene, alert-latency budgets. Exit 1 on errors, 0 with warnings only."""
    from .lint import lint_stack
    from .lint.formats import render
    from .toolchain import ToolMissing

    stack = _load(definitions)
    try:
        report = lint_stack(stack)
    except ToolMissing as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    click.echo(render(report, fmt), nl=False)
    if report.errors:
        sys.exit(EXIT_INVALID)


if __name__ == "__main__":  # pragma: no cover
    main()

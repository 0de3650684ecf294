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


@main.group("import")
def import_() -> None:
    """Print SLOs of another tool's spec as Python definitions (paste them into definitions/)."""


def _import_command(kind: str) -> None:
    @import_.command(kind, help=f"Print the SLOs of {'a Sloth prometheus/v1' if kind == 'sloth' else 'an OpenSLO v1/v1alpha'} FILE as Python.")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--page-severity", default="P0", show_default=True, help="Severity of the page tiers.")
    @click.option("--ticket-severity", default="P1", show_default=True, help="Severity of the ticket tiers.")
    @click.option("--runbook-base", default="https://runbooks.invalid/slo", show_default=True,
                  help="Runbook URL prefix for SLOs whose spec names none (…/<service>-<slo>).")
    def command(file: Path, page_severity: str, ticket_severity: str, runbook_base: str) -> None:
        from .slo_import import ImportError_, load_openslo, load_sloth, render_python

        load = load_sloth if kind == "sloth" else load_openslo
        try:
            slos = load(file.read_text(encoding="utf-8"), page_severity, ticket_severity, runbook_base)
        except ImportError_ as exc:
            click.echo(f"error: {file}: {exc}", err=True)
            sys.exit(EXIT_DEFINITIONS)
        click.echo(render_python(slos, file.name), nl=False)


_import_command("sloth")
_import_command("openslo")


if __name__ == "__main__":  # pragma: no cover
    main()

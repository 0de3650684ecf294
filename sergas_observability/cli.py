"""`sergas-obs`: the command line.

Exit codes: 0 ok, 1 validation failure (drift, promtool/amtool findings),
2 bad definitions or usage, 3 an internal error (a bug: please report it).
Every mistake in the definitions is printed on its own line, in file and line
order, by `generate`, `check` and `lint` alike (they share one validation pass).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from .compile import OUTPUTS

T = TypeVar("T")

EXIT_OK, EXIT_INVALID, EXIT_DEFINITIONS, EXIT_INTERNAL = 0, 1, 2, 3

# The defaults come from the project config (config.py): [tool.sergas-obs] in
# the nearest pyproject.toml holding it, else the built-in ones.
definitions_option = click.option(
    "--definitions", "-d", "definitions", default=None, metavar="MODULE",
    help="Python module path that defines `stack`, imported from the project root (the directory of the "
    "pyproject.toml holding [tool.sergas-obs], else the working directory). "
    "Default: [tool.sergas-obs] definitions, else definitions.",
)
out_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
    help="Output directory (generate owns only the files it wrote there). Default: [tool.sergas-obs] out "
    "(relative to its pyproject.toml), else generated (in the project root).",
)


def outputs_option(verb: str) -> Any:
    return click.option(
        "--output", "outputs", multiple=True, metavar="NAME",
        help=f"An output to {verb}, repeatable: {', '.join(OUTPUTS)}. "
        "Default: [tool.sergas-obs] outputs, else all the stack uses (thanos, mimir and victoriametrics need a Stack.central).",
    )


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


@contextmanager
def _stage(name: str) -> Iterator[None]:
    """An unexpected exception becomes one line and exit 3 (a traceback with --debug)."""
    try:
        yield
    except (SystemExit, KeyboardInterrupt, click.exceptions.Exit, click.ClickException):
        raise
    except Exception as exc:
        if click.get_current_context().find_root().obj.get("debug"):
            raise
        from .lint import InternalError

        message = str(exc) if isinstance(exc, InternalError) else f"internal error in {name}: {type(exc).__name__}: {exc}"
        _fail(message.splitlines()[0] if message else f"internal error in {name}", EXIT_INTERNAL)


def _settings(definitions: str | None, out_dir: Path | None = None, outputs: tuple[str, ...] = ()) -> Any:
    """The command's settings: its flags over [tool.sergas-obs] over the defaults; exit 2 if unusable."""
    from .config import ConfigError, resolve

    try:
        return resolve(definitions, out_dir, outputs)
    except ConfigError as exc:
        _fail(f"error: {exc}", EXIT_DEFINITIONS)


def _validated(settings: Any, *, lint: bool = False, promtool: bool = False) -> Any:
    """Load and validate the definitions; print every mistake; exit 2 on errors.

    Returns the Stack, or with `lint` the (stack, report) pair for the caller
    to render."""
    from .lint import lint_stack

    stack, errors = _loaded(settings)
    with _stage("validation"):
        report = lint_stack(stack, promtool=promtool, load_errors=errors)
    if lint:
        _note(settings, errors)
        return stack, report
    return _passed(settings, stack, errors, report)


def _loaded(settings: Any) -> tuple[Any, list[Any]]:
    from .loader import load

    with _stage("loading the definitions"):
        return load(settings.definitions, settings.root)  # type: ignore[no-any-return]


def _note(settings: Any, errors: list[Any]) -> None:
    """Where a module name that was not found came from."""
    missing = f"no definitions module '{settings.definitions}'"
    if any(e.message.startswith(missing) for e in errors):
        click.echo(f"note: the module name '{settings.definitions}' came from {settings.definitions_from}", err=True)


def _passed(settings: Any, stack: Any, errors: list[Any], report: Any) -> Any:
    """Print the report's findings; exit 2 if any is an error `generate` refuses; else the Stack."""
    from .lint import TOOL_RULES

    for item in report.active:
        click.echo(item.one_line(), err=True)
    _note(settings, errors)
    errors_found = [f for f in report.errors if f.rule not in TOOL_RULES]
    if errors_found:
        _fail(f"{len(errors_found)} error(s), {len(report.warnings)} warning(s) in the definitions: nothing written.", EXIT_DEFINITIONS)
    return stack


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sergas-observability")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error instead of one line.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Observability as code: compile Python definitions into Prometheus,
    Alertmanager and Grafana configuration and a typed metrics module."""
    ctx.obj = {"debug": debug}


@main.command()
@definitions_option
@out_option
@outputs_option("write")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a unified diff if the output is stale.")
def generate(definitions: str | None, out_dir: Path | None, outputs: tuple[str, ...], check: bool) -> None:
    """Validate the definitions and compile the chosen outputs into OUT.

    Refuses to write into a non-empty directory it did not create, the project
    root or a directory holding the definitions; never deletes a file it did
    not write. Files it wrote earlier for outputs no longer chosen are removed.
    Settings come from the flags, else [tool.sergas-obs] in pyproject.toml."""
    from .output import UnsafeOutput, diff_tree, read_tree, write_tree

    settings = _settings(definitions, out_dir, outputs)
    # What is on disk now (for the change summary, the drift check and the write) is read
    # while the last documents are rendered.
    stack, files, before = _validated_and_compiled(settings, meanwhile=lambda: read_tree(settings.out))
    from .changes import summary

    if "victoriametrics" in settings.outputs and settings.outputs_chosen:
        from .compile.distributed import vmalert_problem

        problem = vmalert_problem(stack)
        if problem:  # the output is empty: say why, once
            click.echo(f"note: victoriametrics writes nothing: {problem}", err=True)
    shown = settings.out_shown
    with _stage("change summary"):  # what a reviewer wants to know before the diff
        changes = summary(before, files) if before else []  # a first write has nothing to compare with
    if check:
        with _stage("drift check"):
            diff = diff_tree(files, settings.out, before)
        if diff:
            click.echo("".join(f"changes: {line}\n" for line in changes), nl=False)
            click.echo(diff, nl=False)
            again = " ".join(["sergas-obs generate", *_given(definitions, out_dir, outputs)])
            _fail(f"{shown}/ is out of date: run `{again}` and commit the result.", EXIT_INVALID)
        click.echo(f"{shown}/ is up to date ({len(files)} files).")
        return
    with _stage("write"):
        try:
            written = write_tree(files, settings.out, protected=_protected(settings), current=before)
        except UnsafeOutput as exc:
            _fail(f"error: {exc}", EXIT_DEFINITIONS)
    if not written:
        click.echo(f"{shown}/ is up to date ({len(files)} files): nothing written.")
        return
    click.echo(f"wrote {len(files)} files to {shown}/" + (" (no change)" if before and not changes else ""))
    for line in changes:
        click.echo(f"  {line}")


def _validated_and_compiled(settings: Any, meanwhile: Callable[[], T]) -> tuple[Any, dict[str, str], T]:
    """The Stack, the text of every file of the chosen outputs and what `meanwhile` returned;
    exit 2 (nothing compiled kept) when the definitions have mistakes.

    With a second core, work runs beside work (background.py). Beside the
    validation pass, every output that does not read the dashboards is
    compiled here (the catalog with its latency figures). The pass compiles
    the dashboards to check them; that copy is the one written, with the
    outputs that package it, once the pass is through. Then half the
    documents are rendered in another copy and half here, and `meanwhile`
    runs here while the copy finishes. A stack the pass refuses is compiled
    for nothing, and what the compilers raised on it is not reported (they
    may assume a valid stack), only its findings."""
    from .background import Pending
    from .compile import adopt, compile_outputs, compiled, compilers_of, produce
    from .output import Rendered, command_header, render_all

    def prepare() -> None:
        """What the pass imports, imported while the definitions load (its copy is made first)."""
        from . import lint  # noqa: F401
        from .compile import alertmanager, grafana  # noqa: F401

    def validated(loaded: tuple[Any, list[Any]]) -> tuple[Any, dict[str, Rendered] | None]:
        from .lint import lint_stack

        stack, errors = loaded
        report = lint_stack(stack, promtool=False, load_errors=errors).detached()
        checked = None if report.errors else {path: Rendered(text) for path, text in render_all(compiled(stack, "grafana")).items()}
        return report, checked

    validation = Pending.primed(validated, prepare)
    stack, errors = _loaded(settings)
    validation.give((stack, errors))
    chosen = _outputs(settings, stack) if stack is not None else ()
    later = [name for name in chosen if "grafana" in compilers_of([name])[0]]  # they wait for the pass's dashboards

    def beside() -> dict[str, Any]:
        """The documents of the outputs that do not read the dashboards; the producers those that
        wait for them read (the rule files Kubernetes packages) are compiled now too."""
        produce(stack, [name for name in compilers_of(chosen)[0] if name != "grafana"])
        if "catalog" in chosen:
            from .lint import latency_figures

            latency_figures(stack)  # what the catalog prints: the pass's figures, computed here
        return compile_outputs(stack, [name for name in chosen if name not in later])

    first: dict[str, Any] | Exception | None = None
    if validation.running:  # else after the pass, as it would run alone
        try:
            first = beside()
        except Exception as exc:  # reported only if the stack validates
            first = exc
    with _stage("validation"):
        report, dashboards = validation.result()
    _passed(settings, stack, errors, report)
    with _stage("compile"):
        if isinstance(first, Exception):
            raise first
        documents = first or beside()
        if dashboards is not None:
            adopt(stack, "grafana", dashboards)
        documents.update(compile_outputs(stack, later))
        header = command_header(settings.definitions)
        paths = sorted(documents)  # neighbours are alike: every other one is about half the work
        there = Pending(lambda: render_all({path: documents[path] for path in paths[::2]}, header))
        files = render_all({path: documents[path] for path in paths[1::2]}, header)
    try:
        with _stage("change summary"):
            result = meanwhile()
    except BaseException:
        there.cancel()  # its half is not wanted
        raise
    with _stage("compile"):
        files.update(there.result())
    return stack, dict(sorted(files.items())), result


def _outputs(settings: Any, stack: Any) -> tuple[str, ...]:
    """The outputs a command works on: the chosen ones, else every output the Stack uses."""
    from .compile import default_outputs

    return settings.outputs if settings.outputs_chosen else default_outputs(stack)


def _given(definitions: str | None, out_dir: Path | None, outputs: tuple[str, ...]) -> list[str]:
    """The flags given, as they would be typed again."""
    import shlex

    flags = [f"--definitions {definitions}"] if definitions is not None else []
    flags += [f"--out {shlex.quote(str(out_dir))}"] if out_dir is not None else []
    return flags + [f"--output {name}" for name in outputs]


def _protected(settings: Any) -> list[Path]:
    """What `--out` may never be, contain or sit inside: the working directory, the project root and the definitions' files."""
    protected = [Path.cwd(), settings.root]
    module = sys.modules.get(settings.definitions)
    for location in (getattr(module, "__file__", None), *(getattr(module, "__path__", None) or ())):
        if location:
            path = Path(location).resolve()
            protected.append(path.parent if path.is_file() and path.name == "__init__.py" else path)
    return protected


@main.command()
@definitions_option
@out_option
@outputs_option("check")
def check(definitions: str | None, out_dir: Path | None, outputs: tuple[str, ...]) -> None:
    """Validate the definitions, then the generated files of the chosen outputs
    with promtool (prometheus), amtool (alertmanager) and vmalert -dryRun (victoriametrics)."""
    settings = _settings(definitions, out_dir, outputs)
    stack = _validated(settings)
    from .toolchain import CHECKED_OUTPUTS, ToolMissing, validate_tree

    outputs = _outputs(settings, stack)
    checked = [name for name in outputs if name in CHECKED_OUTPUTS]
    if not checked:
        click.echo(f"nothing for promtool, amtool or vmalert to check: the chosen outputs ({', '.join(outputs)}) "
                   f"include none of {', '.join(CHECKED_OUTPUTS)}.")
        return
    try:
        with _stage("check"):
            findings = validate_tree(stack, settings.out, checked)
    except ToolMissing as exc:
        _fail(f"error: {exc}", EXIT_INVALID)
    for finding in findings:
        click.echo(str(finding))
    if findings:
        _fail(f"{len(findings)} problem(s) found.", EXIT_INVALID)
    tools = " and ".join({"prometheus": "promtool", "alertmanager": "amtool", "victoriametrics": "vmalert"}[name] for name in checked)
    click.echo(f"{tools}: all generated files are valid.")


@main.command()
@definitions_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text for people, json for tools, github for GitHub Actions annotations.")
def lint(definitions: str | None, fmt: str) -> None:
    """Everything `generate` validates, plus the promtool and amtool passes
    (expressions, templates, notification templates). Exit 2 on errors that
    `generate` refuses too, 1 on errors only promtool/amtool find, 0 with
    warnings only."""
    from .lint import TOOL_RULES
    from .lint.formats import render
    from .toolchain import ToolMissing

    settings = _settings(definitions)
    try:
        stack, report = _validated(settings, lint=True, promtool=True)
    except ToolMissing as exc:
        _fail(f"error: {exc}", EXIT_INVALID)
    click.echo(render(report, fmt), nl=False)
    if any(f.rule not in TOOL_RULES for f in report.errors):
        sys.exit(EXIT_DEFINITIONS)
    if report.errors:
        sys.exit(EXIT_INVALID)


@main.command()
@click.argument("rollout")
@click.option("--prometheus", "url", required=True, metavar="URL", help="The Prometheus to ask, e.g. http://prometheus:9090.")
@click.option("--step", type=int, default=None, metavar="N", help="Judge step N (1-based). Default: every step in turn, stopping at the first that does not pass.")
@click.option("--candidate", default=None, help="The deployment rolled out. Default: the rollout's candidate.")
@click.option("--baseline", default=None, help="The deployment it is judged against. Default: the rollout's baseline.")
@click.option("--wait", is_flag=True, help="Hold for each step's monitoring time, showing progress, then judge it; a failing check ends the wait at once.")
@click.option("--poll", type=click.FloatRange(min=1), default=15.0, show_default=True, help="Seconds between progress reports with --wait.")
@click.option("--switch", "switch", default=None, metavar="CMD",
              help="With every step in turn: run CMD before each step, {traffic} {candidate} {baseline} {step} filled in, e.g. './traffic_switch.sh {candidate} {traffic}'.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="json for scripts.")
@click.option("--spec", "spec_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The gate spec. Default: <out>/prometheus/rollouts/ROLLOUT.json.")
@click.option("--bearer-token-file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Send the token in this file as a bearer token.")
@click.option("--basic-auth-file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Send user:password from this file as basic auth.")
@out_option
def gate(rollout: str, url: str, step: int | None, candidate: str | None, baseline: str | None, wait: bool, poll: float,
         switch: str | None, fmt: str, spec_file: Path | None, bearer_token_file: Path | None, basic_auth_file: Path | None,
         out_dir: Path | None) -> None:
    """Is the candidate deployment of ROLLOUT healthy? Asks Prometheus, by the rollout's checks.

    Exit 0 pass, 1 fail (the check, its value and threshold are printed),
    3 undecided (too little traffic yet), 2 bad usage or spec, 4 Prometheus
    could not be asked."""
    import shlex
    import subprocess

    from . import gate as gating

    def fail(message: str, code: int) -> NoReturn:
        _fail(f"error: {message}", code)

    if switch is not None and step is not None:
        fail("--switch drives every step in turn: leave out --step", EXIT_DEFINITIONS)
    if spec_file is None:
        spec_file = _settings(None, out_dir).out / "prometheus" / "rollouts" / f"{rollout}.json"
    try:
        spec = gating.load_spec(spec_file)
        if spec["rollout"] != rollout:
            raise gating.GateError(f"{spec_file} is the spec of rollout '{spec['rollout']}', not '{rollout}'")
        prometheus = gating.Prometheus(url, bearer_token_file, basic_auth_file)
        chosen_candidate, chosen_baseline = candidate or spec["candidate"], baseline or spec["baseline"]
        for given in (chosen_candidate, chosen_baseline):
            if given not in spec["deployments"]:
                raise gating.GateError(f"no deployment '{given}' (known: {', '.join(spec['deployments'])})")
        if chosen_candidate == chosen_baseline:
            raise gating.GateError(f"the candidate is the baseline ('{chosen_candidate}')")
        steps = [gating.step_of(spec, step)] if step is not None else spec["steps"]
    except gating.GateError as exc:
        fail(str(exc), EXIT_DEFINITIONS)

    def progress(elapsed: float, interim: Any) -> None:
        checks = "; ".join(f"{c.name} {c.verdict} ({c.reason})" for c in interim.checks)
        monitor = spec["steps"][interim.step - 1]["monitor"]
        click.echo(f"step {interim.step}: {elapsed:.0f}s of {monitor} watched: {checks}", err=True)

    results = []
    try:
        for current in steps:
            if switch is not None:
                fields = {"traffic": f"{current['traffic_percent']:g}", "candidate": chosen_candidate,
                          "baseline": chosen_baseline, "step": str(current["step"])}
                command = [_filled(part, fields) for part in shlex.split(switch)]
                if subprocess.run(command).returncode != 0:
                    fail(f"--switch command failed at step {current['step']}: {shlex.join(command)}", EXIT_DEFINITIONS)
            if wait:
                result = gating.watch(spec, prometheus, current, chosen_candidate, chosen_baseline, progress, poll)
            else:
                result = gating.judge(spec, prometheus, current, chosen_candidate, chosen_baseline)
            results.append(result)
            if fmt == "text":
                click.echo(gating.render_text(result))
            if result.verdict != gating.PASS:
                break
    except gating.PrometheusError as exc:
        fail(str(exc), gating.EXIT_UNASKED)
    verdict = gating.worst(r.verdict for r in results)
    if fmt == "json":
        import json

        click.echo(json.dumps({"rollout": rollout, "verdict": verdict, "steps": [r.as_dict() for r in results]}, indent=2, sort_keys=True))
    sys.exit(gating.EXIT_CODES[verdict])


def _filled(text: str, fields: dict[str, str]) -> str:
    """`text` with each {name} of `fields` filled in; any other brace is the command's own."""
    for name, value in fields.items():
        text = text.replace("{" + name + "}", value)
    return text


@main.group("import")
def import_() -> None:
    """Print SLOs of another tool's spec as Python definitions (paste them into definitions/)."""


def _import_command(kind: str) -> None:
    what = {"sloth": "a Sloth prometheus/v1", "openslo": "an OpenSLO v1/v1alpha", "pyrra": "a Pyrra ServiceLevelObjective"}[kind]

    @import_.command(kind, help=f"Print the SLOs of {what} FILE as Python.")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--page-severity", default="", help="Severity of the page tiers (default: the Stack's slo_page_severity).")
    @click.option("--ticket-severity", default="", help="Severity of the ticket tiers (default: the Stack's slo_ticket_severity).")
    @click.option("--runbook-base", default="https://runbooks.invalid/slo", show_default=True,
                  help="Runbook URL prefix for SLOs whose spec names none (…/<service>-<slo>).")
    def command(file: Path, page_severity: str, ticket_severity: str, runbook_base: str) -> None:
        from .slo_import import ImportError_, load_openslo, load_pyrra, load_sloth, render_python

        load = {"sloth": load_sloth, "openslo": load_openslo, "pyrra": load_pyrra}[kind]
        refused: list[str] = []
        try:
            slos = load(file.read_text(encoding="utf-8"), page_severity, ticket_severity, runbook_base, refused=refused)
        except ImportError_ as exc:
            _fail(f"error: {file}: {exc}", EXIT_DEFINITIONS)
        except UnicodeDecodeError as exc:
            _fail(f"error: {file}: not UTF-8 text ({exc.reason} at byte {exc.start})", EXIT_DEFINITIONS)
        if slos:  # what converts is printed, even when something else in the file does not
            click.echo(render_python(slos, file.name), nl=False)
        for reason in refused:
            click.echo(f"error: {file}: {reason}", err=True)
        if refused:
            _fail(f"{len(refused)} SLO(s) or document(s) refused, {len(slos)} SLO(s) converted.", EXIT_DEFINITIONS)


_import_command("sloth")
_import_command("openslo")
_import_command("pyrra")


def run() -> None:
    """The `sergas-obs` program. One short-lived process holds its whole Stack and
    output in memory, all of it live until exit: the cyclic garbage collector
    would walk that growing heap again and again and free nothing, so it is
    off (reference counting still frees what is dropped). For the same reason it
    ends without freeing that heap object by object, which took as long as
    writing the tree: once the output streams are flushed, the OS reclaims it."""
    gc.disable()
    code: object = 0
    try:
        main()  # click ends every run, success or failure, with SystemExit
    except SystemExit as end:
        code = end.code
    if not isinstance(code, int):  # as the interpreter treats sys.exit("message") and sys.exit(None)
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a reader that went away (`| head`): nothing left to tell it
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()

"""The generated sergas_metrics module: up to date, light, and consistent with the rules and dashboards."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sergas_observability.lint import ensure_valid
from sergas_observability.compile import instrumentation
from sergas_observability.model import DefinitionError, Label, Metric
import promql_parser

from sergas_observability.promql import children, parse, selectors, substitute_grafana_variables
from instrumented.scraping import free_port, promtool_check_metrics, samples, scrape

ROOT = Path(__file__).resolve().parent.parent
EXERCISE = Path(__file__).resolve().parent / "instrumented" / "exercise_all.py"
CLI = Path(sys.executable).with_name("sergas-obs")


def test_generated_module_is_up_to_date_with_the_definitions(stack):
    documents = instrumentation.compile(stack)
    assert set(documents) == {"python/sergas_metrics/__init__.py", "python/sergas_metrics/py.typed"}
    for path, text in documents.items():
        assert (ROOT / "generated" / path).read_text() == text, f"generated/{path} is stale: run make generate"
    # and the real `generate --check` reports no drift in it
    proc = subprocess.run([str(CLI), "generate", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "python/sergas_metrics" not in proc.stdout, proc.stdout


def test_compilation_is_deterministic(stack):
    assert instrumentation.compile(stack) == instrumentation.compile(stack)


def test_importing_it_loads_no_generator_dependency():
    code = (
        "import sys, sergas_metrics; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'jinja2', 'grafanalib', 'yaml', 'click', 'promql_parser') "
        "or m.startswith(('sergas_observability.model', 'sergas_observability.compile', 'definitions')))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", timeout=60, check=True)
    assert proc.stdout.strip() == ""


def test_one_documented_instrument_per_application_metric(stack):
    import sergas_metrics

    assert [i.name for i in sergas_metrics.INSTRUMENTS] == [m.name for m in stack.app_metrics]
    for metric in stack.app_metrics:
        instrument = getattr(sergas_metrics, metric.name)
        assert instrument.kind == metric.kind.value
        assert instrument.label_names == metric.label_names
        assert instrument.allowed_values == {label.name: label.values for label in metric.labels if label.values}
        assert type(instrument).__doc__.startswith(metric.help)


@pytest.mark.parametrize(
    "label, message",
    [
        (Label(name="class"), "label 'class' is a Python keyword"),
        (Label(name="kind", values=("a", "__overflow__")), "may not declare '__overflow__'"),
        (Label(name="amount"), "label 'amount' would clash with a name the generated methods use"),
    ],
)
def test_what_python_cannot_express_is_a_definition_error(stack, label, message):
    metric = Metric(name="sergas_things_total", kind="counter", help="Things.", labels=(label,))
    with pytest.raises(DefinitionError) as caught:
        ensure_valid(stack.model_copy(update={"metrics": stack.metrics + (metric,)}))
    assert caught.value.where == "Metric 'sergas_things_total'" and caught.value.field == "labels"
    assert message in caught.value.message


@pytest.fixture(scope="module")
def exposition():
    """Everything a real process exposes after one observation per instrument, scraped over HTTP."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(EXERCISE), str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def test_exposition_passes_promtool_check_metrics(exposition):
    assert promtool_check_metrics(exposition) == ""


def exposed_labels(exposition: str) -> dict[str, set[frozenset[str]]]:
    """Per series name, the label-name sets it is exposed with."""
    found: dict[str, set[frozenset[str]]] = {}
    for name, labels in samples(exposition):
        found.setdefault(name, set()).add(frozenset(label for label, _ in labels))
    return found


def test_every_declared_series_is_exposed_with_exactly_its_labels(stack, exposition):
    exposed = exposed_labels(exposition)
    for metric in stack.app_metrics:
        for series, labels in metric.series_names().items():
            assert exposed.get(series) == {frozenset(labels)}, f"{series}: exposed as {exposed.get(series)}, declared {labels}"
        if metric.buckets:
            bounds = {float(v) for (n, ls) in samples(exposition) if n == metric.name + "_bucket" for k, v in ls if k == "le"}
            assert bounds == set(metric.buckets) | {float("inf")}


def scrape_added_labels(stack) -> set[str]:
    """Labels the scrape (not the application) attaches to the app's series."""
    added = {"job", "instance"}
    for job in stack.scrape_jobs:
        if job.exporter == "app":
            added |= set(job.labels)
    for env in stack.environments:
        added |= set(env.external_labels)
    return added


def referenced_exprs(stack) -> list[tuple[str, str]]:
    """(where, expression) for every alert, recording rule and dashboard query."""
    exprs = [(f"alert {a.name}", a.expr) for a in stack.alerts]
    exprs += [(f"recording rule {r.record}", r.expr) for r in stack.recording_rules]
    exprs += [
        (f"dashboard {d.uid} panel {p.title!r}", substitute_grafana_variables(q.expr))
        for d in stack.dashboards for p in d.panels for q in p.queries
    ]
    return exprs


def app_series(stack) -> set[str]:
    return {series for metric in stack.app_metrics for series in metric.series_names()}


def referenced_app_selectors(stack):
    """(where, selector) for every selector of an application metric in the rules and dashboards."""
    series = app_series(stack)
    return [(where, sel) for where, expr in referenced_exprs(stack) for sel in selectors(expr) if sel.metric in series]


def grouped_app_labels(stack):
    """(where, series names, `by` label) for aggregations over application metrics only.

    An aggregation whose input mixes in other series, or rewrites labels with
    label_replace/label_join, is skipped: its labels need not come from the app.
    """
    series = app_series(stack)
    found = []

    def rewrites_labels(node) -> bool:
        if isinstance(node, promql_parser.Call) and node.func.name in ("label_replace", "label_join"):
            return True
        return any(rewrites_labels(child) for child in children(node))

    def walk(where, node):
        if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None and "By" in str(node.modifier.type):
            names = {sel.metric for sel in selectors(node.expr)}
            if names and names <= series and not rewrites_labels(node.expr):
                found.extend((where, frozenset(names), label) for label in node.modifier.labels)
        for child in children(node):
            walk(where, child)

    for where, expr in referenced_exprs(stack):
        walk(where, parse(expr))
    return found


def test_every_app_metric_the_rules_and_dashboards_read_is_exposed_under_that_name_and_labels(stack, exposition):
    references = referenced_app_selectors(stack)
    assert references, "the rules and dashboards read no application metric: nothing would be checked"
    exposed = exposed_labels(exposition)
    declared_values = {
        (series, label.name): label.values
        for metric in stack.app_metrics for series in metric.series_names() for label in metric.labels if label.values
    }
    added = scrape_added_labels(stack)
    problems = []
    for where, selector in references:
        if selector.metric not in exposed:
            problems.append(f"{where}: {selector.metric} is not exposed")
            continue
        names = set().union(*exposed[selector.metric])
        for label, op, wanted in selector.matchers:
            if label in added:
                continue
            if label not in names:
                problems.append(f"{where}: {selector.metric} has no label '{label}' (exposed: {sorted(names)})")
                continue
            allowed = declared_values.get((selector.metric, label))
            if allowed is None or op in ("!=", "!~"):
                continue
            if op == "=" and wanted not in allowed:
                problems.append(f"{where}: {selector.metric}{{{label}=\"{wanted}\"}} is never emitted (declared {allowed})")
            if op == "=~" and not any(re.fullmatch(wanted, value) for value in allowed):
                problems.append(f"{where}: {selector.metric}{{{label}=~\"{wanted}\"}} matches no declared value {allowed}")
    assert problems == []


def test_labels_the_rules_and_dashboards_group_by_are_exposed(stack, exposition):
    grouped = grouped_app_labels(stack)
    assert grouped, "no aggregation over application metrics found: nothing would be checked"
    exposed = exposed_labels(exposition)
    added = scrape_added_labels(stack)
    problems = [
        f"{where}: sum by ({label}) over {sorted(names)}, which do not expose '{label}'"
        for where, names, label in grouped
        if label not in added and not any(label in labels for name in names for labels in exposed.get(name, ()))
    ]
    assert problems == []

"""The typed metrics module the application imports, rendered with jinja2.

One class and one instance per application metric (`stack.app_metrics`):
keyword arguments named after the labels, `Literal[...]` types where the
values are declared, docstrings from the help text.

The module is a distribution of its own, written to python/:

    python/pyproject.toml                  <stack>-metrics, depends on prometheus_client only
    python/<stack>_metrics/__init__.py     the instruments
    python/<stack>_metrics/py.typed
    python/<stack>_metrics/_runtime/*.py   the runtime, copied from sergas_observability/instrumentation/

so the application installs it with `pip install generated/python` and does
`import <stack>_metrics`, without the generator or its dependencies. The
runtime stays written once, in sergas_observability/instrumentation/: the
copies are its files byte for byte under a header line (its imports are
relative, so nothing needs rewriting).
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from ..instrumentation.instruments import OVERFLOW_VALUE
from ..model import Definition, Metric, MetricKind, Stack
from ..output import HEADER

_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_RUNTIME = Path(__file__).resolve().parent.parent / "instrumentation"

# The runtime modules copied into every generated module, as <module>/_runtime/.
RUNTIME_FILES = ("__init__.py", "asgi.py", "batch.py", "exposition.py", "instruments.py", "tracking.py")

# What an installed module needs at run time: nothing of the generator.
MODULE_DEPENDENCIES = ("prometheus_client>=0.20",)

# The runtime names the generated module re-exports besides its instruments.
RUNTIME_EXPORTS = (
    "OVERFLOW_VALUE",
    "UNMATCHED_ROUTE",
    "MetricsMiddleware",
    "batch_run",
    "child_exit",
    "clear_multiprocess_dir",
    "exposition_registry",
    "mark_process_dead",
    "metrics_app",
    "report_batch_run",
    "start_metrics_server",
    "track",
)

# Those of them the module imports on first use rather than at import (see the
# template): all but OVERFLOW_VALUE, which comes with the instruments, and
# start_metrics_server, which the module defines itself.
LAZY_RUNTIME_EXPORTS = tuple(name for name in RUNTIME_EXPORTS if name not in ("OVERFLOW_VALUE", "start_metrics_server"))

# Per kind: runtime base class, child class, and the recording methods (name,
# parameter, whether the parameter defaults to 1, docstring).
_KINDS: dict[MetricKind, tuple[str, str, tuple[tuple[str, str, bool, str], ...]]] = {
    MetricKind.COUNTER: ("Counter", "CounterChild", (("inc", "amount", True, "Add `amount` (>= 0) to the counter."),)),
    MetricKind.GAUGE: (
        "Gauge",
        "GaugeChild",
        (
            ("set", "value", False, "Set the gauge to `value`."),
            ("inc", "amount", True, "Add `amount` to the gauge."),
            ("dec", "amount", True, "Subtract `amount` from the gauge."),
        ),
    ),
    MetricKind.HISTOGRAM: ("Histogram", "HistogramChild", (("observe", "value", False, "Record one observation."),)),
    MetricKind.SUMMARY: ("Summary", "HistogramChild", (("observe", "value", False, "Record one observation."),)),
}


# Names the generated methods use besides the labels: a label may not shadow them.
_METHOD_NAMES = frozenset({"self", "amount", "value", "Exception"})


def distribution_name(stack: Stack) -> str:
    """The name the module is installed under (pip, pyproject.toml): '<stack name>-metrics'."""
    return stack.module_name.replace("_", "-")


def compile(stack: Stack) -> dict[str, Any]:
    module = stack.module_name
    documents: dict[str, Any] = {
        "python/pyproject.toml": render_pyproject(stack),
        f"python/{module}/__init__.py": render_module(stack),
        f"python/{module}/py.typed": "",  # PEP 561: type checkers read the annotations
    }
    for name in RUNTIME_FILES:
        documents[f"python/{module}/_runtime/{name}"] = runtime_file(name)
    return documents


@cache
def runtime_file(name: str) -> str:
    """The generated copy of one runtime module: the header line, then the file as it is."""
    return f"# {HEADER}\n" + (_RUNTIME / name).read_text(encoding="utf-8")


def render_pyproject(stack: Stack) -> str:
    module = stack.module_name
    return _template("metrics_pyproject.toml.j2").render(
        header=HEADER,
        service=stack.name,
        distribution=distribution_name(stack),
        version=str(getattr(stack, "version", None) or "0"),  # a Stack without a version: "0"
        module=module,
        packages=(module, f"{module}._runtime"),
        dependencies=MODULE_DEPENDENCIES,
    )


def render_module(stack: Stack) -> str:
    metrics = stack.app_metrics
    aliases, alias_of = _aliases(metrics)
    contexts = [_metric_context(metric, alias_of) for metric in metrics]
    names = {alias["name"] for alias in aliases}
    example = next((c for c in contexts if c["labels"]), contexts[0] if contexts else None)
    exports = sorted(RUNTIME_EXPORTS + ("INSTRUMENTS", "METRICS_PORT", "RUNTIME_PREFIX") + tuple(names) + tuple(c["attr"] for c in contexts))
    series = list(stack.runtime_series())
    return _template("metrics_module.py.j2").render(
        header=HEADER,
        service=stack.name,
        module=stack.module_name,
        distribution=distribution_name(stack),
        overflow=OVERFLOW_VALUE,
        runtime_prefix=stack.runtime_prefix,
        metrics_port=stack.metrics_port_in_targets,
        overflow_series=series[0],
        errors_series=series[1],
        aliases=aliases,
        metrics=contexts,
        example=_example(example),
        exports=exports,
        lazy_exports=LAZY_RUNTIME_EXPORTS,
    )


# -- checks the Python side adds to the model's -----------------------------------


def python_problems(stack: Stack) -> Iterator[tuple[Definition, str, str]]:
    """(metric, field, message) for what the model allows but a Python module
    cannot express; the validation pass reports them, so rendering never fails."""
    metrics = stack.app_metrics
    for metric in metrics:
        if keyword.iskeyword(metric.name) or keyword.issoftkeyword(metric.name):
            yield metric, "name", f"'{metric.name}' is a Python keyword and cannot name the instrument"
        for label in metric.labels:
            if keyword.iskeyword(label.name):
                yield metric, "labels", f"label '{label.name}' is a Python keyword and cannot be a keyword argument"
            if label.name in _METHOD_NAMES:
                yield metric, "labels", f"label '{label.name}' would clash with a name the generated methods use ({', '.join(sorted(_METHOD_NAMES))})"
            if label.values and OVERFLOW_VALUE in label.values:
                yield metric, "labels", f"label '{label.name}' may not declare '{OVERFLOW_VALUE}': the guard records stray values under it"
    aliases, alias_of = _aliases(metrics)
    names = {alias["name"] for alias in aliases}
    for metric in metrics:
        class_name = _metric_context(metric, alias_of)["class_name"]
        if class_name in names:
            yield metric, "name", f"its class name {class_name} collides with a label alias"
    module = stack.module_name
    if not module.isidentifier():
        yield stack, "name", f"the metrics module would be named '{module}', which is not a Python identifier"
    elif not module.isascii():
        yield stack, "name", f"the metrics module would be named '{module}': it also names its distribution and the runtime's series, which must be ASCII"
    yield from runtime_collisions(stack)


def claimed_names(kind: MetricKind | str, name: str) -> set[str]:
    """The names a metric takes in a prometheus_client registry, where two metrics may not share one:
    its series and the base and `_created` names (prometheus_client's own rule)."""
    kind = MetricKind(kind)
    if kind is MetricKind.COUNTER:
        base = name.removesuffix("_total")
        return {base, base + "_total", base + "_created"}
    if kind is MetricKind.HISTOGRAM:
        return {name, name + "_bucket", name + "_sum", name + "_count", name + "_created"}
    if kind is MetricKind.SUMMARY:
        return {name, name + "_sum", name + "_count", name + "_created"}
    return {name}


def runtime_collisions(stack: Stack) -> Iterator[tuple[Definition, str, str]]:
    """Declared metrics that take a name of the runtime's own series (`Stack.runtime_series`).

    An application metric clashes when the names it takes in the registry meet
    the runtime's (`claimed_names`: a gauge `<stack>_instrumentation_errors`
    clashes with the counter `..._errors_total`); an exporter's metric when one
    of its series is one of the runtime's (queries could not tell them apart)."""
    series = stack.runtime_series()
    taken = {claim: name for name in series for claim in claimed_names(MetricKind.COUNTER, name)}
    for metric in stack.metrics:
        if metric.exporter is None:
            claims = claimed_names(metric.kind, metric.name)
        else:
            claims = set(metric.series_names()) & set(series)
        clash = sorted({taken[claim] for claim in claims if claim in taken})
        if clash:
            yield metric, "name", (
                f"'{metric.name}' takes the name of the series the instrumentation runtime exposes in every "
                f"application ({', '.join(clash)}); rename the metric"
            )


# -- template contexts ------------------------------------------------------------------


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _aliases(metrics: tuple[Metric, ...]) -> tuple[list[dict[str, Any]], dict[tuple[str, str], str]]:
    """One Literal alias per label name whose declared values agree across metrics.

    A label name declared with different values by two metrics gets one alias
    per metric instead (<MetricClass><Label>), so neither is widened.
    """
    by_label: dict[str, set[tuple[str, ...]]] = {}
    for metric in metrics:
        for label in metric.labels:
            if label.values:
                by_label.setdefault(label.name, set()).add(label.values)
    aliases: dict[str, dict[str, Any]] = {}
    alias_of: dict[tuple[str, str], str] = {}
    for metric in metrics:
        for label in metric.labels:
            if not label.values:
                continue
            shared = len(by_label[label.name]) == 1
            name = _camel(label.name) if shared else _camel(metric.name) + _camel(label.name)
            alias_of[(metric.name, label.name)] = name
            if name not in aliases:
                aliases[name] = {"name": name, "label": label.name, "choices": label.values, "description": label.description}
    return list(aliases.values()), alias_of


def _metric_context(metric: Metric, alias_of: dict[tuple[str, str], str]) -> dict[str, Any]:
    base, child, operations = _KINDS[metric.kind]
    names = metric.label_names
    signature = ", ".join(f"{label.name}: {alias_of.get((metric.name, label.name), 'str')}" for label in metric.labels)
    if not names:
        key = "()"
    elif len(names) == 1:
        key = f"({names[0]},)"
    else:
        key = "(" + ", ".join(names) + ")"
    return {
        "name": metric.name,
        "attr": metric.name,
        "class_name": _camel(metric.name),
        "kind": metric.kind.value,
        "help": metric.help,
        "base": base,
        "child": child,
        "labels": metric.labels,
        "label_names": names,
        "allowed": [label for label in metric.labels if label.values],
        "signature": signature,
        "key": key,
        "buckets": tuple(float(bound) for bound in metric.buckets) if metric.buckets else None,
        "multiprocess_mode": metric.multiprocess_mode,
        "operations": [{"name": n, "param": p, "default": d, "doc": doc} for n, p, d, doc in operations],
    }


def _example(context: dict[str, Any] | None) -> dict[str, str]:
    if context is None:
        return {"name": "INSTRUMENTS", "call": "count(...)"}
    operation = context["operations"][0]
    arguments = ", ".join(
        f"{label.name}={py_literal(label.values[0]) if label.values else '...'}" for label in context["labels"]
    )
    value = "" if operation["default"] else "0.25" + (", " if arguments else "")
    return {"name": context["attr"], "call": f"{operation['name']}({value}{arguments})"}


# -- rendering --------------------------------------------------------------------------


def py_literal(value: Any) -> str:
    """Python source for a str, number, None or tuple of them (strings in double quotes)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        items = [py_literal(item) for item in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    raise TypeError(f"no Python literal for {type(value).__name__}")


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; TOML also wants DEL escaped)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def docstring_text(text: str) -> str:
    """Text safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()


@cache
def _template(name: str) -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=False,  # Python source, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["py"] = py_literal
    environment.filters["doc"] = docstring_text
    environment.filters["toml"] = toml_string
    return environment.get_template(name)

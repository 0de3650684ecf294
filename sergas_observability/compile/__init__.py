"""Compilers: pure functions from a Stack to documents keyed by output path.

Producers compile the Stack into one target format each (`compile(stack)`).
Packagers re-serve the producers' output in another wrapper (PrometheusRule
resources, Thanos/Mimir rule files) through `package(stack, documents)`, so a
rule file any producer adds is packaged without being compiled twice.
Modules are imported when the pipeline runs, not when this package is.

Outputs are what a user chooses to write (`[tool.sergas-obs] outputs`,
`generate --output`). Each is one top-level directory of the output tree,
named like the output, written by the compilers OUTPUTS lists for it. Every
document a compiler returns belongs to exactly one output, by its first path
component: `distributed` writes both thanos/ and mimir/, and a choice of one
keeps only its files. A packager reads the documents of the outputs READS
names for it, and is given no others, so when an output of a packager is
chosen the producers of those outputs run; their own files are still written
only if their outputs are chosen too.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI reads OUTPUTS for its --help: keep this module light
    from ..model import Stack

PRODUCERS = ("prometheus", "rules", "rule_tests", "slo", "slo_tests", "rollout", "rollout_tests", "alertmanager", "grafana", "instrumentation", "exporters", "compose")
PACKAGERS = ("kubernetes", "distributed", "catalog")

# Output name (= its top-level directory) -> the compilers that write it.
OUTPUTS: dict[str, tuple[str, ...]] = {
    "prometheus": ("prometheus", "rules", "rule_tests", "slo", "slo_tests", "rollout", "rollout_tests"),  # configs, start flags, rules, rule tests, gate specs
    "alertmanager": ("alertmanager",),
    "grafana": ("grafana",),  # dashboards and provisioning
    "python": ("instrumentation",),  # the typed metrics module
    # postgres_exporter's custom queries: a file for exporters run outside
    # compose and Kubernetes, mounted by compose (Kubernetes gets a ConfigMap of them).
    "exporters": ("exporters",),
    "compose": ("compose",),
    "kubernetes": ("kubernetes",),
    "thanos": ("distributed",),
    "mimir": ("distributed",),
    # vmalert's rule files and flags per environment shipping to a VictoriaMetrics central store (else empty)
    "victoriametrics": ("distributed",),
    "catalog": ("catalog",),  # the on-call catalog: every alert, its routing and runbook (Markdown)
}
# The central view's rule files: written by default only for a Stack with a
# central store (Stack.central); chosen by name, thanos and mimir are written
# without one too (a Thanos Ruler querying sidecars needs no remote write).
CENTRAL_OUTPUTS = ("thanos", "mimir", "victoriametrics")
# Packager -> the outputs whose documents it reads (it is given those alone): the rule files,
# the dashboards and the exporters' queries for Kubernetes; the rule files for the central
# rulers; the rule files, their tests and the routes for the catalog.
READS: dict[str, tuple[str, ...]] = {
    "kubernetes": ("prometheus", "grafana", "exporters"),
    "distributed": ("prometheus",),
    "catalog": ("prometheus", "alertmanager"),
}
# Outputs whose files an output refers to on disk: compose mounts theirs.
REQUIRES: dict[str, tuple[str, ...]] = {"compose": ("prometheus", "alertmanager", "grafana", "exporters")}


class OutputError(ValueError):
    """A choice of outputs that cannot be written (one-line message)."""


def choose(names: Iterable[str]) -> tuple[str, ...]:
    """The chosen outputs, known and complete, in OUTPUTS order; raises OutputError otherwise."""
    from ..model.base import did_you_mean

    chosen = list(dict.fromkeys(names))
    if not chosen:
        raise OutputError(f"choose at least one output ({', '.join(OUTPUTS)})")
    for name in chosen:
        if name not in OUTPUTS:
            raise OutputError(f"unknown output '{name}'{did_you_mean(name, OUTPUTS)}; known: {', '.join(OUTPUTS)}")
    for name in chosen:
        missing = [need for need in REQUIRES.get(name, ()) if need not in chosen]
        if missing:
            needs = ", ".join(REQUIRES[name][:-1]) + f" and {REQUIRES[name][-1]}"
            raise OutputError(f"{name} mounts the files of {needs}: choose {', '.join(missing)} too")
    return tuple(name for name in OUTPUTS if name in chosen)


def default_outputs(stack: Stack) -> tuple[str, ...]:
    """The outputs written when none are chosen: every output the Stack uses."""
    if stack.central is not None:
        return tuple(OUTPUTS)
    return tuple(name for name in OUTPUTS if name not in CENTRAL_OUTPUTS)


def output_of(path: str) -> str:
    """The output a document belongs to: its first path component."""
    top = path.split("/", 1)[0]
    if top not in OUTPUTS:
        raise RuntimeError(f"{path} belongs to no output (known: {', '.join(OUTPUTS)})")
    return top


def _modules(names: Iterable[str]) -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in names)


def _merge(documents: dict[str, Any], more: Mapping[str, Any]) -> None:
    for path, document in more.items():
        if path in documents:
            raise RuntimeError(f"two compilers write {path}")
        documents[path] = document


def compilers_of(outputs: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The producers and the packagers that write `outputs` (known names), in pipeline order:
    the packagers' producers are those of the outputs they read, chosen or not."""
    compilers = {compiler for name in outputs for compiler in OUTPUTS[name]}
    packagers = tuple(name for name in PACKAGERS if name in compilers)
    compilers |= {compiler for packager in packagers for name in READS[packager] for compiler in OUTPUTS[name]}
    return tuple(name for name in PRODUCERS if name in compilers), packagers


def adopt(stack: Stack, producer: str, documents: Mapping[str, Any]) -> None:
    """Take `documents` as the producer's for this Stack: the same compiler's output, compiled
    in another process (generate's validation pass, whose copy of the dashboards it checked)."""
    stack._compiled[producer] = documents


def compiled(stack: Stack, producer: str) -> Mapping[str, Any]:
    """The documents of one producer, compiled once per Stack (a Stack is frozen and
    compilers are pure, so every caller may share them; none may change them)."""
    cache = stack._compiled
    if producer not in cache:
        (module,) = _modules([producer])
        cache[producer] = module.compile(stack)
    return cache[producer]  # type: ignore[no-any-return]


def produce(stack: Stack, producers: Iterable[str] = PRODUCERS) -> dict[str, Any]:
    """The documents of `producers` (default: every producer)."""
    documents: dict[str, Any] = {}
    for producer in producers:
        _merge(documents, compiled(stack, producer))
    return documents


def compile_stack(stack: Stack, outputs: Iterable[str] | None = None) -> dict[str, Any]:
    """The documents of the chosen `outputs` (default: `default_outputs`): the producers', then the packagers' wrappers of them.

    Validate the stack first (`lint.ensure_valid`, as `generate` does): the
    catalog prints the validation pass's latency figures.

    Raises OutputError for an unknown or incomplete choice (see `choose`)."""
    return compile_outputs(stack, default_outputs(stack) if outputs is None else choose(outputs))


def compile_outputs(stack: Stack, outputs: Iterable[str]) -> dict[str, Any]:
    """The documents of `outputs`, known names whose choice is not checked again (a part of
    one `choose` accepted: the files of one output may need those of another on disk)."""
    chosen = tuple(outputs)
    producers, packagers = compilers_of(chosen)
    produced = produce(stack, producers)
    documents = dict(produced)
    for name, packager in zip(packagers, _modules(packagers)):
        read = {path: document for path, document in produced.items() if output_of(path) in READS[name]}
        _merge(documents, packager.package(stack, read))
    return {path: document for path, document in documents.items() if output_of(path) in chosen}

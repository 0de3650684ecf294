"""Compilers: pure functions from a Stack to documents keyed by output path.

Producers compile the Stack into one target format each (`compile(stack)`).
Packagers re-serve the producers' output in another wrapper (PrometheusRule
resources, Thanos/Mimir rule files) through `package(stack, documents)`, so a
rule file any producer adds is packaged without being compiled twice.
Modules are imported when the pipeline runs, not when this package is.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from ..model import Stack

PRODUCERS = ("prometheus", "rules", "rule_tests", "slo", "slo_tests", "alertmanager", "grafana", "instrumentation", "exporters", "compose")
PACKAGERS = ("kubernetes", "distributed")


def _modules(names: tuple[str, ...]) -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in names)


def _merge(documents: dict[str, Any], more: Mapping[str, Any]) -> None:
    for path, document in more.items():
        if path in documents:
            raise RuntimeError(f"two compilers write {path}")
        documents[path] = document


def produce(stack: Stack) -> dict[str, Any]:
    """The documents of every producer."""
    documents: dict[str, Any] = {}
    for producer in _modules(PRODUCERS):
        _merge(documents, producer.compile(stack))
    return documents


def compile_stack(stack: Stack) -> dict[str, Any]:
    """Every generated document: the producers', then the packagers' wrappers of them."""
    produced = produce(stack)
    documents = dict(produced)
    for packager in _modules(PACKAGERS):
        _merge(documents, packager.package(stack, produced))
    return documents

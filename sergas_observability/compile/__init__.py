"""Compilers: pure functions from a Stack to documents keyed by output path.

Each module compiles one target format and exposes `compile(stack) -> dict`.
`compile_stack` runs them all; paths must not collide.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ..model import Stack
from . import alertmanager, grafana, instrumentation, prometheus, rule_tests, rules, slo, slo_tests
from . import compose, distributed, kubernetes


COMPILERS: tuple[ModuleType, ...] = (prometheus, rules, rule_tests, slo, slo_tests, alertmanager, grafana, instrumentation)
# Packagers re-serve the output of the compilers above (kubernetes, Thanos/Mimir, docker-compose).
COMPILERS += (kubernetes, distributed, compose)


def compile_stack(stack: Stack) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    for compiler in COMPILERS:
        for path, document in compiler.compile(stack).items():
            if path in documents:
                raise RuntimeError(f"two compilers write {path}")
            documents[path] = document
    return documents

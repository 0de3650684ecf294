"""What the packaging compilers (kubernetes, distributed, compose) repackage.

They re-serve other compilers' output in another wrapper, so they read it
from those compilers instead of re-deriving it: a rule file added by any
compiler (alerts, recording rules, SLOs, ...) is packaged without edits here.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ..model import Stack

RULES_DIR = "prometheus/rules/"


def _producers() -> list[ModuleType]:
    from . import COMPILERS  # late: the registry imports the packaging compilers too

    # Packagers mark themselves with REPACKAGES; skipping them avoids a loop.
    return [compiler for compiler in COMPILERS if not getattr(compiler, "REPACKAGES", False)]


def rule_files(stack: Stack) -> dict[str, dict[str, Any]]:
    """Every Prometheus rule file the stack compiles to, by file stem ('alerts', 'slo', ...), sorted."""
    files: dict[str, dict[str, Any]] = {}
    for compiler in _producers():
        for path, document in compiler.compile(stack).items():
            if path.startswith(RULES_DIR) and path.endswith(".yml") and "/" not in path[len(RULES_DIR):]:
                files[path[len(RULES_DIR):-len(".yml")]] = document
    return dict(sorted(files.items()))


def rule_groups(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    """(file stem, group) for every rule group, in file then declaration order."""
    return [(stem, group) for stem, document in rule_files(stack).items() for group in document["groups"]]

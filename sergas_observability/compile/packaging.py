"""What the packaging compilers (kubernetes, distributed, compose) repackage.

They re-serve other compilers' output in another wrapper, so they read it
from the produced documents instead of re-deriving it: a rule file added by any
compiler (alerts, recording rules, SLOs, ...) is packaged without edits here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RULES_DIR = "prometheus/rules/"


def rule_files(documents: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Prometheus rule file among the produced documents, by file stem ('alerts', 'slo-...', ...), sorted."""
    files: dict[str, dict[str, Any]] = {}
    for path, document in documents.items():
        if path.startswith(RULES_DIR) and path.endswith(".yml") and "/" not in path[len(RULES_DIR):]:
            files[path[len(RULES_DIR):-len(".yml")]] = document
    return dict(sorted(files.items()))


def rule_groups(documents: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(file stem, group) for every rule group, in file then declaration order."""
    return [(stem, group) for stem, document in rule_files(documents).items() for group in document["groups"]]

"""promtool as the judge of annotation templates and of every expression.

Annotation and label templates are expanded by Prometheus, with its own
functions (humanize, humanizePercentage, ...) and the $labels / $value /
$externalLabels variables; amtool's `template render` knows Alertmanager's
function set instead and rejects valid Prometheus templates, so promtool is
the right tool: `promtool check rules` compiles every template of every rule.

All expressions go into ONE temporary rule file (alerts exactly as the rules
compiler renders them, recording rules, and each dashboard or SLO query as
a recording rule), so promtool runs once per lint, however many expressions.
It also catches the syntax promql-parser accepts and promtool 2.42 rejects.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..compile.rules import alerting_rule, recording_rule
from ..model import Alert, RecordingRule, Stack
from ..toolchain import run
from .findings import Finding, finding
from .promql_refs import Source

_GROUP = "lint"
_RULE_ERROR = re.compile(rf'group "{_GROUP}", rule (\d+), "[^"]*": (.*)$')
_TEMPLATE_ERROR = re.compile(r'^(annotation|label) "([^"]+)": (.*)$')


def _rule_for(stack: Stack, source: Source) -> dict[str, Any]:
    definition = source.definition
    if isinstance(definition, Alert):
        return alerting_rule(stack, definition)
    if isinstance(definition, RecordingRule):
        return recording_rule(definition)
    return {"record": "lint_query", "expr": source.parseable}


def check_with_promtool(stack: Stack, sources: list[Source], emit: Callable[[Finding], None]) -> None:
    """Run promtool once over every expression and template; findings name the definition."""
    if not sources:
        return
    document = {"groups": [{"name": _GROUP, "rules": [_rule_for(stack, s) for s in sources]}]}
    with tempfile.TemporaryDirectory(prefix="sergas-obs-lint-") as tmp:
        path = Path(tmp) / "lint.rules.yml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        proc = run("promtool", ["check", "rules", "--lint=none", str(path)])
    if proc.returncode == 0:
        return
    unplaced = []
    for line in (proc.stdout + proc.stderr).splitlines():
        match = _RULE_ERROR.search(line)
        if not match:
            if str(path) in line and not line.startswith("Checking"):
                unplaced.append(line)
            continue
        source = sources[int(match.group(1)) - 1]
        message = match.group(2)
        template = _TEMPLATE_ERROR.match(message)
        if template:
            kind, name, error = template.groups()
            field = "labels" if kind == "label" else name
            emit(finding("alert/template-compile", source.definition, field, f"{kind} '{name}' does not compile: {error}", owners=source.owners))
        else:
            emit(finding("promql/promtool-rejects", source.definition, source.field, message, source.expr, owners=source.owners))
    if unplaced:
        raise RuntimeError("promtool rejected the lint's rule file: " + " | ".join(unplaced))

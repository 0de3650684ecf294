"""amtool as the judge of the notification templates in the compiled Alertmanager configs.

`amtool check-config` loads a config without parsing the text templates of
its receivers (Slack titles, PagerDuty descriptions, ...); a typo there only
shows when the first notification fails to render. `amtool template render`
parses and executes them with Alertmanager's own functions and sample data.

All templates go into one file as `{{ define "lint_N" }}...{{ end }}`, and one
amtool run renders them all; it stops at the first failure, so a failing
template is dropped and the rest rendered again (one run more per broken one).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..model import Definition, Stack
from ..toolchain import run
from .findings import Finding, finding

_PARSE_ERROR = re.compile(r"template: [^:]+:(\d+):")
_EXEC_ERROR = re.compile(r'executing "lint_(\d+)"')


def notification_templates(stack: Stack, documents: dict[str, Any]) -> list[tuple[Definition, str, str]]:
    """(receiver definition, field, template text) of every receiver text holding a template."""
    receivers = {r.name: r for r in stack.receivers}
    found: dict[tuple[str, str, str], tuple[Definition, str, str]] = {}
    for path, doc in documents.items():
        if not (path.startswith("alertmanager/") and isinstance(doc, dict)):
            continue
        for receiver in doc.get("receivers", []):
            owner = receivers.get(receiver.get("name"), stack)
            for field, text in _strings(receiver, ""):
                if "{{" in text:
                    found.setdefault((receiver.get("name", ""), field, text), (owner, field, text))
    return list(found.values())


def _strings(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, prefix)
    elif isinstance(node, str):
        yield prefix, node


def check_notification_templates(stack: Stack, documents: dict[str, Any], emit: Callable[[Finding], None]) -> None:
    templates = notification_templates(stack, documents)
    pending = list(range(len(templates)))
    with tempfile.TemporaryDirectory(prefix="sergas-obs-lint-") as tmp:
        path = Path(tmp) / "lint.tmpl"
        while pending:
            lines: list[int] = []  # first line of each definition in the file
            text = ""
            for index in pending:
                lines.append(text.count("\n") + 1)
                text += f'{{{{ define "lint_{index}" }}}}{templates[index][2]}{{{{ end }}}}\n'
            path.write_text(text)
            render = "".join(f'{{{{ template "lint_{index}" . }}}}' for index in pending)
            proc = run("amtool", ["template", "render", f"--template.glob={path}", f"--template.text={render}"])
            if proc.returncode == 0:
                return
            error = (proc.stderr or proc.stdout).strip().removeprefix("amtool: error: ")
            failed = _failed_template(error, pending, lines)
            if failed is None:
                raise RuntimeError(f"amtool could not render the notification templates: {error}")
            owner, field, _ = templates[failed]
            emit(finding("routing/notification-template", owner, field,
                         f"amtool cannot render this notification template: {error.replace(str(path), 'template')}"))
            pending.remove(failed)


def _failed_template(error: str, pending: list[int], lines: list[int]) -> int | None:
    executing = _EXEC_ERROR.search(error)
    if executing and int(executing.group(1)) in pending:
        return int(executing.group(1))
    parsing = _PARSE_ERROR.search(error)
    if parsing:
        line = int(parsing.group(1))
        starts = [(start, index) for start, index in zip(lines, pending) if start <= line]
        return starts[-1][1] if starts else None
    return None

"""Every runbook link resolves to a declared runbook and section (when runbooks are declared)."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Definition, Stack
from ..model.base import did_you_mean
from ..model.runbooks import is_placeholder, split_link
from .findings import finding
from .references import Emit, valid


def linked(stack: Stack) -> Iterator[tuple[Definition, str]]:
    """(definition, its runbook_url) for every definition that links a runbook; derived alerts
    (meta-monitoring, batch jobs) take theirs from these."""
    for items in (stack.alerts, stack.slos, stack.rollouts, stack.batch_jobs):
        for item in valid(items):
            yield item, item.runbook_url
    if stack.meta is not None and not stack.meta.invalid:
        yield stack.meta, stack.meta.runbook_url


def check_runbooks(stack: Stack, emit: Emit) -> None:
    runbooks = {r.url: r for r in valid(stack.runbooks)}
    for definition, url in linked(stack):
        if is_placeholder(url):
            emit(finding("stack/placeholder-runbook", definition, "runbook_url",
                         f"'{url}' is a placeholder: on-call gets no runbook; link a real one"))
            continue
        if not runbooks:
            continue
        document, section = split_link(url)
        runbook = runbooks.get(document)
        if runbook is None:
            emit(finding("stack/unknown-runbook", definition, "runbook_url",
                         f"'{document}' is no declared runbook{did_you_mean(document, runbooks)} (Stack.runbooks)"))
        elif section and section not in runbook.sections:
            known = ", ".join(runbook.sections) or "none"
            emit(finding("stack/unknown-runbook", definition, "runbook_url",
                         f"runbook '{runbook.name}' has no section '{section}'{did_you_mean(section, runbook.sections)} (its sections: {known})"))


CHECKS = (check_runbooks,)

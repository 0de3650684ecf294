"""Runbooks: the documents on-call reads, and the sections alerts link to.

Declared once (`Stack.runbooks`), a runbook is a URL and the anchors of its
sections. With runbooks declared, every `runbook_url` of an alert, SLO,
rollout, meta-monitoring or batch job must be one of them - the runbook
itself or `<url>#<section>` of a declared section - or the validation pass
names the definition: a renamed section or a typo never reaches on-call as
a dead link at 3 a.m. The generated catalog (compile/catalog.py) lists, per
runbook, the alerts that point at it.
"""

from __future__ import annotations

import re

from pydantic import field_validator

from .base import SLUG_RE, Definition, HttpUrl

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Runbook(Definition):
    """A runbook document at `url` with the anchors of its sections ('high-error-rate' for #high-error-rate)."""

    kind_name = "Runbook"
    name: str
    url: HttpUrl
    title: str = ""
    sections: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(f"'{value}' must be letters, digits, '.', '-' or '_' (it names a generated file)")
        return value

    @field_validator("url")
    @classmethod
    def _no_fragment(cls, value: str) -> str:
        if "#" in value:
            raise ValueError("the runbook's url is the document itself; list its anchors in sections")
        return value

    @field_validator("sections")
    @classmethod
    def _sections(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for section in value:
            if not SLUG_RE.match(section):
                raise ValueError(f"section '{section}' is not an anchor (lower-case letters, digits, '-', '_'), as a Markdown heading's is")
        if len(set(value)) != len(value):
            raise ValueError("a section is listed twice")
        return value

    def link(self, section: str = "") -> str:
        return f"{self.url}#{section}" if section else self.url


def split_link(url: str) -> tuple[str, str]:
    """(document, section) of a runbook link."""
    document, _, section = url.partition("#")
    return document, section


def is_placeholder(url: str) -> bool:
    """A link that points nowhere on purpose, such as an importer's runbooks.invalid (RFC 2606)."""
    host = re.sub(r"^[a-z]+://", "", url).split("/", 1)[0].split(":", 1)[0]
    return host == "invalid" or host.endswith(".invalid")


__all__ = ["Runbook", "is_placeholder", "split_link"]

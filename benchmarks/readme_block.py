"""Benchmark figures written into README.md between a benchmark's markers.

A benchmark owns the block `<!-- NAME:begin -->` ... `<!-- NAME:end -->`;
`replace` rewrites only that block (the table, then a line saying which
command produced it and when), so README figures come from a run, not from
someone's copy.
"""

from __future__ import annotations

import datetime
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def span(name: str, text: str) -> tuple[int, int] | None:
    """Where the block's content lies in `text` (None when the markers are missing)."""
    begin, end = markers(name)
    start, stop = text.find(begin), text.find(end)
    return (start + len(begin), stop) if 0 <= start and start + len(begin) <= stop else None


def check(name: str) -> str | None:
    """Why the block cannot be replaced (None when it can), before a long run."""
    if span(name, README.read_text(encoding="utf-8")) is None:
        begin, end = markers(name)
        return f"{README} has no {begin} ... {end} block to replace"
    return None


def replace(name: str, lines: list[str], command: str) -> None:
    text = README.read_text(encoding="utf-8")
    where = span(name, text)
    if where is None:
        raise SystemExit(f"error: {check(name)}")
    stamp = f"Produced by `{command}` on {datetime.date.today().isoformat()}."
    body = "\n" + "\n".join([*lines, "", stamp]) + "\n"
    README.write_text(text[: where[0]] + body + text[where[1]:], encoding="utf-8")

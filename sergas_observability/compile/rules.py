"""Placeholder: filled in by the rules compiler."""

from __future__ import annotations

from typing import Any

from ..model import Stack


def compile(stack: Stack) -> dict[str, Any]:
    return {}

"""Placeholder: filled in by the alertmanager compiler."""

from __future__ import annotations

from typing import Any

from ..model import Stack


def compile(stack: Stack) -> dict[str, Any]:
    return {}

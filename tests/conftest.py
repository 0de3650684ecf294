"""Shared fixtures: the Sergas stack, and a tree generated from it once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sergas_observability.compile import compile_stack
from sergas_observability.lint import ensure_valid
from sergas_observability.loader import load_stack
from sergas_observability.output import render_all, write_tree

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def stack():
    return load_stack("definitions", ROOT)


@pytest.fixture(scope="session")
def tree(stack, tmp_path_factory) -> Path:
    """generated/ as `make generate` writes it, in a temporary directory."""
    out = tmp_path_factory.mktemp("generated") / "generated"
    write_tree(render_all(compile_stack(ensure_valid(stack))), out)  # validated first, as generate does
    return out


@pytest.fixture(scope="session", autouse=True)
def _tools_present():
    # Tests run the real tools; a missing one is a failure, never a skip.
    missing = [t for t in ("promtool", "amtool") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: apt-get install -y --no-install-recommends prometheus prometheus-alertmanager")

"""Load a Stack from a definitions module, turning any failure into one line."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path

from .model import DefinitionError, Stack


class LoadError(Exception):
    """The definitions could not be loaded; the message is one line for the user."""


def load_stack(module_path: str = "definitions", root: Path | None = None) -> Stack:
    """Import `module_path` (from `root`, default the working directory) and return its `stack`."""
    root_dir = str((root or Path.cwd()).resolve())
    if root_dir not in sys.path:
        sys.path.insert(0, root_dir)
    # A fresh import every time: a long-lived process (tests, watch) must see edits.
    for name in [m for m in sys.modules if m == module_path or m.startswith(module_path + ".")]:
        del sys.modules[name]
    try:
        module = importlib.import_module(module_path)
    except DefinitionError as exc:
        raise LoadError(exc.one_line()) from None
    except ModuleNotFoundError as exc:
        if exc.name and module_path.startswith(exc.name):
            raise LoadError(f"no definitions module '{module_path}' under {root_dir}") from None
        raise LoadError(_located(exc)) from None
    except Exception as exc:  # any error in user code: report where, not a traceback
        raise LoadError(_located(exc)) from None
    stack = getattr(module, "stack", None)
    if not isinstance(stack, Stack):
        raise LoadError(f"{module_path}: must define `stack = Stack(...)`")
    return stack


def _located(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"{exc.filename}:{exc.lineno}: SyntaxError: {exc.msg}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename]
    where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
    return f"{where}{type(exc).__name__}: {exc}"

"""Load a Stack from a definitions module, collecting every mistake on the way.

While the module imports, invalid definitions record their errors and become
placeholders (see `model.base.collect_errors`), so one run finds every
construction error; an exception the definitions raise themselves (a
NameError, a failed import) ends the import and is reported at the user's
file and line, never at a frame inside the standard library or this package.
"""

from __future__ import annotations

import importlib
import os
import sys
import sysconfig
import traceback
from pathlib import Path

from .model import DefinitionError, Stack
from .model.base import collect_errors, relative_path

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class LoadError(Exception):
    """The definitions could not be loaded; `errors` holds every mistake found."""

    def __init__(self, errors: list[DefinitionError]):
        self.errors = errors
        super().__init__("\n".join(e.one_line() for e in errors))


def load(module_path: str = "definitions", root: Path | None = None) -> tuple[Stack | None, list[DefinitionError]]:
    """Import `module_path` (from `root`, default the working directory).

    Returns its `stack` (None when there is none to validate) and every
    construction or import error, in the order found."""
    root_dir = str((root or Path.cwd()).resolve())
    if root_dir not in sys.path:
        sys.path.insert(0, root_dir)
    # A fresh import every time: a long-lived process (tests, watch) must see edits.
    for name in [m for m in sys.modules if m == module_path or m.startswith(module_path + ".")]:
        del sys.modules[name]
    with collect_errors() as errors:
        try:
            module = importlib.import_module(module_path)
        except DefinitionError as exc:  # raised by the user's own code, e.g. a helper calling .fail()
            return None, errors + [exc]
        except ModuleNotFoundError as exc:
            if exc.name and module_path.startswith(exc.name):
                return None, errors + [DefinitionError("", None, f"no definitions module '{module_path}' under {root_dir}")]
            return None, errors + [_located(exc, root_dir)]
        except Exception as exc:  # any error in user code: report where, not a traceback
            return None, errors + [_located(exc, root_dir)]
    stack = getattr(module, "stack", None)
    if not isinstance(stack, Stack):
        return None, errors + [DefinitionError("", None, f"{module_path}: must define `stack = Stack(...)`")]
    return stack, list(errors)


def load_stack(module_path: str = "definitions", root: Path | None = None) -> Stack:
    """The valid definitions' Stack; raises LoadError listing every construction error."""
    stack, errors = load(module_path, root)
    if errors or stack is None:
        raise LoadError(errors)
    return stack


_NOT_THE_USERS = (_PACKAGE_DIR + os.sep, sysconfig.get_paths()["stdlib"] + os.sep, "<")


def _users(filename: str) -> bool:
    """A frame of the user's code: not this package, not the standard library or importlib's frozen modules, not a dependency."""
    return not filename.startswith(_NOT_THE_USERS) and f"{os.sep}site-packages{os.sep}" not in filename


def _located(exc: BaseException, root_dir: str) -> DefinitionError:
    """The exception at the deepest frame in the user's files (not the stdlib, not this package)."""
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError) and exc.filename:
        return DefinitionError("", None, f"SyntaxError: {exc.msg}", f"{relative_path(exc.filename)}:{exc.lineno}")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _users(f.filename)]
    # The user's own files first (below the root); definitions installed elsewhere next.
    frames = [f for f in frames if f.filename.startswith(root_dir + os.sep)] or frames
    origin = f"{relative_path(frames[-1].filename)}:{frames[-1].lineno}" if frames else None
    return DefinitionError("", None, message, origin)

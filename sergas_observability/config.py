"""The project config: the `[tool.sergas-obs]` table of a pyproject.toml.

    [tool.sergas-obs]
    definitions = "monitoring.definitions"  # the module that defines `stack`
    out = "deploy/observability"            # the output directory, relative to this pyproject.toml
    outputs = ["prometheus", "alertmanager", "grafana", "python"]  # what generate writes (default: all)

It is looked up like other tools' tables: in the pyproject.toml of the
working directory, else of its parent, and so on upwards; a pyproject.toml
without the table is passed over. The search ends at the filesystem root or
after the directory holding `.git` (the repository root). Without a table,
everything is as without a config: the defaults, relative to the working
directory.

The table's directory is the project root: the definitions module is imported
from there (whether its name comes from the table, the flag or the default),
and the table's `out` is relative to it. A flag overrides the table's key;
`--out` is a path like any other on the command line, relative to the working
directory.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from .compile import OUTPUTS, OutputError, choose

PYPROJECT = "pyproject.toml"
TABLE = "[tool.sergas-obs]"
KEYS = ("definitions", "out", "outputs")
DEFAULT_DEFINITIONS = "definitions"
DEFAULT_OUT = "generated"


class ConfigError(Exception):
    """The table or a flag is unusable (a one-line message, without the 'error: ' prefix)."""


@dataclass(frozen=True)
class Settings:
    """What a command runs with: the table's keys, overridden by the flags, else the defaults."""

    definitions: str
    definitions_from: str  # where the module name came from, for errors that name the module
    root: Path  # the project root: the definitions are imported from here
    out: Path
    out_shown: str  # `out` as messages show it
    outputs: tuple[str, ...]
    pyproject: Path | None  # the file holding the table, None without one
    outputs_chosen: bool = False  # named by the flags or the table, not the default (all)


def find(start: Path) -> Path | None:
    """The nearest pyproject.toml from `start` upwards holding a [tool.sergas-obs] table."""
    for directory in (start, *start.parents):
        candidate = directory / PYPROJECT
        if candidate.is_file() and _table(candidate) is not None:
            return candidate
        if (directory / ".git").exists():
            break
    return None


def _shown(path: Path, cwd: Path) -> str:
    """`path` relative to the working directory when it is below it, else absolute."""
    try:
        return path.relative_to(cwd).as_posix() or "."
    except ValueError:
        return str(path)


def _table(pyproject: Path) -> Any:
    """The raw [tool.sergas-obs] value of `pyproject` (None when absent)."""
    text = pyproject.read_bytes().decode("utf-8", errors="replace")
    if "sergas-obs" not in text:  # cannot hold the table: never fail on another project's broken file
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from None
    tool = data.get("tool")
    return tool.get("sergas-obs") if isinstance(tool, dict) else None


def _kind(value: Any) -> str:
    """A TOML value's type as the TOML spec names it, with the value."""
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, int):
        kind = "an integer"
    elif isinstance(value, float):
        kind = "a float"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, list):
        kind = "an array"
    elif isinstance(value, dict):
        return "a table"
    elif isinstance(value, (datetime, date, time)):
        kind = "a date/time"
    else:  # pragma: no cover - tomllib returns nothing else
        kind = type(value).__name__
    shown = repr(value) if not isinstance(value, (datetime, date, time)) else value.isoformat()
    return f"{kind} ({shown if len(shown) <= 40 else shown[:37] + '...'})"


def module_problem(name: str) -> str | None:
    """Why `name` is not a module path like `definitions` or `monitoring.definitions` (None when it is)."""
    if name and all(part.isidentifier() for part in name.split(".")):
        return None
    guess = name.strip().removesuffix(".py").strip("/\\").replace("/", ".").replace("\\", ".")
    hint = f" (did you mean '{guess}'?)" if guess != name and module_problem(guess) is None else ""
    return f"'{name}' is not a Python module path (dotted names, like 'monitoring.definitions'){hint}"


def read(pyproject: Path, cwd: Path) -> dict[str, Any]:
    """The table's keys, checked: definitions (str), out (absolute Path), outputs (tuple of known names)."""
    table = _table(pyproject)
    where = f"{_shown(pyproject, cwd)}: {TABLE}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, got {_kind(table)}")

    def bad(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{where} key '{key}': {problem}")

    from .model.base import did_you_mean

    for key in table:
        if key not in KEYS:
            raise bad(key, f"unknown key{did_you_mean(key, KEYS)}; known: {', '.join(KEYS)}")
    found: dict[str, Any] = {}
    if "definitions" in table:
        value = table["definitions"]
        if not isinstance(value, str):
            raise bad("definitions", f'must be a module path (a string, like "definitions"), got {_kind(value)}')
        problem = module_problem(value)
        if problem:
            raise bad("definitions", problem)
        found["definitions"] = value
    if "out" in table:
        value = table["out"]
        if not isinstance(value, str) or not value.strip():
            got = _kind(value) if not isinstance(value, str) else "an empty string"
            raise bad("out", f'must be a directory path (a string, like "generated"), got {got}')
        found["out"] = (pyproject.parent / value).resolve()
    if "outputs" in table:
        value = table["outputs"]
        if not isinstance(value, list):
            hint = f' (write ["{value}"])' if isinstance(value, str) else ""
            raise bad("outputs", f"must be an array of output names, got {_kind(value)}{hint}; known: {', '.join(OUTPUTS)}")
        for index, item in enumerate(value, 1):
            if not isinstance(item, str):
                raise bad("outputs", f"item {index} must be an output name (a string), got {_kind(item)}")
        try:
            found["outputs"] = choose(value)
        except OutputError as exc:
            raise bad("outputs", str(exc)) from None
    return found


def resolve(
    definitions: str | None = None,
    out: Path | None = None,
    outputs: Sequence[str] = (),
    cwd: Path | None = None,
) -> Settings:
    """The settings of a command given its flags (None / empty: not given); raises ConfigError."""
    cwd = (cwd or Path.cwd()).resolve()
    pyproject = find(cwd)
    table = read(pyproject, cwd) if pyproject else {}
    root = pyproject.parent if pyproject else cwd
    in_table = f"{_shown(pyproject, cwd)} {TABLE} definitions" if pyproject else ""

    if definitions is not None:
        problem = module_problem(definitions)
        if problem:
            raise ConfigError(f"--definitions: {problem}")
        source = "--definitions"
    elif "definitions" in table:
        definitions, source = table["definitions"], in_table
    else:
        definitions = DEFAULT_DEFINITIONS
        source = f"the default (no --definitions, no {TABLE} definitions in a pyproject.toml)"

    if out is not None:
        out_dir, shown = out, str(out)
    else:
        out_dir = table.get("out", root / DEFAULT_OUT)
        shown = _shown(out_dir, cwd)

    if outputs:
        try:
            chosen = choose(outputs)
        except OutputError as exc:
            raise ConfigError(f"--output: {exc}") from None
    else:
        chosen = table.get("outputs", tuple(OUTPUTS))
    return Settings(definitions, source, root, out_dir, shown, chosen, pyproject, bool(outputs) or "outputs" in table)

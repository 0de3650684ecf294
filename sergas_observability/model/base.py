"""Shared building blocks of the declaration language.

Every definition is an immutable pydantic model that rejects unknown fields.
When construction fails, the pydantic error is turned into a DefinitionError
that names the definition (kind and name), the field and the reason, so the
CLI can print one line instead of a traceback.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import sys
import typing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import FrameType
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PrivateAttr, ValidationError, model_validator

_PACKAGE_DIR = __file__.rsplit("/model/", 1)[0]


V = TypeVar("V")


class DefinitionError(ValueError):
    """A definition is invalid. `where` is 'Kind name', `field` the field at fault.

    `where` may be empty for a mistake that belongs to no definition (e.g. a
    definitions module that fails to import); `origin` is the user's file:line.
    """

    def __init__(self, where: str, field: str | None, message: str, origin: str | None = None):
        self.where = where
        self.field = field
        self.message = message
        self.origin = origin
        super().__init__(self.one_line())

    def __reduce__(self) -> tuple[Any, ...]:  # it crosses to generate's validation pass pickled
        return type(self), (self.where, self.field, self.message, self.origin)

    def one_line(self) -> str:
        field = f" field '{self.field}'" if self.field else ""
        prefix = f"{self.origin}: " if self.origin else ""
        where = f"{self.where}{field}: " if self.where else ""
        return f"{prefix}{where}{self.message}"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest known name, or ''."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    if not close and len(name) >= 3:  # an abbreviation: 'prod' for 'production'
        prefixed = [k for k in known if k.startswith(name) or name.startswith(k)]
        close = prefixed if len(prefixed) == 1 else []
    return f" (did you mean '{close[0]}'?)" if close else ""


# While definitions are loaded, construction errors are collected here instead
# of raised, so one run reports every mistake (see `collect_errors`).
_collector: ContextVar[list[DefinitionError] | None] = ContextVar("definition_errors", default=None)


@contextmanager
def collect_errors() -> Iterator[list[DefinitionError]]:
    """Inside this block an invalid definition records its errors and becomes a
    placeholder (`invalid` is True) instead of raising, so the code that builds
    the Stack runs to its end and every mistake is found in one run."""
    errors: list[DefinitionError] = []
    token = _collector.set(errors)
    try:
        yield errors
    finally:
        _collector.reset(token)


def _caller_origin() -> str | None:
    """file:line of the first frame outside this library (the user's definition)."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIR) and "pydantic" not in filename:
            return f"{relative_path(filename)}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def relative_path(filename: str) -> str:
    """The path as the user would type it: relative to the working directory when below it."""
    return _relative(filename, os.getcwd())


@functools.lru_cache(maxsize=1024)  # every definition asks, from a few files
def _relative(filename: str, cwd: str) -> str:
    return os.path.relpath(filename, cwd) if filename.startswith(cwd + os.sep) else filename


def _members(annotation: Any) -> list[str]:
    """The definition classes a (discriminated) union field accepts, by name."""
    found: list[str] = []
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            found.append(arg.__name__)
        else:
            found += _members(arg)
    return found


def _describe(kind: str, data: dict[str, Any]) -> str:
    for key in ("name", "record", "uid", "title"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return f"{kind} '{value}'"
    return kind


def after_check(method: Callable[[Any], Any]) -> Any:
    """`model_validator(mode="after")` that leaves placeholders alone and runs once per instance.

    Pydantic runs a model's after-validators again whenever an instance is
    nested in another model. A placeholder (see `collect_errors`) holds
    unvalidated values and has reported its errors already; an instance that
    passed the check when it was built holds the same values (definitions are
    frozen), so it passes again. A copy - `model_copy(update=...)` validates
    nothing, so its values may be new - starts with no check passed."""
    name = method.__name__

    @functools.wraps(method)
    def check(self: Any) -> Any:
        private = getattr(self, "__pydantic_private__", None) or {}
        passed = getattr(self, "_checks_passed", frozenset())
        if private.get("_invalid") or name in passed:
            return self
        result = method(self)
        object.__setattr__(self, "_checks_passed", passed | {name})
        return result

    return model_validator(mode="after")(check)


class Definition(BaseModel):
    """Base of every declaration: frozen, strict about unknown fields."""

    # after_check's memo: a slot, not a field or a private attribute, so equality, copies and
    # pickles ignore it (a copy is checked again when nested).
    __slots__ = ("_checks_passed",)
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    kind_name: ClassVar[str] = ""
    # Fields a definition no longer has -> what to write instead (an error naming the field).
    replaced: ClassVar[dict[str, str]] = {}
    _origin: str | None = PrivateAttr(default=None)
    _invalid: bool = PrivateAttr(default=False)

    def __init__(self, /, **data: Any) -> None:
        origin = _caller_origin()
        try:
            super().__init__(**data)
        except ValidationError as exc:
            errors = self._errors(exc, data, origin)
            sink = _collector.get()
            if sink is None:
                raise errors[0] from None
            sink.extend(errors)
            self._become_placeholder(data)
        self._origin = origin

    def _errors(self, exc: ValidationError, data: dict[str, Any], origin: str | None) -> list[DefinitionError]:
        """One DefinitionError per independent mistake pydantic found."""
        fields = type(self).model_fields
        spelled = {(info.alias or name): name for name, info in fields.items()}  # `for`, not `for_`
        where = _describe(self.kind_name or type(self).__name__, data)
        raw = exc.errors(include_url=False)
        # A misspelt field is one mistake: name the typo with a did-you-mean and
        # drop the "Field required" of the field it was meant to be.
        missing = {str(e["loc"][0]) for e in raw if e["type"] == "missing" and len(e["loc"]) == 1}
        meant: dict[str, str] = {}
        for error in raw:
            if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
                close = difflib.get_close_matches(str(error["loc"][0]), [a for a, n in spelled.items() if n in missing or a in missing], n=1)
                if close:
                    meant[str(error["loc"][0])] = close[0]
        out: list[DefinitionError] = []
        for error in raw:
            inner = (error.get("ctx") or {}).get("error")
            if isinstance(inner, DefinitionError):  # a cross-check that already names its definition
                out.append(DefinitionError(inner.where, inner.field, inner.message, inner.origin or origin))
                continue
            parts = [str(part) for part in error["loc"]]
            if parts and parts[0] in fields:
                parts[0] = fields[parts[0]].alias or parts[0]
            if error["type"] == "missing" and len(parts) == 1 and parts[0] in meant.values():
                continue
            message = error["msg"].removeprefix("Value error, ")
            given = data.get(parts[0]) if parts else None
            if len(parts) > 1 and isinstance(given, Definition) and error["loc"][0] in fields:
                # environments=(production) without the comma: pydantic iterates the model's fields
                if any(e.field == parts[0] for e in out):
                    continue
                parts, message = parts[:1], f"expected a tuple, got one {given.describe()}: a tuple of one needs a trailing comma, (x,)"
            elif error["type"] == "tuple_type" and isinstance(error.get("input"), str):
                message += f": a tuple of one needs a trailing comma, ({error['input']!r},)"
            elif error["type"] in ("union_tag_not_found", "union_tag_invalid"):
                *others, last = [f"{name}(...)" for name in _members(fields[str(error["loc"][0])].annotation)]
                message = "expected " + (f"{', '.join(others)} or {last}" if others else last)
            if error["type"] == "extra_forbidden":
                typo = parts[-1]
                if len(parts) == 1 and typo in self.replaced:
                    out.append(DefinitionError(where, typo, self.replaced[typo], origin))
                    continue
                message = "unknown field" + (f" (did you mean '{meant[typo]}'?)" if typo in meant else did_you_mean(typo, spelled) if len(parts) == 1 else "")
            out.append(DefinitionError(where, ".".join(parts) or None, message, origin))
        return out

    def _become_placeholder(self, data: dict[str, Any]) -> None:
        """Hold what was given, unvalidated, so the definitions keep running."""
        built = type(self).model_construct(**data)
        for attr in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"):
            object.__setattr__(self, attr, getattr(built, attr))
        self._invalid = True

    @property
    def invalid(self) -> bool:
        """True for a placeholder of a definition whose construction failed (see `collect_errors`)."""
        private = self.__pydantic_private__  # read directly: every pass asks for every definition
        return bool(private and private.get("_invalid"))

    def describe(self) -> str:
        """'Kind name', as error messages name a definition."""
        return _describe(self.kind_name or type(self).__name__, self.__dict__)

    def fail(self, field: str | None, message: str) -> DefinitionError:
        """An error about one of this definition's fields, pointing at where it was written."""
        return DefinitionError(self.describe(), field, message, self._origin)

    @property
    def origin(self) -> str | None:
        """Where in the user's files this definition was written (file:line)."""
        private = self.__pydantic_private__  # read directly, as `invalid` is
        return private.get("_origin") if private else None

    @classmethod
    def derived(cls, origin: str | None, /, **fields: Any) -> Any:
        """A definition the library builds from validated ones (an SLO's dashboard panels),
        fields of their final types, not validated again; its findings name `origin`, where
        the definition it came from was written (its caller is library code, not the user's)."""
        # What model_construct builds (fields in their order, defaults for the others, the private
        # defaults), without its per-field machinery: the SLO dashboards derive thousands.
        defaults, private = _construction(cls)
        assert fields.keys() <= cls.model_fields.keys(), f"{cls.__name__} has no field {set(fields) - set(cls.model_fields)}"
        made = cls.__new__(cls)
        values = {name: fields[name] if name in fields else factory() for name, factory in defaults if factory or name in fields}
        for attr, value in (("__dict__", values), ("__pydantic_fields_set__", set(fields)), ("__pydantic_extra__", None),
                            ("__pydantic_private__", {**private, "_origin": origin})):
            object.__setattr__(made, attr, value)
        return made

    # A copy may be given other values (model_copy(update=...)): whatever pydantic copies, it
    # starts with no after-check passed, so they run when it is nested (see after_check).
    def __copy__(self) -> Any:
        return _unchecked(super().__copy__())

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        return _unchecked(super().__deepcopy__(memo))


@functools.cache
def _construction(cls: type[Definition]) -> tuple[tuple[tuple[str, Callable[[], Any] | None], ...], dict[str, Any]]:
    """Each field with what makes its default (a factory called for each instance), and the private defaults."""
    defaults = tuple(  # None: required, no default
        (name, None if info.is_required() else functools.partial(info.get_default, call_default_factory=True))
        for name, info in cls.model_fields.items()
    )
    private = {name: attr.get_default() for name, attr in cls.__private_attributes__.items()}
    return defaults, private


class KeptPer(Generic[V]):
    """Values computed from definitions, kept per the very objects they came from (definitions
    are frozen: the same objects give the same value), for work that several passes ask for.
    An entry holds its objects, so their ids are not reused while it lives."""

    def __init__(self, limit: int = 4096) -> None:
        self._entries: dict[tuple[int, ...], tuple[tuple[Any, ...], V]] = {}
        self._limit = limit

    def get(self, objects: tuple[Any, ...], compute: Callable[[], V]) -> V:
        """The value kept for `objects`, else `compute()`, kept."""
        entry = self._entries.get(tuple(map(id, objects)))
        if entry is None:
            value = compute()
            self.put(objects, value)
            return value
        return entry[1]

    def put(self, objects: tuple[Any, ...], value: V) -> None:
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[tuple(map(id, objects))] = (objects, value)

    def clear(self) -> None:
        self._entries.clear()


def _unchecked(copied: Any) -> Any:
    object.__setattr__(copied, "_checks_passed", frozenset())
    return copied


# --- durations -------------------------------------------------------------

_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


@functools.lru_cache(maxsize=4096)  # pure, and asked for the same few durations thousands of times
def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration such as '1h30m' or '15s'."""
    match = _DURATION_RE.match(text)
    if not text or not match:
        raise ValueError(f"'{text}' is not a Prometheus duration (e.g. 30s, 5m, 1h30m)")
    return sum(int(part) * unit for part, unit in zip(match.groups(), _UNIT_SECONDS) if part)


@functools.lru_cache(maxsize=4096)
def format_duration(seconds: float) -> str:
    """The canonical Prometheus spelling of a number of seconds (largest units first)."""
    if seconds <= 0:
        return "0s"
    millis = round(seconds * 1000)
    out = []
    for suffix, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            out.append(f"{count}{suffix}")
    return "".join(out)


def _check_duration(value: Any) -> str:
    if not isinstance(value, str):  # for_=5: say what is meant, not "Input should be a valid string"
        raise ValueError(f"{value!r} is not a Prometheus duration: write a string such as '5m' or '1h30m'")
    duration_seconds(value)
    return value


Duration = Annotated[str, BeforeValidator(_check_duration)]

def _check_http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"'{value}' is not an http(s) URL")
    return value


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]

_SNAKE_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def check_slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(f"'{value}' must be lower-case letters, digits, '-' or '_'")
    return value


# A name that goes into file names, URLs and label values as it is (an SLO's, a rollout's).
Slug = Annotated[str, AfterValidator(check_slug)]


def _check_label_name(value: str) -> str:
    if not _LABEL_RE.match(value) or value.startswith("__"):
        raise ValueError(f"'{value}' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)")
    return value


LabelName = Annotated[str, AfterValidator(_check_label_name)]


def _check_labels(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        _check_label_name(key)
    return value


LabelSet = Annotated[dict[str, str], AfterValidator(_check_labels)]


_CAMEL_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def is_camel(value: str) -> bool:
    """Whether `value` is CamelCase, as alert names are written."""
    return _CAMEL_RE.match(value) is not None


def check_snake(value: str, what: str) -> str:
    if not _SNAKE_RE.match(value):
        raise ValueError(f"{what} '{value}' must be snake_case ([a-z_][a-z0-9_]*)")
    return value

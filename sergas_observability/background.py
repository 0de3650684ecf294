"""A function run in a forked copy of the process, its result fetched later.

`generate` validates and compiles the same loaded Stack, and only the
dashboards (which the pass compiles to check them) and the write wait for the
pass. With a second core the pass runs in a copy of the process made by fork
while the first compiles. The copy is made before the definitions load
(`Pending.primed`): it imports what the pass needs meanwhile, then receives
the loaded Stack pickled (a few milliseconds, against the imports' tenth of a
second). Results come back pickled, through an unnamed temporary file.

Without fork, with one core, or with other threads running (a forked child
would inherit locks they hold, such as the import lock), the function runs
when its result is first asked for, in this process: the same result, later.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
G = TypeVar("G")


class BackgroundError(RuntimeError):
    """What the function raised in the child, when that exception could not be sent back itself."""


def can_fork() -> bool:
    return hasattr(os, "fork") and _cores() > 1 and threading.active_count() == 1


def _forks(fork: bool | None) -> bool:
    """Whether to make a copy: `can_fork()` by default, else as `fork` says (where os.fork exists)."""
    return can_fork() if fork is None else bool(fork and hasattr(os, "fork"))


def _cores() -> int:
    """The processors this process may run on (its affinity, where the OS says; else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS: no affinity
        return os.cpu_count() or 1


class Pending(Generic[T]):
    """`function()`, started now in a copy of the process when one can run it beside this one
    (`can_fork`; `fork=True` copies wherever os.fork exists, `fork=False` never)."""

    def __init__(self, function: Callable[[], T], *, fork: bool | None = None):
        self._function = function
        self._pid = 0
        self._signal = -1  # a primed child's: the write end it waits on
        self._primed: Callable[[Any], T] | None = None
        self._given: Any = None  # ... and the file its value goes through
        if _forks(fork) and self._open():
            pid = os.fork()
            if pid == 0:  # the child: never returns
                _child(function, self._file.fileno())
            self._pid = pid

    @classmethod
    def primed(cls, function: Callable[[G], T], prepare: Callable[[], object], *, fork: bool | None = None) -> "Pending[T]":
        """`function(value)`, its copy of the process made now, before `value` exists: the copy
        runs `prepare()` (its imports) at once, beside the caller, then waits for `give(value)`,
        which sends the value pickled. A value that does not pickle, or whose classes the copy
        has not imported (it would run their modules again), is used here instead: `result`
        calls the function in this process."""
        pending: Pending[T] = cls(_done, fork=False)
        pending._primed = function
        if not (_forks(fork) and pending._open()):
            return pending
        try:
            given = tempfile.TemporaryFile()
        except OSError:
            return pending
        wait, go = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(go)
            _child(lambda: function(_received(prepare, wait, given.fileno())), pending._file.fileno())
        os.close(wait)
        pending._pid, pending._signal, pending._given = pid, go, given
        return pending

    def give(self, value: G) -> None:
        """The value a primed function runs on (see `primed`)."""
        function = self._primed
        assert function is not None, "give() is for a primed function"
        here: Callable[[], T] = lambda: function(value)  # noqa: E731
        self._function = here
        if self._signal < 0:
            return
        given, self._given = self._given, None
        try:
            with given:  # closed here: the copy reads through its own descriptor
                given.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # noqa: BLE001 - it runs here instead
            self.cancel()
            self._function = here
            return
        try:
            os.write(self._signal, b"1")
        except BrokenPipeError:  # it ended before (its prepare raised): `result` says why
            pass
        os.close(self._signal)
        self._signal = -1

    def _open(self) -> bool:
        """The file the result comes back through, which no one else can open (not a pipe: a
        child writing into a pipe waits for the parent to read, a file takes it all at once).
        Without a temporary directory to hold it, the function runs here."""
        try:
            self._file = tempfile.TemporaryFile()
        except OSError:
            return False
        return True

    @property
    def running(self) -> bool:
        """Whether a copy of the process is running the function (else `result` will, here)."""
        return self._pid != 0

    def cancel(self) -> None:
        """Stop the child (its result is not wanted); without one, nothing will run."""
        if self._pid:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._file.close()
            self._pid = 0
        if self._signal >= 0:
            os.close(self._signal)
            self._signal = -1
        if self._given is not None:
            self._given.close()
            self._given = None
        self._function = _done

    def result(self) -> T:
        """The function's return value (waits for the child). What it raised is raised here, the
        child's traceback as a note (BackgroundError when the exception cannot be pickled)."""
        if not self._pid:
            return self._function()
        if self._signal >= 0:
            raise BackgroundError("a primed function's value was never given")
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        here, self._function = self._function, _done  # asked again: the result is gone with the child
        with self._file as stream:
            written = stream.seek(0, os.SEEK_END) if os.waitstatus_to_exitcode(status) == 0 else 0
            if not written:  # it died, or could not write all of it
                raise BackgroundError(f"the background process ended without a result (wait status {status})")
            stream.seek(0)
            ok, value = pickle.load(stream)  # from the file: its bytes are never all in memory beside the result
        if not ok and isinstance(value, _Refused):  # the child could not take the value: run it here
            return here()  # type: ignore[no-any-return]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]


class _Refused(Exception):
    """The primed child's answer when the value holds a class whose module it has not imported."""


class _Known(pickle.Unpickler):
    """Unpickles only classes whose modules are imported already: importing one would run a
    module of the caller's (their definitions) a second time, in the child."""

    def find_class(self, module: str, name: str) -> Any:
        if module not in sys.modules:
            raise _Refused(f"{module}.{name}")
        return super().find_class(module, name)


def _received(prepare: Callable[[], object], wait: int, given: int) -> Any:
    """In a primed child: prepare, then wait for the value and read it (exit when none comes)."""
    prepare()
    if not os.read(wait, 1):  # the caller cancelled, or ended
        os._exit(0)
    with os.fdopen(given, "rb") as stream:
        stream.seek(0)
        return _Known(stream).load()


def _done() -> T:  # type: ignore[type-var]
    raise BackgroundError("the result was fetched already, or cancelled")


def _child(function: Callable[[], object], fd: int) -> None:
    code = 0
    try:
        try:
            payload = pickle.dumps((True, function()), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # goes back to the parent, which reports it as it would its own
            exc.add_note("".join(["raised in the background process:\n", *traceback.format_exception(exc)]))
            try:
                payload = pickle.dumps((False, exc))
            except Exception:
                payload = pickle.dumps((False, BackgroundError(f"{type(exc).__name__}: {exc}\n{exc.__notes__[-1]}")))
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
    except BaseException:  # noqa: BLE001 - a full disk (or an interrupt): the parent hears of no result
        code = 1
    finally:
        os._exit(code)  # no cleanup of the parent's: its files, temp dirs and atexit handlers are its own

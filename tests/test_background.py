"""background.Pending: a function run in a forked copy of the process (generate's validation pass).

The fork path runs in a fresh interpreter, forced (`fork=True`: it is tested on a
machine of one core too); pytest's own threads make the default run in-process,
which is tested too."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from sergas_observability.background import Pending, can_fork


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)


def test_the_function_runs_in_a_child_beside_the_caller_and_its_result_comes_back():
    result = _python("""
        import os, time
        from sergas_observability.background import Pending
        parent = os.getpid()
        start = time.monotonic()
        pending = Pending(lambda: (os.getpid(), time.sleep(1.0), [1, {"a": "b"}])[::2], fork=True)
        assert pending.running
        busy = time.monotonic() - start   # Pending returned at once: the child sleeps, not the caller
        child, value = pending.result()
        print(child != parent, value, busy < 0.5, pending.running)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "[1,", "{'a':", "'b'}]", "True", "False"]


def test_a_large_result_does_not_hold_the_child_until_the_caller_asks():
    """The result goes into a file, not a pipe: the child writes 32 MB and ends while the caller is busy."""
    result = _python("""
        import time
        from sergas_observability.background import Pending
        pending = Pending(lambda: "x" * (32 << 20), fork=True)
        deadline = time.monotonic() + 30
        def state():
            with open(f"/proc/{pending._pid}/stat") as stream:
                return stream.read().rsplit(")", 1)[1].split()[0]
        while state() != "Z" and time.monotonic() < deadline:  # Z: ended, not yet reaped
            time.sleep(0.05)
        ended = state() == "Z"
        print(ended, len(pending.result()) == 32 << 20)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_without_a_temporary_directory_the_function_runs_in_the_caller(monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    pending = Pending(lambda: 42, fork=True)
    assert not pending.running and pending.result() == 42


def test_what_the_child_raised_is_raised_in_the_caller_with_the_childs_traceback():
    result = _python("""
        from sergas_observability.background import Pending
        from sergas_observability.lint import InternalError

        def broken():
            raise InternalError("validation (check_x)", KeyError("gone"))

        try:
            Pending(broken, fork=True).result()
        except InternalError as exc:
            print(str(exc))
            print("NOTE", "in broken" in exc.__notes__[-1] and "background process" in exc.__notes__[-1])
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["internal error in validation (check_x): KeyError: 'gone'", "NOTE True"]


def test_an_exception_that_cannot_be_pickled_and_a_child_that_dies_are_background_errors():
    result = _python("""
        import os, threading
        from sergas_observability.background import BackgroundError, Pending

        class Odd(Exception):
            lock = None
            def __init__(self):
                super().__init__("odd")
                self.lock = threading.Lock()   # not picklable

        def odd():
            raise Odd()

        for function in (odd, lambda: os._exit(7)):
            try:
                Pending(function, fork=True).result()
            except BackgroundError as exc:
                print(str(exc).splitlines()[0])
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Odd: odd"
    assert lines[1].startswith("the background process ended without a result (wait status 1792)")  # 7 << 8


def test_with_other_threads_running_the_function_runs_in_the_caller_when_asked():
    calls = []
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert not can_fork()
        pending = Pending(lambda: calls.append("ran") or 42)
        assert not pending.running and calls == []  # not started: nothing may run before it is asked
        assert pending.result() == 42 and calls == ["ran"]
    finally:
        stop.set()
        worker.join()


def test_in_the_caller_too_what_it_raised_is_raised_as_is():
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        with pytest.raises(ZeroDivisionError):
            Pending(lambda: 1 / 0).result()
    finally:
        stop.set()
        worker.join()


def test_a_cancelled_child_is_stopped_and_reaped():
    result = _python("""
        import os, time
        from sergas_observability.background import BackgroundError, Pending
        pending = Pending(lambda: time.sleep(30), fork=True)
        pid = pending._pid
        start = time.monotonic()
        pending.cancel()
        try:
            os.kill(pid, 0)
            print("alive")
        except ProcessLookupError:
            print("gone", time.monotonic() - start < 5)
        try:
            pending.result()
        except BackgroundError as exc:
            print(exc)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["gone True", "the result was fetched already, or cancelled"]


def test_on_one_processor_the_function_runs_in_the_caller():
    """A copy on the same core would only compete with its parent."""
    if not hasattr(__import__("os"), "sched_setaffinity"):
        pytest.fail("this test needs os.sched_setaffinity (Linux)")
    result = _python("""
        import os
        from sergas_observability.background import Pending
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        pending = Pending(os.getpid)
        print(pending.running, pending.result() == os.getpid())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_a_primed_copy_prepares_beside_the_caller_then_runs_on_the_value_given():
    """Pending.primed: the copy is made before the value exists and prepares (imports) meanwhile;
    the value goes over pickled, the result comes back."""
    result = _python("""
        import os, time
        from sergas_observability.background import Pending
        parent = os.getpid()
        start = time.monotonic()
        pending = Pending.primed(lambda value: (os.getpid(), value * 2), lambda: time.sleep(1.0), fork=True)
        time.sleep(1.0)  # the caller's own work, while the copy prepares
        opened = len(os.listdir("/proc/self/fd"))
        pending.give(21)
        closed = len(os.listdir("/proc/self/fd")) == opened - 2  # the value's file and the signal: the copy has its own
        child, value = pending.result()
        print(child != parent, value, time.monotonic() - start < 1.8, closed)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "42", "True", "True"]


def test_a_primed_value_that_does_not_pickle_or_names_a_module_the_copy_lacks_runs_in_the_caller(tmp_path):
    """A class the copy has not imported would run its module again there (a user's definitions):
    the copy refuses it, and the function runs in the caller, as for a value that does not pickle."""
    (tmp_path / "marked.py").write_text(textwrap.dedent("""
        import os
        print("imported in", "child" if os.getpid() != int(os.environ["PARENT"]) else "parent")
        class Mine:
            pass
    """))
    result = _python(f"""
        import os, sys
        os.environ["PARENT"] = str(os.getpid())
        sys.path.insert(0, {str(tmp_path)!r})
        from sergas_observability.background import Pending
        for make in (lambda: __import__("marked").Mine(), lambda: (lambda: 1)):
            pending = Pending.primed(lambda value: os.getpid(), lambda: None, fork=True)
            pending.give(make())
            print("ran in", "caller" if pending.result() == os.getpid() else "copy")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["imported in parent", "ran in caller", "ran in caller"]


def test_a_primed_copy_whose_preparation_fails_says_so_and_one_cancelled_stops():
    result = _python("""
        import os, time
        from sergas_observability.background import Pending
        def prepare():
            raise ImportError("no such module")
        pending = Pending.primed(lambda value: value, prepare, fork=True)
        time.sleep(0.5)  # it has failed and ended by now: giving must not break
        pending.give(1)
        try:
            pending.result()
        except ImportError as exc:
            print("raised:", exc, "raised in the background process" in exc.__notes__[0])
        waiting = Pending.primed(lambda value: value, lambda: None, fork=True)
        child = waiting._pid
        waiting.cancel()
        print("stopped:", not os.path.exists(f"/proc/{child}"), waiting.running)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["raised: no such module True", "stopped: True False"]


def test_primed_without_a_copy_runs_in_the_caller_when_asked():
    calls = []
    pending = Pending.primed(lambda value: calls.append(value) or value + 1, lambda: calls.append("prepared"), fork=False)
    pending.give(41)
    assert not pending.running and calls == []
    assert pending.result() == 42 and calls == [41]

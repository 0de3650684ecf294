"""`track`: time a call and count its outcome, as a decorator or a context manager.

    import <stack>_metrics as metrics

    @track(metrics.agent_executions_total, metrics.agent_execution_duration_seconds, agent="orchestrator")
    async def run_orchestrator(...): ...

    with track(metrics.api_calls_total, metrics.api_call_duration_seconds, tier="mcp"):
        call_api()

The counter gets `outcome="success"` or `outcome="error"` (an exception of any
kind, cancellation included, is an error; it is re-raised untouched); the
histogram gets the wall time in seconds. Both use the labels given here; the
histogram takes the ones it declares.

Label *names* are checked when `track` is applied as a decorator, which happens
at import: a misspelt label fails the application's start, not a request. Label
*values* go through the instruments' guard. Used as a context manager on a
request path, a wrong name is logged and counted, never raised.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TypeVar, cast

from .instruments import Counter, Histogram

F = TypeVar("F", bound=Callable[..., Any])

# The `with` blocks open in this thread or asyncio task: (tracker id, start).
# One variable for all trackers, so that one Tracker can be shared by
# concurrent requests (each task sees its own blocks) without leaking a
# context variable per Tracker.
_OPEN: ContextVar[tuple[tuple[int, float], ...]] = ContextVar("instrumentation_track_open", default=())


class Tracker:
    """Counts success/error on a counter and times into a histogram."""

    def __init__(
        self,
        counter: Counter,
        histogram: Histogram | None = None,
        *,
        outcome_label: str = "outcome",
        success: str = "success",
        error: str = "error",
        labels: dict[str, str],
    ) -> None:
        self.problem = _check(counter, histogram, outcome_label, labels)
        self._counter = counter
        # What to call on each outcome, bound once here: prometheus_client's own callables
        # when the labels are clean (the guard already ran, at bind time), else the guarded
        # child's. The counts take the amount, 1, as their one argument.
        self._count_success: Callable[[float], Any] | None = None
        self._count_error: Callable[[float], Any] | None = None
        self._observe: Callable[[float], Any] | None = None
        if self.problem is None:
            def values(family: Counter | Histogram, outcome: str) -> tuple[str, ...]:
                return tuple(outcome if name == outcome_label else labels[name] for name in family.label_names)

            self._count_success = counter._bind(values(counter, success))._fast_add()
            self._count_error = counter._bind(values(counter, error))._fast_add()
            if histogram is not None:  # it has no outcome label: _check made sure
                self._observe = histogram._bind(values(histogram, ""))._fast("observe")

    # -- recording ----------------------------------------------------------------

    def _finish(self, start: float, failed: bool) -> None:
        elapsed = time.perf_counter() - start
        count = self._count_error if failed else self._count_success
        try:
            if count is not None:
                count(1)
            if self._observe is not None:
                self._observe(elapsed)
        except Exception as exc:
            self._counter._internal.failed(self._counter.name, "track", exc)

    # -- decorator ------------------------------------------------------------------

    def __call__(self, function: F) -> F:
        if self.problem is not None:
            raise TypeError(f"track({function.__qualname__}): {self.problem}")
        # Closure names, not attribute look-ups, and the sync success path inlined
        # (no call to _finish): it is the hot one. A call without keywords is passed
        # on as a plain positional call, which spares unpacking an empty dict.
        count_success, observe, clock, finish = self._count_success, self._observe, time.perf_counter, self._finish
        assert count_success is not None  # set whenever self.problem is None

        if inspect.iscoroutinefunction(function):
            @functools.wraps(function)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                start = clock()
                try:
                    result = await (function(*args, **kwargs) if kwargs else function(*args))
                except BaseException:
                    finish(start, True)
                    raise
                finish(start, False)  # next to the event loop's own cost, one call more is nothing
                return result

            return cast(F, async_wrapper)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                result = function(*args, **kwargs) if kwargs else function(*args)
            except BaseException:
                finish(start, True)
                raise
            try:
                count_success(1)
                if observe is not None:
                    observe(clock() - start)
            except Exception as exc:
                self._counter._internal.failed(self._counter.name, "track", exc)
            return result

        return cast(F, wrapper)

    # -- context manager (sync and async) ----------------------------------------------

    def __enter__(self) -> Tracker:
        if self.problem is not None:  # a block that records nothing: say so, once per block
            self._counter._internal.failed(self._counter.name, "track", TypeError(self.problem))
        _OPEN.set(_OPEN.get() + ((id(self), time.perf_counter()),))
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        blocks = _OPEN.get()
        for index in range(len(blocks) - 1, -1, -1):  # the innermost block this tracker opened
            if blocks[index][0] == id(self):
                _OPEN.set(blocks[:index] + blocks[index + 1 :])
                self._finish(blocks[index][1], failed=kind is not None)
                return

    async def __aenter__(self) -> Tracker:
        return self.__enter__()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.__exit__(kind, exc, tb)


def _check(counter: Counter, histogram: Histogram | None, outcome_label: str, labels: dict[str, str]) -> str | None:
    """Why these instruments and labels do not fit together, or None."""
    if outcome_label not in counter.label_names:
        return f"counter {counter.name} has no '{outcome_label}' label"
    wanted = set(counter.label_names) - {outcome_label}
    if histogram is not None and outcome_label in histogram.label_names:
        return f"histogram {histogram.name} may not have the '{outcome_label}' label: it times every outcome"
    if histogram is not None:
        wanted |= set(histogram.label_names)
    given = set(labels)
    if given != wanted:
        missing, extra = sorted(wanted - given), sorted(given - wanted)
        parts = ([f"missing labels {missing}"] if missing else []) + ([f"unknown labels {extra}"] if extra else [])
        return f"{counter.name}: " + ", ".join(parts)
    return None


def track(
    counter: Counter,
    histogram: Histogram | None = None,
    /,
    *,
    outcome_label: str = "outcome",
    success: str = "success",
    error: str = "error",
    **labels: str,
) -> Tracker:
    """Time a call into `histogram` and count it in `counter` by outcome.

    Use as a decorator (sync or async function) or as a `with` / `async with`
    block. See the module docstring.
    """
    return Tracker(counter, histogram, outcome_label=outcome_label, success=success, error=error, labels=labels)


__all__ = ["track", "Tracker"]

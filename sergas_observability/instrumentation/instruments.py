"""Instruments: prometheus_client metrics behind a label guard that never raises.

The generated module (`<stack>_metrics`) subclasses these classes once per
declared metric and adds methods whose keyword arguments are the metric's
labels, typed with `Literal[...]` where the values are declared. Everything
here is the part that does not depend on a particular metric:

- children are cached by the tuple of label values, so a hot call is one dict
  look-up and one prometheus_client call;
- a value outside a label's declared set is recorded under OVERFLOW_VALUE and
  counted in `<prefix>label_overflow_total{metric,label}`, so a bug or a
  hostile input cannot blow up cardinality;
- any exception while recording (a negative counter increment, a value of the
  wrong type, a full disk under multiprocess mode) is swallowed, counted in
  `<prefix>errors_total{metric}` and logged once: a request must never fail
  because of a metric.

`<prefix>` is the instrument's `runtime_prefix`: the generated module passes
`<stack>_instrumentation_`, direct users get RUNTIME_PREFIX. A declared metric
that takes one of these names is a definition error (the validation reports
it); should one reach the runtime anyway, the declared metric keeps the name,
the runtime's series goes unexposed, and an error is logged - importing the
module never fails because of it.

Only prometheus_client and the standard library are imported here.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

import prometheus_client
from prometheus_client.registry import CollectorRegistry

if TYPE_CHECKING:
    import logging

# The runtime's package: sergas_observability.instrumentation, or <stack>_metrics._runtime in a generated module.
_LOGGER_NAME = __name__.rpartition(".")[0] or __name__


def _log() -> logging.Logger:
    """The runtime's logger. `logging` is imported on the first message, not with the
    module: prometheus_client does not load it, and a healthy application's metrics
    never log, so importing the metrics module should not pay for it."""
    import logging

    return logging.getLogger(_LOGGER_NAME)


# What a value outside a label's declared set is recorded as. Label values are
# free text for Prometheus (only label *names* starting with __ are reserved),
# and promtool check metrics accepts it; the underscores keep it from ever
# colliding with a real value such as "other".
OVERFLOW_VALUE = "__overflow__"

# Children kept per instrument for labels without a declared set (route,
# status, owner). Past this many, look-ups still work but are no longer cached,
# so a runaway label costs CPU rather than unbounded memory.
CHILD_CACHE_LIMIT = 10_000

Values = tuple[Any, ...]

# The prefix of the runtime's own series when the caller names none. The
# generated module passes `<stack>_instrumentation_`.
RUNTIME_PREFIX = "instrumentation_"

# The runtime's own series, after the prefix: labels and help text.
_RUNTIME_SERIES: dict[str, tuple[tuple[str, ...], str]] = {
    "label_overflow_total": (
        ("metric", "label"),
        "Observations whose label value was outside the declared set and was recorded as " + OVERFLOW_VALUE + ".",
    ),
    "errors_total": (("metric",), "Observations the instrumentation dropped because recording them raised."),
}


def runtime_series(prefix: str = RUNTIME_PREFIX) -> dict[str, tuple[str, ...]]:
    """The series the runtime itself exposes under `prefix` (all counters), with their labels."""
    return {prefix + suffix: labels for suffix, (labels, _help) in _RUNTIME_SERIES.items()}


class _Internal:
    """The instrumentation's own metrics, one pair per registry and prefix."""

    # Held weakly: a registry's id() may be reused once it is gone.
    _by_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, dict[str, _Internal]]] = weakref.WeakKeyDictionary()
    _unregistered: ClassVar[dict[str, _Internal]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, registry: CollectorRegistry | None, prefix: str) -> None:
        self.registry = registry
        self.prefix = prefix
        # (series name, counter) in _RUNTIME_SERIES order, and those the registry exposes.
        self._counters = [
            (prefix + suffix, prometheus_client.Counter(prefix + suffix, documentation, labels, registry=None))
            for suffix, (labels, documentation) in _RUNTIME_SERIES.items()
        ]
        self.overflow, self.errors = (counter for _name, counter in self._counters)
        self._exposed: list[Any] = []
        self._expose_all()
        self._logged: set[tuple[str, str]] = set()

    def _expose_all(self, claimant: str | None = None) -> None:
        if self.registry is None:
            return
        for name, counter in self._counters:
            try:
                self.registry.register(counter)
                self._exposed.append(counter)
            except ValueError:  # the name is taken: never fail the application's import over it
                _log().error(
                    "metric name collision: %s takes the name of the instrumentation's own series %s; "
                    "it keeps the name, and the instrumentation's %s is counted but not exposed. Rename %s.",
                    f"metric '{claimant}'" if claimant else "a metric already in the registry", name, name,
                    "that metric" if claimant else "the other metric",
                )

    def make_room(self, create: Callable[[], Any], claimant: str) -> Any:
        """Run `create` (a metric constructor that clashed in the registry) after taking this pair's
        series out of it; the declared metric keeps its name, and the runtime series that no
        longer fit stay unexposed (logged). Re-raises when the clash was not with this pair."""
        registry, exposed = self.registry, list(self._exposed)
        if registry is None or not exposed:
            return create()
        for counter in exposed:
            registry.unregister(counter)
        try:
            metric = create()
        except Exception:
            for counter in exposed:  # the clash is elsewhere: put everything back as it was
                registry.register(counter)
            raise
        self._exposed = []
        self._expose_all(claimant)
        return metric

    @classmethod
    def of(cls, registry: CollectorRegistry | None, prefix: str = RUNTIME_PREFIX) -> _Internal:
        with cls._lock:
            if registry is None:  # instruments registered nowhere share one unregistered pair per prefix
                pairs = cls._unregistered
            else:
                pairs = cls._by_registry.setdefault(registry, {})
            internal = pairs.get(prefix)
            if internal is None:
                internal = pairs[prefix] = cls(registry, prefix)
            return internal

    def failed(self, metric: str, operation: str, exc: BaseException) -> None:
        try:
            self.errors.labels(metric).inc()
            key = (metric, type(exc).__name__)
            if key not in self._logged:  # once per metric and kind of error: never flood the log
                self._logged.add(key)
                _log().warning("metric %s: %s dropped (%s: %s)", metric, operation, type(exc).__name__, exc)
        except Exception:  # pragma: no cover - the last line of defence
            pass


class Instrument:
    """One metric family with its label guard and child cache.

    `labels` are the label names in order; `allowed` maps a label name to its
    declared values; `runtime_prefix` names the runtime's own series this
    instrument counts its overflows and errors in. Subclasses set `_factory`
    to the prometheus_client class.
    """

    _factory: ClassVar[Callable[..., Any]]  # the prometheus_client class
    kind: ClassVar[str]

    def __init__(
        self,
        name: str,
        documentation: str,
        *,
        labels: Sequence[str] = (),
        allowed: Mapping[str, Sequence[str]] | None = None,
        registry: CollectorRegistry | None = prometheus_client.REGISTRY,
        runtime_prefix: str = RUNTIME_PREFIX,
        **options: Any,
    ) -> None:
        self.name = name
        self.runtime_prefix = runtime_prefix
        self.documentation = documentation
        self.label_names = tuple(labels)
        allowed = allowed or {}
        unknown = set(allowed) - set(self.label_names)
        if unknown:
            raise ValueError(f"{name}: declared values for unknown labels {sorted(unknown)}")
        # Per label position: its declared values, or None when any value is allowed.
        self._allowed: tuple[frozenset[str] | None, ...] = tuple(
            frozenset(allowed[label]) if label in allowed else None for label in self.label_names
        )
        self.allowed_values: dict[str, tuple[str, ...]] = {label: tuple(values) for label, values in allowed.items()}
        self._internal = _Internal.of(registry, runtime_prefix)

        def create() -> Any:
            return self._factory(name, documentation, self.label_names, registry=registry, **options)

        try:
            self._metric = create()
        except ValueError:  # a name clash in the registry: the declared metric wins over the runtime's series
            self._metric = self._internal.make_room(create, name)
        self._children: dict[Values, Any] = {}
        if not self.label_names:
            self._children[()] = self._metric
        elif self._preinitialise and all(values is not None for values in self._allowed):
            # Every combination is known: create the series at 0 now, so that
            # rate() and ratios see them before the first event.
            for combination in itertools.product(*(allowed[label] for label in self.label_names)):
                self._children[combination] = self._metric.labels(*combination)

    # Counters and histograms start at 0 meaningfully; a gauge's 0 would be a claim.
    _preinitialise: ClassVar[bool] = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}{list(self.label_names)}>"

    # -- the slow path: cache misses, guarded values, errors ------------------------

    def _resolve(self, values: Values) -> tuple[Any, tuple[Any, ...]]:
        """The prometheus_client child for `values` and the overflow counters it costs.

        Raises on a wrong number of values (a call that bypassed the typed API).
        """
        if len(values) != len(self.label_names):
            raise ValueError(f"expected labels {self.label_names}, got {len(values)} values")
        guarded = []
        overflow = []
        for label, allowed, value in zip(self.label_names, self._allowed, values):
            text = value if type(value) is str else str(value)
            if allowed is not None and text not in allowed:
                text = OVERFLOW_VALUE
                overflow.append(self._internal.overflow.labels(self.name, label))
            guarded.append(text)
        child = self._metric.labels(*guarded)
        if not overflow and len(self._children) < CHILD_CACHE_LIMIT:
            self._children[values] = child
        return child, tuple(overflow)

    def _recover(self, operation: str, amount: Any, values: Values) -> None:
        """Called when the fast path raised: a new label combination, or a real error."""
        try:
            child, overflow = self._resolve(values)
            getattr(child, operation)(amount)
            for counter in overflow:
                counter.inc()
        except Exception as exc:
            self._internal.failed(self.name, operation, exc)

    def _apply(self, operation: str, amount: Any, values: Values) -> None:
        """Record by a tuple of label values in label order (used by the helpers)."""
        try:
            getattr(self._children[values], operation)(amount)
        except Exception:
            self._recover(operation, amount, values)

    def _bind_values(self, values: Values) -> tuple[Any, tuple[Any, ...]]:
        try:
            child = self._children.get(values)
            return (child, ()) if child is not None else self._resolve(values)
        except Exception as exc:
            self._internal.failed(self.name, "labels", exc)
            return None, ()


class _Child:
    """A family bound to one set of label values; every method is guarded."""

    __slots__ = ("_child", "_overflow", "_family")

    def __init__(self, family: Instrument, child: Any, overflow: tuple[Any, ...]) -> None:
        self._family = family
        self._child = child  # None when binding failed: every call is then a counted no-op
        self._overflow = overflow

    def _fast(self, operation: str) -> Callable[..., Any]:
        """The quickest callable recording `operation`: prometheus_client's own when
        no overflow needs counting. It may raise; callers guard it."""
        if self._child is not None and not self._overflow:
            return getattr(self._child, operation)  # type: ignore[no-any-return]
        return getattr(self, operation)  # type: ignore[no-any-return]

    def _do(self, operation: str, amount: Any) -> None:
        try:
            getattr(self._child, operation)(amount)
            for counter in self._overflow:
                counter.inc()
        except Exception as exc:
            self._family._internal.failed(self._family.name, operation, exc)


class CounterChild(_Child):
    __slots__ = ()

    def _fast_add(self) -> Callable[[float], Any]:
        """`_fast("inc")`, one step quicker, for `track`'s hot path: the child's value store
        when the child is prometheus_client's own bound Counter. Its `inc` checks only that
        the child is bound (it is) and that the amount is not negative (track adds 1), and
        records an exemplar when given one (track gives none), before adding to that store:
        skipping to it records the same, in one process or in multiprocess mode. Anything
        else (a subclass, another version's layout, an overflowing child) gets `_fast`."""
        inc = self._fast("inc")
        store: Any = getattr(self._child, "_value", None)
        if type(self._child) is prometheus_client.Counter and not self._overflow and callable(getattr(store, "inc", None)):
            add: Callable[[float], Any] = store.inc
            return add
        return inc

    def inc(self, amount: float = 1.0) -> None:
        """Add `amount` (>= 0) to the counter."""
        if not self._overflow:  # the common case, kept to one guarded call
            try:
                self._child.inc(amount)
                return
            except Exception:
                pass
        self._do("inc", amount)


class GaugeChild(_Child):
    __slots__ = ()

    def set(self, value: float) -> None:
        """Set the gauge to `value`."""
        self._do("set", value)

    def inc(self, amount: float = 1.0) -> None:
        """Add `amount` to the gauge."""
        self._do("inc", amount)

    def dec(self, amount: float = 1.0) -> None:
        """Subtract `amount` from the gauge."""
        self._do("dec", amount)

    @contextmanager
    def track_in_progress(self) -> Iterator[None]:
        """Add 1 while the block runs (open streams, running tasks)."""
        self.inc()
        try:
            yield
        finally:
            self.dec()


class HistogramChild(_Child):
    __slots__ = ()

    def observe(self, value: float) -> None:
        """Record one observation."""
        if not self._overflow:
            try:
                self._child.observe(value)
                return
            except Exception:
                pass
        self._do("observe", value)

    @contextmanager
    def time(self) -> Iterator[None]:
        """Observe the wall time of the block, in seconds."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - start)


class Counter(Instrument):
    """A counter. The generated subclass adds `inc(amount, *, <labels>)`."""

    kind = "counter"
    _factory: ClassVar[Callable[..., Any]] = prometheus_client.Counter

    def _bind(self, values: Values) -> CounterChild:
        return CounterChild(self, *self._bind_values(values))


class Gauge(Instrument):
    """A gauge. The generated subclass adds `set`, `inc` and `dec` with its labels."""

    kind = "gauge"
    _factory: ClassVar[Callable[..., Any]] = prometheus_client.Gauge
    _preinitialise = False

    def _bind(self, values: Values) -> GaugeChild:
        return GaugeChild(self, *self._bind_values(values))


class Histogram(Instrument):
    """A histogram. The generated subclass adds `observe(value, *, <labels>)`."""

    kind = "histogram"
    _factory: ClassVar[Callable[..., Any]] = prometheus_client.Histogram

    def _bind(self, values: Values) -> HistogramChild:
        return HistogramChild(self, *self._bind_values(values))


class Summary(Histogram):
    """A summary (count and sum only, as prometheus_client exposes them)."""

    kind = "summary"
    _factory: ClassVar[Callable[..., Any]] = prometheus_client.Summary


__all__ = [
    "OVERFLOW_VALUE",
    "RUNTIME_PREFIX",
    "runtime_series",
    "Instrument",
    "Counter",
    "Gauge",
    "Histogram",
    "Summary",
    "CounterChild",
    "GaugeChild",
    "HistogramChild",
]

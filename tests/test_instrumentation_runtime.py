"""The runtime: label guard, never-raising instruments, the track decorator/context manager.

Instruments here are built on private registries so each test reads exactly
what it recorded.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from sergas_observability.instrumentation import OVERFLOW_VALUE, RUNTIME_PREFIX, Counter, Gauge, Histogram, runtime_series, track
from instrumented.scraping import promtool_check_metrics, samples, value


def family(kind, name, labels=(), allowed=None, **options):
    registry = CollectorRegistry()
    return kind(name, "Test metric.", labels=labels, allowed=allowed or {}, registry=registry, **options), registry


def read(registry):
    return samples(generate_latest(registry).decode())


def calls_total():
    return family(Counter, "calls_total", ("agent", "outcome"), {"agent": ("a", "b"), "outcome": ("success", "error")})


def test_declared_values_are_recorded_and_all_combinations_start_at_zero():
    calls, registry = calls_total()
    calls._apply("inc", 2, ("a", "success"))
    found = read(registry)
    assert value(found, "calls_total", agent="a", outcome="success") == 2
    for agent in ("a", "b"):
        for outcome in ("success", "error"):
            assert ("calls_total", frozenset({("agent", agent), ("outcome", outcome)})) in found


def test_value_outside_the_declared_set_goes_to_overflow_and_is_counted_each_time():
    calls, registry = calls_total()
    for agent in ("x", "y", "x", ["a"]):
        calls._apply("inc", 1, (agent, "success"))
    found = read(registry)
    assert value(found, "calls_total", agent=OVERFLOW_VALUE, outcome="success") == 4
    assert value(found, "instrumentation_label_overflow_total", metric="calls_total", label="agent") == 4
    assert not any(("agent", "x") in labels for _n, labels in found)
    assert len(calls._children) == 4  # stray values are not cached: memory stays bounded


def test_free_labels_take_any_value():
    requests, registry = family(Counter, "requests_total", ("route",))
    requests._apply("inc", 1, ("/a/{id}",))
    requests._apply("inc", 1, ("/a/{id}",))
    assert value(read(registry), "requests_total", route="/a/{id}") == 2


@pytest.mark.parametrize(
    "operation, amount, values",
    [
        ("inc", -1, ("a", "success")),  # counters only go up
        ("inc", "one", ("a", "success")),  # not a number
        ("inc", 1, ("a",)),  # a label missing
        ("observe", 1, ("a", "success")),  # not a counter's operation
    ],
)
def test_recording_errors_never_raise_and_are_counted(operation, amount, values, caplog):
    calls, registry = calls_total()
    with caplog.at_level(logging.WARNING, logger="sergas_observability.instrumentation"):
        calls._apply(operation, amount, values)
        calls._apply(operation, amount, values)
    found = read(registry)
    assert value(found, "instrumentation_errors_total", metric="calls_total") == 2
    assert sum(v for (name, _l), v in found.items() if name == "calls_total") == 0
    assert len([r for r in caplog.records if "calls_total" in r.getMessage()]) == 1  # logged once, not per call


def test_bound_children_are_guarded_too():
    calls, registry = calls_total()
    good, stray = calls._bind(("b", "error")), calls._bind(("zz", "error"))
    good.inc()
    good.inc(-5)  # dropped, counted
    stray.inc()
    stray.inc()
    found = read(registry)
    assert value(found, "calls_total", agent="b", outcome="error") == 1
    assert value(found, "calls_total", agent=OVERFLOW_VALUE, outcome="error") == 2
    assert value(found, "instrumentation_label_overflow_total", metric="calls_total", label="agent") == 2
    assert value(found, "instrumentation_errors_total", metric="calls_total") == 1


def test_gauge_and_histogram_children():
    depth, registry = family(Gauge, "queue_depth", ("queue",), {"queue": ("q",)}, multiprocess_mode="max")
    child = depth._bind(("q",))
    child.set(5)
    with child.track_in_progress():
        assert value(read(registry), "queue_depth", queue="q") == 6
    child.dec(2)
    assert value(read(registry), "queue_depth", queue="q") == 3
    seconds, registry = family(Histogram, "work_seconds", buckets=(0.1, 1.0))
    seconds._apply("observe", 0.5, ())
    seconds._bind(()).observe(2.0)
    found = read(registry)
    assert value(found, "work_seconds_bucket", le="1.0") == 1
    assert value(found, "work_seconds_count") == 2
    assert value(found, "work_seconds_sum") == 2.5


def tracked_pair():
    registry = CollectorRegistry()
    calls = Counter("zoho_calls_total", "Calls.", labels=("tier", "outcome"), allowed={"tier": ("mcp", "rest"), "outcome": ("success", "error")}, registry=registry)
    seconds = Histogram("zoho_call_seconds", "Call time.", labels=("tier",), allowed={"tier": ("mcp", "rest")}, registry=registry, buckets=(0.01, 1.0))
    return calls, seconds, registry


def test_decorator_counts_outcomes_and_times_sync_calls():
    calls, seconds, registry = tracked_pair()

    @track(calls, seconds, tier="mcp")
    def call(fail: bool) -> str:
        if fail:
            raise ValueError("boom")
        return "ok"

    assert call(False) == "ok" and call(False) == "ok"
    with pytest.raises(ValueError, match="boom"):  # the app's exception passes through untouched
        call(True)
    found = read(registry)
    assert value(found, "zoho_calls_total", tier="mcp", outcome="success") == 2
    assert value(found, "zoho_calls_total", tier="mcp", outcome="error") == 1
    assert value(found, "zoho_call_seconds_count", tier="mcp") == 3
    assert call.__name__ == "call"


def test_decorator_on_async_functions_times_the_awaited_work():
    calls, seconds, registry = tracked_pair()

    @track(calls, seconds, tier="rest")
    async def call(delay: float) -> float:
        await asyncio.sleep(delay)
        return delay

    assert asyncio.run(call(0.05)) == 0.05
    found = read(registry)
    assert value(found, "zoho_calls_total", tier="rest", outcome="success") == 1
    assert value(found, "zoho_call_seconds_bucket", tier="rest", le="0.01") == 0  # the coroutine's time, not its creation
    assert value(found, "zoho_call_seconds_bucket", tier="rest", le="1.0") == 1


def test_one_tracker_shared_by_concurrent_tasks_times_each_block():
    calls, seconds, registry = tracked_pair()
    shared = track(calls, seconds, tier="mcp")

    async def job(delay: float, fail: bool) -> None:
        async with shared:
            await asyncio.sleep(delay)
            if fail:
                raise KeyError("x")

    async def main() -> None:
        results = await asyncio.gather(job(0.3, False), job(0.001, True), job(0.001, False), return_exceptions=True)
        assert isinstance(results[1], KeyError)

    asyncio.run(main())
    with shared:  # sync use of the same tracker
        pass
    found = read(registry)
    assert value(found, "zoho_calls_total", tier="mcp", outcome="success") == 3
    assert value(found, "zoho_calls_total", tier="mcp", outcome="error") == 1
    # each block timed its own span: only the 0.3 s one is above 10 ms
    assert value(found, "zoho_call_seconds_bucket", tier="mcp", le="0.01") == 3
    assert value(found, "zoho_call_seconds_count", tier="mcp") == 4


def test_wrong_label_names_fail_at_decoration_but_never_in_a_with_block():
    calls, seconds, registry = tracked_pair()
    with pytest.raises(TypeError, match="missing labels \\['tier'\\], unknown labels \\['teir'\\]"):
        track(calls, seconds, teir="mcp")(lambda: None)
    with track(calls, seconds, teir="mcp"):  # on a request path: logged and counted, not raised
        pass
    found = read(registry)
    assert value(found, "instrumentation_errors_total", metric="zoho_calls_total") == 1
    assert sum(v for (name, _l), v in found.items() if name == "zoho_calls_total") == 0


def test_stray_value_in_track_goes_to_overflow():
    calls, seconds, registry = tracked_pair()
    with track(calls, seconds, tier="soap"):
        pass
    found = read(registry)
    assert value(found, "zoho_calls_total", tier=OVERFLOW_VALUE, outcome="success") == 1
    assert value(found, "instrumentation_label_overflow_total", metric="zoho_calls_total", label="tier") == 1
    assert value(found, "instrumentation_label_overflow_total", metric="zoho_call_seconds", label="tier") == 1


def test_overflow_value_passes_promtool():
    calls, registry = calls_total()
    calls._apply("inc", 1, ("nope", "success"))
    assert promtool_check_metrics(generate_latest(registry).decode()) == ""


def test_the_runtime_series_take_the_prefix_the_instruments_name():
    registry = CollectorRegistry()
    billing = Counter("invoices_total", "Invoices.", labels=("kind",), allowed={"kind": ("a",)}, registry=registry,
                      runtime_prefix="billing_instrumentation_")
    plain = Counter("calls_total", "Calls.", labels=("kind",), allowed={"kind": ("a",)}, registry=registry)
    billing._apply("inc", 1, ("zz",))
    plain._apply("inc", 1, ("zz",))
    found = read(registry)
    assert value(found, "billing_instrumentation_label_overflow_total", metric="invoices_total", label="kind") == 1
    assert value(found, "instrumentation_label_overflow_total", metric="calls_total", label="kind") == 1  # RUNTIME_PREFIX
    assert runtime_series("billing_instrumentation_") == {
        "billing_instrumentation_label_overflow_total": ("metric", "label"),
        "billing_instrumentation_errors_total": ("metric",),
    }
    assert RUNTIME_PREFIX == "instrumentation_"


def test_a_metric_taking_a_runtime_series_name_wins_it_and_never_fails_the_import(caplog):
    registry = CollectorRegistry()
    first = Counter("calls_total", "Calls.", labels=("agent",), allowed={"agent": ("a",)}, registry=registry)
    with caplog.at_level(logging.ERROR, logger="sergas_observability.instrumentation"):
        # a gauge takes the base name of the counter instrumentation_errors_total: a clash in prometheus_client
        clash = Gauge("instrumentation_errors", "Mine.", registry=registry)
    assert ["metric 'instrumentation_errors' takes the name of the instrumentation's own series instrumentation_errors_total"
            in r.getMessage() for r in caplog.records] == [True]
    clash._apply("set", 7, ())
    first._apply("inc", -1, ("a",))  # dropped: counted unexposed, never raised
    first._apply("inc", 1, ("zz",))
    found = read(registry)
    assert value(found, "instrumentation_errors") == 7
    assert value(found, "instrumentation_label_overflow_total", metric="calls_total", label="agent") == 1  # the other one stays
    assert not any(name == "instrumentation_errors_total" for name, _ in found)


def test_a_metric_already_in_the_registry_keeps_the_name_too(caplog):
    import prometheus_client

    registry = CollectorRegistry()
    prometheus_client.Counter("instrumentation_label_overflow_total", "Hand-written.", ("x",), registry=registry).labels("1").inc()
    with caplog.at_level(logging.ERROR, logger="sergas_observability.instrumentation"):
        calls = Counter("calls_total", "Calls.", labels=("agent",), allowed={"agent": ("a",)}, registry=registry)
    assert any("a metric already in the registry takes the name" in r.getMessage() for r in caplog.records)
    calls._apply("inc", 1, ("zz",))
    assert value(read(registry), "instrumentation_label_overflow_total", x="1") == 1


def test_a_genuine_duplicate_still_raises_and_leaves_the_runtime_series_in_place():
    calls, registry = calls_total()
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("calls_total", "Again.", registry=registry)
    calls._apply("inc", 1, ("zz", "success"))
    assert value(read(registry), "instrumentation_label_overflow_total", metric="calls_total", label="agent") == 1


def test_decorator_passes_positional_and_keyword_arguments_through():
    calls, seconds, registry = tracked_pair()

    @track(calls, seconds, tier="mcp")
    def call(a, b=2, *rest, c=3, **more):
        return (a, b, rest, c, more)

    @track(calls, seconds, tier="rest")
    async def acall(a, b=2, *, c=3):
        return (a, b, c)

    # with and without keywords: the wrapper passes a call without any on as a plain positional one
    assert call(1) == (1, 2, (), 3, {})
    assert call(1, 5, 6, c=7, d=8) == (1, 5, (6,), 7, {"d": 8})
    assert call(a=0) == (0, 2, (), 3, {})
    assert asyncio.run(acall(1)) == (1, 2, 3) and asyncio.run(acall(1, c=4)) == (1, 2, 4)
    found = read(registry)
    assert value(found, "zoho_calls_total", tier="mcp", outcome="success") == 3
    assert value(found, "zoho_calls_total", tier="rest", outcome="success") == 2
    assert value(found, "zoho_call_seconds_count", tier="mcp") == 3


def test_tracks_counter_goes_to_the_value_store_only_for_plain_bound_children():
    import prometheus_client

    calls, seconds, registry = tracked_pair()
    clean = calls._bind(("mcp", "success"))
    store = clean._fast_add()
    assert store == clean._child._value.inc  # prometheus_client's own child: its store, past Counter.inc's checks
    store(1)
    assert value(read(registry), "zoho_calls_total", tier="mcp", outcome="success") == 1
    # a child that overflows must also count the overflow: the guarded method
    stray = calls._bind(("soap", "success"))
    assert stray._fast_add() == stray.inc

    class Audited(prometheus_client.Counter):  # a subclass may do more in inc(): left to it
        pass

    audited = Counter("audited_total", "x", labels=("tier", "outcome"), registry=CollectorRegistry())
    audited._metric = Audited("audited_total", "x", ("tier", "outcome"), registry=None)
    audited._children.clear()
    child = audited._bind(("mcp", "success"))
    assert child._fast_add() == child._child.inc


def test_a_recording_error_on_the_decorators_fast_path_is_counted_not_raised():
    calls, seconds, registry = tracked_pair()
    tracker = track(calls, seconds, tier="mcp")

    def broken(_amount):
        raise RuntimeError("disk full")

    tracker._count_success = broken
    assert tracker(lambda: "ok")() == "ok"
    assert value(read(registry), "instrumentation_errors_total", metric="zoho_calls_total") == 1


def test_the_package_loads_its_other_modules_on_first_use():
    import subprocess
    import sys

    code = (
        "import sys, sergas_observability.instrumentation as rt\n"
        "mods = ('logging', 'contextvars', 'prometheus_client.multiprocess') + tuple("
        "'sergas_observability.instrumentation.' + m for m in ('asgi', 'batch', 'exposition', 'tracking'))\n"
        "print(sorted(m for m in mods if m in sys.modules))\n"
        "print(rt.track.__module__, rt.MetricsMiddleware.__module__, rt.batch_run.__module__, rt.metrics_app.__module__)\n"
        "print(all(hasattr(rt, name) for name in rt.__all__), set(rt.__all__) <= set(dir(rt)))\n"
        "try:\n    rt.no_such_name\nexcept AttributeError as exc:\n    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.splitlines() == [
        "[]",
        "sergas_observability.instrumentation.tracking sergas_observability.instrumentation.asgi "
        "sergas_observability.instrumentation.batch sergas_observability.instrumentation.exposition",
        "True True",
        "module 'sergas_observability.instrumentation' has no attribute 'no_such_name'",
    ]

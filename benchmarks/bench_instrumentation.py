"""Cost of the generated instruments against hand-written prometheus_client code.

    .venv/bin/python benchmarks/bench_instrumentation.py

Every figure is a ratio measured in the same run (best of several repeats),
so it holds on any machine:

1. a typed counter increment, `inc(agent=..., outcome=...)`, against
   hand-written code that caches label children in a dict (the fair
   equivalent: label values vary at run time) and against `labels(...).inc()`
   on every call; a bound child (`labels()` once) against a raw bound child;
2. the `track` decorator (counter by outcome + histogram) against the same
   bookkeeping written by hand with cached children (goal: at most 1.05x), and
   with `labels()` per call;
3. import time of `sergas_metrics` over `import prometheus_client`, in fresh
   interpreters (goal: at most +15 ms).

The two goals are printed in the last column, with whether this run met them.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import timeit

import prometheus_client
from prometheus_client import CollectorRegistry

import sergas_metrics as generated

import readme_block  # benchmarks/, beside this file

NUMBER = 50_000
REPEAT = 7
IMPORT_RUNS = 15

# The goals (issue #13): @track against the hand-written cached-children code,
# and the import over prometheus_client's.
TRACK_GOAL = 1.05
IMPORT_GOAL_MS = 15.0


def best(stmt) -> float:
    """Seconds per call, best of REPEAT."""
    return min(timeit.repeat(stmt, number=NUMBER, repeat=REPEAT)) / NUMBER


def hand_written():
    registry = CollectorRegistry()
    counter = prometheus_client.Counter("bench_agent_executions_total", "x", ("agent", "outcome"), registry=registry)
    histogram = prometheus_client.Histogram(
        "bench_agent_execution_duration_seconds", "x", ("agent",), registry=registry,
        buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
    )
    return counter, histogram


def counter_figures() -> list[tuple[str, float, float]]:
    counter, _ = hand_written()
    cache: dict[tuple[str, str], object] = {}

    def cached_inc(agent: str, outcome: str) -> None:
        key = (agent, outcome)
        child = cache.get(key)
        if child is None:
            child = cache[key] = counter.labels(agent, outcome)
        child.inc()  # type: ignore[attr-defined]

    typed = generated.sergas_agent_executions_total
    raw_child = counter.labels("orchestrator", "success")
    typed_child = typed.labels(agent="orchestrator", outcome="success")

    t_typed = best(lambda: typed.inc(agent="orchestrator", outcome="success"))
    t_cached = best(lambda: cached_inc("orchestrator", "success"))
    t_labels = best(lambda: counter.labels("orchestrator", "success").inc())
    t_typed_child = best(typed_child.inc)
    t_raw_child = best(raw_child.inc)
    return [
        ("typed inc(...) vs dict-cached children", t_typed, t_cached),
        ("typed inc(...) vs labels(...).inc() per call", t_typed, t_labels),
        ("typed bound child vs raw bound child", t_typed_child, t_raw_child),
    ]


def decorator_figures() -> list[tuple[str, float, float]]:
    counter, histogram = hand_written()
    success = counter.labels("orchestrator", "success")
    error = counter.labels("orchestrator", "error")
    duration = histogram.labels("orchestrator")

    @generated.track(generated.sergas_agent_executions_total, generated.sergas_agent_execution_duration_seconds, agent="orchestrator")
    def tracked() -> int:
        return 1

    def by_hand_cached() -> int:
        start = time.perf_counter()
        try:
            result = 1
        except BaseException:
            error.inc()
            duration.observe(time.perf_counter() - start)
            raise
        success.inc()
        duration.observe(time.perf_counter() - start)
        return result

    def by_hand_labels() -> int:
        start = time.perf_counter()
        try:
            result = 1
        except BaseException:
            counter.labels("orchestrator", "error").inc()
            histogram.labels("orchestrator").observe(time.perf_counter() - start)
            raise
        counter.labels("orchestrator", "success").inc()
        histogram.labels("orchestrator").observe(time.perf_counter() - start)
        return result

    t_tracked = best(tracked)
    return [
        ("@track vs hand-written, cached children", t_tracked, best(by_hand_cached)),
        ("@track vs hand-written, labels() per call", t_tracked, best(by_hand_labels)),
    ]


def import_ms(module: str) -> list[float]:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) * 1000]


def import_figures() -> tuple[float, float]:
    base: list[float] = []
    ours: list[float] = []
    for _ in range(IMPORT_RUNS):  # interleaved, so drift in machine load hits both alike
        base += import_ms("prometheus_client")
        ours += import_ms("sergas_metrics")
    return statistics.median(base), statistics.median(ours)


def verdict(met: bool, goal: str) -> str:
    return f"goal {goal}: {'met' if met else 'MISSED'}"


def main() -> None:
    lines = ["| measurement | ours | baseline | ratio |", "|---|---|---|---|"]
    print(f"{'measurement':<48} {'ours':>9} {'baseline':>9} {'ratio':>8}")
    decorator = decorator_figures()
    for label, ours, baseline in counter_figures() + decorator:
        goal = verdict(ours / baseline <= TRACK_GOAL, f"<= {TRACK_GOAL:.2f}x") if label == decorator[0][0] else ""
        print(f"{label:<48} {ours * 1e9:>7.0f}ns {baseline * 1e9:>7.0f}ns {ours / baseline:>7.2f}x  {goal}".rstrip())
        lines.append(f"| {label} | {ours * 1e9:.0f} ns | {baseline * 1e9:.0f} ns | {ours / baseline:.2f}x {f'({goal})' if goal else ''} |")
    base, ours = import_figures()
    goal = verdict(ours - base <= IMPORT_GOAL_MS, f"<= +{IMPORT_GOAL_MS:.0f} ms")
    print(f"{'import sergas_metrics vs prometheus_client':<48} {ours:>7.1f}ms {base:>7.1f}ms {'+%.1f ms' % (ours - base):>8}  {goal}")
    lines.append(f"| import sergas_metrics vs prometheus_client | {ours:.1f} ms | {base:.1f} ms | +{ours - base:.1f} ms ({goal}) |")
    if "--update-readme" in sys.argv[1:]:
        readme_block.replace("bench_instrumentation", lines, "benchmarks/bench_instrumentation.py --update-readme")


if __name__ == "__main__":
    main()

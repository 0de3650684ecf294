"""How `sergas-obs lint` scales: the Sergas stack, then 10x and 100x its alerts and dashboards.

    .venv/bin/python benchmarks/bench_lint.py

Each figure is a ratio measured in the same run (best of several repeats):

1. the Python passes alone (parsing, cross-reference, hygiene, latency, the
   Grafana compiler for the dashboard checks) against the whole lint with its
   single promtool run;
2. growth: the Sergas alerts copied to ~1,000 (each copy renamed) and its
   dashboards copied to ~100, against the Sergas stack itself. Linear growth
   gives ratios close to the size ratios (x10, x100); the promtool run is one
   process whatever the size, so the whole lint grows less than linearly
   until the rule file dominates.

Run from the repository root (it loads definitions/).

Three runs on the 2-core development VM (load 2-3 from parallel test runs):
the Python passes are 11-28 % of the whole lint on the Sergas stack (the
rest is the one promtool process); at 1,001 alerts and 100 dashboards (size
x37.8) the Python passes grow x28 to x52 and the whole lint x13 to x29,
about 1-1.5 s: linear in the number of expressions, no quadratic step.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sergas_observability.lint import lint_stack  # noqa: E402
from sergas_observability.loader import load_stack  # noqa: E402
from sergas_observability.model import Stack  # noqa: E402

REPEAT = 5


def best(fn, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def scaled(stack: Stack, alert_copies: int, dashboard_copies: int) -> Stack:
    """Renamed copies of every alert and dashboard (same metrics, rules, routing)."""
    alerts = tuple(
        alert.model_copy(update={"name": f"{alert.name}Copy{i}" if i else alert.name})
        for i in range(alert_copies)
        for alert in stack.alerts
    )
    dashboards = tuple(
        dashboard.model_copy(update={"uid": f"{dashboard.uid[:34]}-c{i}", "file": f"c{i}_{dashboard.file_name}"} if i else {})
        for i in range(dashboard_copies)
        for dashboard in stack.dashboards
    )
    # model_copy skips construction; the lint's own validation pass must find the
    # copies clean, else it would skip the analysis and measure nothing.
    grown = stack.model_copy(update={"alerts": alerts, "dashboards": dashboards})
    errors = lint_stack(grown, promtool=False).errors
    assert not errors, errors[0].one_line()
    return grown


def main() -> None:
    base = load_stack("definitions")
    queries = sum(len(p.queries) for d in base.dashboards for p in d.panels)
    print(f"Sergas stack: {len(base.alerts)} alerts, {len(base.recording_rules)} recording rules, "
          f"{len(base.dashboards)} dashboards ({queries} queries)")

    full = best(lambda: lint_stack(base))
    python_only = best(lambda: lint_stack(base, promtool=False))
    print(f"  whole lint (with promtool): {full * 1000:7.1f} ms")
    print(f"  Python passes alone:        {python_only * 1000:7.1f} ms  ({python_only / full:.0%} of the whole)")

    print("growth against the Sergas stack (size ratio = alerts + dashboard queries):")
    size = len(base.alerts) + queries
    for alert_copies, dashboard_copies in ((10, 2), (91, 20)):
        big = scaled(base, alert_copies, dashboard_copies)
        big_size = len(big.alerts) + queries * dashboard_copies
        repeat = 2 if alert_copies > 10 else REPEAT
        big_full = best(lambda: lint_stack(big), repeat)
        big_python = best(lambda: lint_stack(big, promtool=False), repeat)
        print(
            f"  {len(big.alerts):4d} alerts, {len(big.dashboards):3d} dashboards (size x{big_size / size:5.1f}): "
            f"whole lint x{big_full / full:5.1f} ({big_full:.2f} s), Python passes x{big_python / python_only:5.1f}"
        )


if __name__ == "__main__":
    main()
